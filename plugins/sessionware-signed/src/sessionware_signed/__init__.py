"""sessionware-signed: another serializer's output in a signed, timestamped envelope.

This module only re-exports the serializer and the plugin hook that
registers it; the implementation lives in ``_serializer``.
"""

from ._hooks import register_serializers
from ._serializer import SignedSerializer

__version__ = "0.1.0"

__all__ = ["SignedSerializer", "__version__", "register_serializers"]
