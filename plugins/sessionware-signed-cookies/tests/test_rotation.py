"""Key rotation: sign with the current secret, accept fallbacks, reissue what they opened."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from sessionware_signed_cookies import SignedCookiesEngine

import sessionware
from sessionware.http.wsgi import WSGISessionMiddleware, get_session
from sessionware.testing import ReferenceSerializer

from ._keys import OLD_SECRET, SECRET
from .wsgi_client import call

StoreFactory = Callable[..., type[sessionware.SessionStore]]
OLDEST_SECRET = "oldest-secret-0123456789abcdefghijklmnopqrstuvwxyz"


def saved(Store: type[sessionware.SessionStore], **data: object) -> str:
    session = Store()
    session.update(data)
    session.save()
    assert session.session_key is not None
    return session.session_key


def test_cookie_under_a_fallback_key_is_accepted_and_reissued(make_store: StoreFactory) -> None:
    old_value = saved(make_store(secret_key=OLD_SECRET), user_id=7)
    Rotated = make_store(secret_key=SECRET, fallback_keys=[OLD_SECRET])
    loaded = Rotated.engine.load(old_value)
    assert isinstance(loaded, sessionware.Reissue)

    session = Rotated(old_value)
    assert session["user_id"] == 7
    assert session.modified is True  # the response will carry a cookie under SECRET
    session.save()
    new_value = session.session_key
    assert new_value is not None and new_value != old_value
    CurrentOnly = make_store(secret_key=SECRET)
    assert CurrentOnly(new_value)["user_id"] == 7
    assert not isinstance(CurrentOnly.engine.load(new_value), sessionware.Reissue)


def test_cookie_under_the_current_key_is_not_reissued(make_store: StoreFactory) -> None:
    Store = make_store(secret_key=SECRET, fallback_keys=[OLD_SECRET])
    session = Store(saved(Store, user_id=7))
    assert session["user_id"] == 7
    assert session.modified is False


def test_any_fallback_in_the_list_is_accepted(make_store: StoreFactory) -> None:
    oldest = saved(make_store(secret_key=OLDEST_SECRET), user_id=1)
    Store = make_store(secret_key=SECRET, fallback_keys=[OLD_SECRET, OLDEST_SECRET])
    session = Store(oldest)
    assert session["user_id"] == 1 and session.modified is True


def test_cookie_under_a_removed_key_loads_empty(make_store: StoreFactory) -> None:
    old_value = saved(make_store(secret_key=OLD_SECRET), user_id=7)
    Store = make_store(secret_key=SECRET)
    session = Store(old_value)
    assert session.load() == {}
    assert session.session_key is None
    assert Store.engine.load(old_value) is None


def test_rolling_back_to_a_previous_key_accepts_the_newer_cookies(
    make_store: StoreFactory,
) -> None:
    """Put the new secret in ``fallback_keys`` to roll back without logging everyone out."""
    new_value = saved(make_store(secret_key=SECRET), user_id=7)
    RolledBack = make_store(secret_key=OLD_SECRET, fallback_keys=[SECRET])
    assert RolledBack(new_value)["user_id"] == 7


def counter(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    session = get_session(environ)
    session["n"] = session.get("n", 0) + 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(session["n"]).encode()]


def reader(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    n = get_session(environ).get("n", 0)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(n).encode()]


def middleware(app: Any, encrypt: bool, **settings: Any) -> WSGISessionMiddleware:
    return WSGISessionMiddleware(
        app,
        engine="signed_cookies",
        encrypt=encrypt,
        serializer_instance=ReferenceSerializer(),
        **settings,
    )


def test_rotation_end_to_end_through_the_wsgi_middleware(encrypt: bool) -> None:
    """Deploy with a new secret and the old one as fallback: a read-only request reissues."""
    before = call(middleware(counter, encrypt, secret_key=OLD_SECRET))
    old_value = before.cookie()
    assert old_value is not None and before.body == b"1"

    rotated = middleware(reader, encrypt, secret_key=SECRET, fallback_keys=[OLD_SECRET])
    after = call(rotated, cookie=old_value)
    assert after.body == b"1"
    new_value = after.cookie()
    assert new_value is not None and new_value != old_value

    retired = middleware(counter, encrypt, secret_key=SECRET)  # OLD_SECRET dropped later
    assert call(retired, cookie=new_value).body == b"2"
    assert call(retired, cookie=old_value).body == b"1"  # the old cookie is worth nothing now

    current = call(rotated, cookie=new_value)
    assert current.cookie() is None  # nothing to reissue: no Set-Cookie on a read


@pytest.mark.parametrize("encrypted_first", [False, True])
def test_switching_encrypt_starts_fresh_sessions(encrypted_first: bool) -> None:
    """Cookies of the other mode are refused (like a change of salt): users start over."""
    first = SignedCookiesEngine(secret_key=SECRET, encrypt=encrypted_first)
    second = SignedCookiesEngine(secret_key=SECRET, encrypt=not encrypted_first)
    value = first.save(sessionware.new_session_key(), b"{}", first.now() + 60)
    assert second.load(value) is None
