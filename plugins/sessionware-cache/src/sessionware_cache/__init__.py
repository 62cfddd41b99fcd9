"""sessionware-cache: sessions in a bounded in-process cachetools cache (one process only).

This module only re-exports the engine and the plugin hook that registers it;
the engine lives in ``_engine``, the cachetools subclass that counts what it
drops in ``_cache``.
"""

from ._engine import CacheEngine
from ._hooks import register_engines

__version__ = "0.1.0"

__all__ = ["CacheEngine", "__version__", "register_engines"]
