"""sessionware-signed-cookies: the session lives in the cookie, signed or encrypted.

This module only re-exports the engine and the plugin hook that registers
it; the engine lives in ``_engine``, the cookie formats in ``_format``.
"""

from ._engine import DEFAULT_SALT, MAX_VALUE_LENGTH, SignedCookiesEngine
from ._hooks import register_engines

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SALT",
    "MAX_VALUE_LENGTH",
    "SignedCookiesEngine",
    "__version__",
    "register_engines",
]
