"""sessionware-json: the default serializer, compact UTF-8 JSON with str keys only.

This module only re-exports the serializer and the plugin hook that
registers it; the implementation lives in ``_serializer``.
"""

from ._hooks import register_serializers
from ._serializer import JSONSerializer

__version__ = "0.1.0"

__all__ = ["JSONSerializer", "__version__", "register_serializers"]
