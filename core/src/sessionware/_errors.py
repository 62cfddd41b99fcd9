"""Every exception sessionware raises, under one root.

The hierarchy, by what the caller can do about it::

    SessionwareError
    ├── ConfigurationError          fix the configuration and restart
    │   ├── EngineNotFound          install the engine's plugin or fix the name
    │   ├── SerializerNotFound      install the serializer's plugin or fix the name
    │   ├── MiddlewareOrderError    reorder the middleware list
    │   └── PluginLoadError         fix or uninstall the broken plugin
    ├── MiddlewareNotUsed           raised by a middleware factory to opt out
    ├── InvalidSessionKey           a key that cannot be a session key (never stored)
    ├── SuspiciousSession           tampered or forged session input
    ├── SerializationError          data the serializer cannot encode or decode
    ├── CookieTooLarge              the cookie would pass the browser's limit
    ├── CreateError                 save(must_create=True) found the key taken
    ├── UpdateError                 the session vanished before it could be updated
    │   ├── SessionInterrupted      ... while a request was using it (answered 400)
    │   └── VersionConflict         another request kept saving it first (answered 400)
    ├── LockTimeout                 session.lock() could not take the lock in time
    └── EngineUnavailable           the storage cannot be reached right now

Nothing else lives here.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "CookieTooLarge",
    "CreateError",
    "EngineNotFound",
    "EngineUnavailable",
    "InvalidSessionKey",
    "MiddlewareNotUsed",
    "MiddlewareOrderError",
    "PluginLoadError",
    "SerializationError",
    "SerializerNotFound",
    "SessionInterrupted",
    "SessionwareError",
    "SuspiciousSession",
    "UpdateError",
]


class SessionwareError(Exception):
    """Root of every exception raised by sessionware and its plugins."""


class ConfigurationError(SessionwareError, ValueError):
    """A setting or option is invalid; the message names it and the fix.

    ``field`` is the name of the offending setting or option, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class EngineNotFound(ConfigurationError, LookupError):
    """No installed plugin provides an engine of this name."""

    def __init__(self, message: str, *, name: str, installed: list[str]) -> None:
        super().__init__(message, field="engine")
        self.name = name
        self.installed = installed


class SerializerNotFound(ConfigurationError, LookupError):
    """No installed plugin provides a serializer of this name."""

    def __init__(self, message: str, *, name: str, installed: list[str]) -> None:
        super().__init__(message, field="serializer")
        self.name = name
        self.installed = installed


class PluginLoadError(ConfigurationError):
    """A plugin failed to load or registered something invalid.

    ``plugin`` is the entry-point name, ``distribution`` the installed
    distribution that provides it (``None`` for plugins registered in code).
    """

    def __init__(self, message: str, *, plugin: str, distribution: str | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.distribution = distribution


class MiddlewareOrderError(ConfigurationError):
    """A middleware chain lists a middleware before one it depends on."""

    def __init__(self, message: str, *, middleware: str, depends_on: str | None) -> None:
        super().__init__(message, field="middleware")
        self.middleware = middleware
        self.depends_on = depends_on


class MiddlewareNotUsed(SessionwareError):
    """Raised by a middleware factory to leave itself out of the chain."""


class InvalidSessionKey(SessionwareError, ValueError):
    """A string that cannot be a session key (wrong characters or length)."""


class SuspiciousSession(SessionwareError):
    """Session input failed an integrity check (bad signature, forged data)."""


class SerializationError(SessionwareError, ValueError):
    """The serializer could not encode or decode the session data."""


class CookieTooLarge(SessionwareError, ValueError):
    """The Set-Cookie header would exceed what browsers accept (4096 bytes)."""

    def __init__(self, message: str, *, size: int, limit: int = 4096) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class CreateError(SessionwareError):
    """``save(must_create=True)`` found that the session key already exists."""


class UpdateError(SessionwareError):
    """The session was deleted or expired before an update could be written."""


class SessionInterrupted(UpdateError):
    """The session was deleted while a request was still using it."""


class VersionConflict(UpdateError):
    """A versioned save found that another request saved the session since it was loaded.

    Raised by a versioned engine's ``save_versioned``; nothing was written. The
    session catches it, merges this request's changes onto the newer data and
    saves again (see the concurrency guide), so applications see it only when
    every attempt of one save lost the race. It is an ``UpdateError``: every
    place that answers one (the middleware's 400 "retry", Django's
    ``UpdateError``) answers it too.
    """


class LockTimeout(SessionwareError):
    """``session.lock()`` could not take the session's lock within its timeout."""


class EngineUnavailable(SessionwareError):
    """The engine's storage cannot be reached; ``address`` says where it was."""

    def __init__(self, message: str, *, address: str | None = None) -> None:
        super().__init__(message)
        self.address = address
