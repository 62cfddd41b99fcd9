"""The session's expiry: how a custom expiry is stored, checked and reported.

``SessionExpiry`` is the part of ``SessionStore`` that
answers "when does this session end" (``set_expiry``, ``get_expiry_age``,
``get_expiry_date``, ``get_expire_at_browser_close``), Django's API, and so
what the cookie of a save says (``saved_age``, ``cookie_size``). A custom
expiry travels with the data under ``EXPIRY_KEY`` (hidden from the
mapping); ``parse_expiry`` judges what a load finds there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from ._config import SessionConfig

__all__ = ["EXPIRY_KEY", "MAX_EXPIRY_AGE", "SessionExpiry", "parse_expiry"]

#: Reserved data key under which a custom expiry (``set_expiry``) is stored.
EXPIRY_KEY = "_session_expiry"
#: The longest stored expiry age accepted at load (100 years): beyond it a
#: date computed from it overflows, so such an entry is judged broken.
MAX_EXPIRY_AGE = 100 * 365 * 86400


def _utcnow() -> datetime:
    return datetime.now(UTC)


def parse_expiry(value: object) -> int | datetime | None:
    """A stored expiry as the session keeps it, or ``None`` when it is unusable.

    Only what ``SessionExpiry.set_expiry`` writes is accepted: an age in
    whole seconds within bounds, or an ISO date with a UTC offset. Anything
    else (a naive date, an age too large for a date, a float, a bool) would
    make the next save or cookie fail, so the entry is judged broken instead.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= MAX_EXPIRY_AGE else None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.utcoffset() is None:
            return None
        try:
            moment.astimezone(UTC) + timedelta(seconds=0)
        except OverflowError:
            return None
        return moment
    return None


def stored_expiry(expiry: int | datetime) -> int | str:
    """How ``expiry`` is written under ``EXPIRY_KEY`` (what ``parse_expiry`` reads)."""
    return expiry.isoformat() if isinstance(expiry, datetime) else expiry


class SessionExpiry:
    """Django's expiry API over ``_expiry`` (``None``: the configured policy).

    A mixin of ``SessionData``, which provides
    the state it reads and the loading it waits for.
    """

    config: ClassVar[SessionConfig]
    accessed: bool
    modified: bool
    _loaded: bool
    _expiry: int | datetime | None
    _age: int | None = None  # the expiry age of the last encode (set by the save)

    def _ensure_loaded(self) -> None:
        raise NotImplementedError  # provided by the persistence half

    def get_session_cookie_age(self) -> int:
        """The configured lifetime in seconds (``cookie_age``)."""
        return self.config.cookie_age

    def set_expiry(self, value: int | float | datetime | timedelta | None) -> None:
        """Set when this session expires.

        An int is seconds of inactivity; ``0`` expires it when the browser
        closes; a ``datetime`` or ``timedelta`` fixes the moment; ``None``
        returns to the configured policy.
        """
        if not self._loaded:
            self._ensure_loaded()
        if value is None:
            self._expiry = None
        elif isinstance(value, timedelta):
            self._expiry = _utcnow() + value
        elif isinstance(value, datetime):
            self._expiry = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if not 0 <= value <= MAX_EXPIRY_AGE:
                raise ValueError(
                    f"set_expiry() takes an age from 0 to {MAX_EXPIRY_AGE} seconds, got {value}"
                )
            self._expiry = int(value)
        else:
            raise TypeError(
                "set_expiry() takes an int (seconds), a datetime, a timedelta or None, "
                f"got {type(value).__name__}"
            )
        self.accessed = self.modified = True

    def get_expiry_age(self) -> int:
        """Seconds from now until this session expires."""
        if not self._loaded:
            self._ensure_loaded()
        expiry = self._expiry
        if not expiry:
            return self.config.cookie_age
        if isinstance(expiry, int):
            return expiry
        return max(0, int((expiry - _utcnow()).total_seconds()))

    def get_expiry_date(self) -> datetime:
        """The moment (UTC) this session expires."""
        if not self._loaded:
            self._ensure_loaded()
        expiry = self._expiry
        if isinstance(expiry, datetime):
            return expiry
        return _utcnow() + timedelta(seconds=expiry or self.config.cookie_age)

    def get_expire_at_browser_close(self) -> bool:
        """True when the cookie should end with the browser session."""
        if not self._loaded:
            self._ensure_loaded()
        if self._expiry is None:
            return self.config.expire_at_browser_close
        return self._expiry == 0

    # -- the cookie a save produces ------------------------------------------------

    def saved_age(self) -> int | None:
        """The cookie's Max-Age for the data just saved; ``None`` for a browser-session cookie.

        Uses the age computed when the data was encoded, so the cookie and the
        stored expiry agree even when the save straddled a second.
        """
        if self.get_expire_at_browser_close():
            return None
        age = self._age
        return self.get_expiry_age() if age is None else age

    def cookie_size(self, value: str) -> int:
        """Bytes of the ``Set-Cookie`` value the middleware would send for ``value``.

        Name, value and every attribute, as browsers count them against their
        4096-byte limit (RFC 6265, section 6.1): ``config.cookie_spec`` measures.
        """
        return self.config.cookie_spec.size(value, self.saved_age())

    def _check_cookie_size(self, value: str) -> None:
        """Refuse a cookie engine's value that browsers would silently drop."""
        self.config.cookie_spec.check_size(value, self.saved_age())
