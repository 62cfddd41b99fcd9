"""sessionware-redis: sessions in Redis (single node, Sentinel or Cluster), sync and asyncio.

This module only re-exports the engine and the plugin hook that registers
it; the engine lives in ``_engine``, option validation in ``_options`` (URLs
in ``_urls``, single values in ``_checks``), redis-py clients in
``_clients``, error mapping in ``_errors``, versioned saves and session
locks in ``_versioned``.
"""

from ._engine import RedisEngine
from ._hooks import register_engines
from ._options import DEFAULT_PREFIX

__version__ = "0.1.0"

__all__ = ["DEFAULT_PREFIX", "RedisEngine", "__version__", "register_engines"]
