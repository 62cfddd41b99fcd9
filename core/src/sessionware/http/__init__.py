"""The HTTP side of sessionware: messages, cookies, and the adapters that serve sessions.

- ``CookieSpec`` (``_cookies``): one cookie's name and attributes,
  validated once; writes its ``Set-Cookie`` and deletion headers and checks
  its size. ``SessionConfig.cookie_spec`` is the session cookie's.
- ``Request``, ``Response`` (``_messages``): what the middleware
  protocol passes around.
- ``wsgi``, ``asgi``: the session middleware for any WSGI or ASGI app;
  ``middleware``: the middleware protocol (chains, order checks). Import
  them as submodules; this package does not load them.
- ``_rules``: the session response rules every adapter shares.
"""

from ._cookies import CookieSpec
from ._messages import Request, Response

__all__ = ["CookieSpec", "Request", "Response"]
