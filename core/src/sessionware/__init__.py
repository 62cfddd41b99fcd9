"""sessionware: Django-grade sessions for any Python web app, with pluggable engines.

This module only re-exports; see the user guide for the tour.
"""

from ._capabilities import Capabilities, Reissue, Version
from ._config import SessionConfig
from ._engine import Engine, EngineBase
from ._errors import (
    ConfigurationError,
    CookieTooLarge,
    CreateError,
    EngineNotFound,
    EngineUnavailable,
    InvalidSessionKey,
    LockTimeout,
    MiddlewareNotUsed,
    MiddlewareOrderError,
    PluginLoadError,
    SerializationError,
    SerializerNotFound,
    SessionInterrupted,
    SessionwareError,
    SuspiciousSession,
    UpdateError,
    VersionConflict,
)
from ._fork import register_after_fork
from ._hookspecs import hookimpl
from ._keys import is_valid_key, new_session_key
from ._options import OptionChecker
from ._per_loop import PerLoop
from ._plugins import (
    PluginInfo,
    PluginWarning,
    get_engine,
    get_serializer,
    list_plugins,
)
from ._serializer import (
    Serializer,
    Unencodable,
    find_unencodable,
    input_bytes,
    is_plain_data,
    storage_advice,
)
from ._session import (
    BlockingCallWarning,
    SessionStore,
    build_engine,
    build_serializer,
    session_store,
)
from .http import CookieSpec, Request, Response

__version__ = "0.1.0"

__all__ = [
    "BlockingCallWarning",
    "Capabilities",
    "ConfigurationError",
    "CookieSpec",
    "CookieTooLarge",
    "CreateError",
    "Engine",
    "EngineBase",
    "EngineNotFound",
    "EngineUnavailable",
    "InvalidSessionKey",
    "LockTimeout",
    "MiddlewareNotUsed",
    "MiddlewareOrderError",
    "OptionChecker",
    "PerLoop",
    "PluginInfo",
    "PluginLoadError",
    "PluginWarning",
    "Reissue",
    "Request",
    "Response",
    "SerializationError",
    "Serializer",
    "SerializerNotFound",
    "SessionConfig",
    "SessionInterrupted",
    "SessionStore",
    "SessionwareError",
    "SuspiciousSession",
    "Unencodable",
    "UpdateError",
    "Version",
    "VersionConflict",
    "__version__",
    "build_engine",
    "build_serializer",
    "find_unencodable",
    "get_engine",
    "get_serializer",
    "hookimpl",
    "input_bytes",
    "is_plain_data",
    "is_valid_key",
    "list_plugins",
    "new_session_key",
    "register_after_fork",
    "session_store",
    "storage_advice",
]
