"""sessionware-msgpack: a binary serializer, msgpack with str keys and bounded unpacking.

This module only re-exports the serializer and the plugin hook that
registers it; the implementation lives in ``_serializer``.
"""

from ._hooks import register_serializers
from ._serializer import MsgpackSerializer

__version__ = "0.1.0"

__all__ = ["MsgpackSerializer", "__version__", "register_serializers"]
