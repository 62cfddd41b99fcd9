"""``CookieSpec``, the one place cookies are written (reading is ``_cookie_parsing``).

Writing is ``CookieSpec``'s job: it validates a cookie's name and
attributes once, precomputes the attribute tail and the deletion header, and
measures a cookie against the browsers' 4096-byte limit. ``SessionConfig``
builds the session cookie's spec when it is built (``config.cookie_spec``);
the response rules, the size check of cookie engines, the Django integration
and ``Response.set_cookie`` all write through a spec. (``Vary: Cookie`` is
``_vary``'s.)
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from .._errors import ConfigurationError, CookieTooLarge
from ._cookie_parsing import COOKIE_VALUE

if TYPE_CHECKING:
    from .._config import SessionConfig

__all__ = [
    "COOKIE_LIMIT",
    "CookieAttributes",
    "CookieSpec",
    "canonical_samesite",
    "delete_cookie_header",
    "format_set_cookie",
    "http_date",
]

#: Browsers drop a cookie whose name, value and attributes pass this many bytes
#: (RFC 6265, section 6.1).
COOKIE_LIMIT = 4096

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
_FORBIDDEN_IN_DOMAIN = ";, \t\r\n"
_FORBIDDEN_IN_PATH = ";\r\n"
_EPOCH_DATE = "Thu, 01 Jan 1970 00:00:00 GMT"
# "; Expires=" + a 29-character IMF-fixdate + "; Max-Age=" (then the digits of the age).
_EXPIRY_SIZE = len("; Expires=") + 29 + len("; Max-Age=")
_SESSION_ADVICE = (
    "Store less in the session, or move to a server-side engine (engine='db', 'file' or "
    "'redis') whose cookie holds only the key"
)


# -- dates -----------------------------------------------------------------------


_last_date: tuple[int, str] = (-1, "")


def http_date(timestamp: float) -> str:
    """An RFC 7231 IMF-fixdate, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``.

    Every saved session's cookie carries one, and requests in the same second
    share it: the last one formatted is kept (formatting costs ~3 µs).
    """
    global _last_date
    second = int(timestamp)
    cached = _last_date
    if cached[0] == second:
        return cached[1]
    text = formatdate(second, usegmt=True)
    _last_date = (second, text)
    return text


def _expiry(max_age: int | None, expires: float | datetime | str | None) -> str:
    """The ``; Expires=...; Max-Age=...`` part of a ``Set-Cookie`` value (either may be absent)."""
    text = ""
    if expires is not None:
        if isinstance(expires, datetime):
            moment = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            expires = http_date(moment.timestamp())
        elif not isinstance(expires, str):
            expires = http_date(expires)
        text = f"; Expires={expires}"
    if max_age is not None:
        text += f"; Max-Age={int(max_age)}"
    return text


# -- the spec --------------------------------------------------------------------


def canonical_samesite(value: str) -> str | None:
    """``"Lax"``, ``"Strict"`` or ``"None"`` for any case of them (``"lax"``...), else ``None``."""
    return _SAMESITE.get(value.lower())


class _InvalidAttribute(ValueError):
    """A cookie name or attribute the spec refuses; ``attribute`` says which."""

    def __init__(self, attribute: str, message: str) -> None:
        super().__init__(message)
        self.attribute = attribute


def _validate(
    name: str,
    path: str | None,
    domain: str | None,
    secure: bool,
    samesite: str | None,
    partitioned: bool,
    *,
    strict: bool = False,
    prefix: str = "",
) -> str | None:
    """Check a cookie's name and attributes; return SameSite's canonical spelling.

    ``strict`` adds what a session cookie must meet, or browsers drop or
    misplace it: a path from the root, a non-empty domain, and ``Secure`` for
    ``SameSite=None`` and ``Partitioned``. Messages name each attribute with
    ``prefix`` (``"cookie_"``: the ``SessionConfig`` fields).
    """
    if not _TOKEN.fullmatch(name):
        reason = "is not a valid cookie name (letters, digits and !#$%&'*+-.^_`|~ only)"
        raise _InvalidAttribute("name", f"{prefix}name {name!r} {reason}")
    if domain is not None and (
        any(c in domain for c in _FORBIDDEN_IN_DOMAIN) or (strict and not domain)
    ):
        reason = (
            "is not a valid cookie domain (a host name without ';', ',', spaces or line breaks)"
        )
        raise _InvalidAttribute("domain", f"{prefix}domain {domain!r} {reason}")
    if path is not None and (
        any(c in path for c in _FORBIDDEN_IN_PATH) or (strict and not path.startswith("/"))
    ):
        reason = "must start with '/' and " if strict else "must "
        raise _InvalidAttribute(
            "path", f"{prefix}path {path!r} {reason}contain no ';' or line break"
        )
    canonical = None
    if samesite is not None:
        canonical = canonical_samesite(samesite)
        if canonical is None:
            raise _InvalidAttribute(
                "samesite",
                f"{prefix}samesite must be 'Lax', 'Strict' or 'None' (any case), or None to "
                f"leave the attribute out; got {samesite!r}",
            )
    if strict and not secure and canonical == "None":
        raise _InvalidAttribute(
            "samesite",
            f"{prefix}samesite='None' requires {prefix}secure=True: browsers drop "
            "SameSite=None cookies without Secure",
        )
    if strict and not secure and partitioned:
        raise _InvalidAttribute(
            "partitioned",
            f"{prefix}partitioned=True requires {prefix}secure=True: browsers drop "
            "Partitioned cookies without Secure",
        )
    return canonical


def _attribute_tail(spec: CookieSpec, *, secure: bool, httponly: bool) -> str:
    """``"; Path=/; HttpOnly; ..."``: the attributes of a validated spec (expiry aside)."""
    parts = []
    if spec.domain:
        parts.append(f"Domain={spec.domain}")
    if spec.path:
        parts.append(f"Path={spec.path}")
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if spec.samesite is not None:
        parts.append(f"SameSite={spec.samesite}")
    if spec.partitioned:
        parts.append("Partitioned")
    if spec.lowercase_attributes:  # the names only: "SameSite=Lax" -> "samesite=Lax"
        parts = [n.lower() + sep + v for n, sep, v in (p.partition("=") for p in parts)]
    return "".join("; " + p for p in parts)


@dataclass(frozen=True, slots=True)
class CookieSpec:
    """One cookie's name and attributes, validated once; writes its ``Set-Cookie`` values.

    Building a spec checks the name (an RFC 7230 token), the domain and path
    (nothing that could end the attribute or the header), and SameSite, whose
    spelling is made canonical (``"lax"`` -> ``"Lax"``); a problem raises
    ``ValueError`` naming the attribute and what is allowed. The
    attribute tail and the deletion header are computed then, so writing a
    cookie costs one f-string.

    The session cookie's spec is built with the configuration, which applies
    the stricter rules a session cookie must meet (see ``from_config``):
    use ``config.cookie_spec``. ``lowercase_attributes`` writes the attribute
    names in lower case (``path=/; httponly; samesite=Lax``), as Starlette
    does; browsers read them in any case.
    """

    #: The cookie's name.
    name: str
    #: ``Path`` attribute; ``None`` or ``""`` leaves it out.
    path: str | None = "/"
    #: ``Domain`` attribute; ``None`` makes a host-only cookie.
    domain: str | None = None
    #: ``Secure`` attribute: sent over HTTPS only.
    secure: bool = False
    #: ``HttpOnly`` attribute: hidden from JavaScript.
    httponly: bool = False
    #: ``SameSite``: ``"Lax"``, ``"Strict"`` or ``"None"`` (made canonical); ``None`` omits it.
    samesite: str | None = None
    #: ``Partitioned`` attribute (CHIPS).
    partitioned: bool = False
    #: Write the attribute names in lower case, as Starlette does.
    lowercase_attributes: bool = False
    #: ``"; Path=/; HttpOnly; SameSite=Lax"``: every attribute but the expiry.
    tail: str = field(init=False, repr=False, compare=False)
    #: The ``Set-Cookie`` value that deletes this cookie: an empty value,
    #: ``Max-Age=0``, an Expires in 1970, and the same Path, Domain, SameSite
    #: and Partitioned (``Secure`` too, and always with ``SameSite=None``), or
    #: the browser keeps the original.
    delete_header: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        samesite = _validate(
            self.name, self.path, self.domain, self.secure, self.samesite, self.partitioned
        )
        set_(self, "samesite", samesite)
        set_(self, "tail", _attribute_tail(self, secure=self.secure, httponly=self.httponly))
        # As Django deletes a cookie: no HttpOnly, and Secure whenever SameSite=None needs it.
        deletion = _attribute_tail(self, secure=self.secure or samesite == "None", httponly=False)
        set_(self, "delete_header", f'{self.name}=""{_expiry(0, _EPOCH_DATE)}{deletion}')

    @classmethod
    def from_config(cls, config: SessionConfig) -> CookieSpec:
        """The session cookie's spec for ``config``, under the rules a session cookie must meet.

        Besides the checks every spec makes, the path must start with ``/``,
        the domain must not be empty, and ``SameSite=None`` and
        ``Partitioned`` need ``cookie_secure`` (browsers drop such cookies
        without it). A problem raises ``ConfigurationError`` naming the field.
        ``SessionConfig`` calls this when it is built; use ``config.cookie_spec``
        rather than building another.
        """
        name, path, domain = config.cookie_name, config.cookie_path, config.cookie_domain
        secure, samesite = config.cookie_secure, config.cookie_samesite
        partitioned = config.cookie_partitioned
        try:
            _validate(
                name, path, domain, secure, samesite, partitioned, strict=True, prefix="cookie_"
            )
        except _InvalidAttribute as exc:
            raise ConfigurationError(str(exc), field=f"cookie_{exc.attribute}") from None
        return cls(
            name,
            path=path,
            domain=domain,
            secure=secure,
            httponly=config.cookie_httponly,
            samesite=samesite,
            partitioned=partitioned,
        )

    def replace(self, **changes: Any) -> CookieSpec:
        """A copy with ``changes`` applied (and validated), e.g. ``lowercase_attributes=True``."""
        return dataclasses.replace(self, **changes)

    def set_cookie(
        self,
        value: str,
        *,
        max_age: int | None = None,
        expires: float | datetime | str | None = None,
    ) -> str:
        """The ``Set-Cookie`` value that sets this cookie to ``value``.

        ``expires`` is a POSIX timestamp, an aware ``datetime`` or a ready
        IMF-fixdate string; without ``max_age`` and ``expires`` the cookie ends
        with the browser session. Raises ``ValueError`` for a value that
        is not RFC 6265 cookie-octets (encode it first, e.g. base64url).
        """
        if not COOKIE_VALUE.fullmatch(value):
            raise ValueError(
                f"cookie {self.name!r} has a value with a space, quote, comma, semicolon, "
                "backslash or non-ASCII character; encode it (for example base64url) before "
                "setting it"
            )
        return f"{self.name}={value}{_expiry(max_age, expires)}{self.tail}"

    def session_header(self, value: str, age: int | None) -> str:
        """The ``Set-Cookie`` value for a session cookie carrying ``value`` for ``age`` seconds.

        ``age`` ``None`` makes a browser-session cookie (no Expires, no
        Max-Age). ``value`` is what the engine returned from ``save`` (a key,
        or a signed payload), cookie-safe by the engine contract, so it is not
        checked again: this is the per-response hot path.
        """
        if age is None:
            return f"{self.name}={value}{self.tail}"
        return (
            f"{self.name}={value}; Expires={http_date(time.time() + age)}; Max-Age={age}{self.tail}"
        )

    def size(self, value: str, age: int | None) -> int:
        """Bytes of ``session_header`` for ``value`` and ``age``, as browsers count them.

        Name, value and every attribute count against the 4096-byte limit
        (RFC 6265, section 6.1); this measures without formatting a date.
        """
        size = len(self.name) + 1 + len(value.encode()) + len(self.tail)
        if age is not None:
            size += _EXPIRY_SIZE + len(str(age))
        return size

    def check_size(self, value: str, age: int | None, *, advice: str = _SESSION_ADVICE) -> None:
        """Raise ``CookieTooLarge`` when the cookie would pass 4096 bytes.

        Browsers drop such a cookie silently, so the session would be lost
        without a word. ``advice`` ends the message: what the user can do.
        """
        size = self.size(value, age)
        if size > COOKIE_LIMIT:
            raise CookieTooLarge(
                f"the session cookie would be {size} bytes with its attributes; browsers "
                f"drop cookies over {COOKIE_LIMIT} bytes. {advice}",
                size=size,
                limit=COOKIE_LIMIT,
            )


# -- one-off cookies ---------------------------------------------------------------


class CookieAttributes(TypedDict, total=False):
    """The attributes ``format_set_cookie`` and ``Response.set_cookie`` take by keyword.

    Each is the ``CookieSpec`` field of the same name, with its default:
    ``path="/"``, no domain, not ``secure`` or ``httponly``, no SameSite, not
    ``partitioned``.
    """

    path: str | None
    domain: str | None
    secure: bool
    httponly: bool
    samesite: str | None
    partitioned: bool


def format_set_cookie(
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    expires: float | datetime | str | None = None,
    **attributes: Unpack[CookieAttributes],
) -> str:
    """A complete ``Set-Cookie`` header value, written by a one-off ``CookieSpec``.

    ``expires`` is a POSIX timestamp, an aware ``datetime`` or a ready
    IMF-fixdate string. Raises ``ValueError`` for a name that is not a token,
    an attribute that could break the header, or a value that is not RFC 6265
    cookie-octets.
    """
    return CookieSpec(name, **attributes).set_cookie(value, max_age=max_age, expires=expires)


def delete_cookie_header(name: str, **attributes: Unpack[CookieAttributes]) -> str:
    """A ``Set-Cookie`` value that deletes ``name`` (``Max-Age=0``, Expires in 1970).

    Pass the same path, domain, SameSite and Secure the cookie was set with,
    or the browser keeps the original (``httponly`` makes no difference).
    """
    return CookieSpec(name, **attributes).delete_header
