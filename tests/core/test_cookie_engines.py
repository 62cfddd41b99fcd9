"""What the core does for engines whose data lives in the cookie.

``CookieTooLarge`` at save when the cookie with its attributes would pass the
browser limit (never a cookie the browser silently drops), and ``Reissue``:
bytes loaded from a cookie under a retired key make the session save again.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any, ClassVar

import pytest

import sessionware
from sessionware import Capabilities, CookieTooLarge, EngineBase, Reissue, SessionStore
from sessionware.testing import ReferenceSerializer


class PlainCookieEngine(EngineBase):
    """The cookie value is base64 of expiry + data; values made by ``old`` come back as Reissue."""

    name: ClassVar[str] = "plain_cookie"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_side=False, clear_expired=False, local=True, inline_async=True
    )

    def __init__(self, *, prefix: str = "v2") -> None:
        self.prefix = prefix

    def is_valid_key(self, key: str) -> bool:
        return type(key) is str and 8 <= len(key) <= 16384

    def save(self, key: str, data: bytes, expires_at: float, must_create: bool = False) -> str:
        packed = base64.urlsafe_b64encode(struct.pack(">d", expires_at) + data).decode()
        return f"{self.prefix}.{packed}"

    def load(self, key: str) -> bytes | None:
        prefix, _, body = key.partition(".")
        try:
            raw = base64.urlsafe_b64decode(body)
        except (binascii.Error, ValueError):
            return None
        data = raw[8:]
        return data if prefix == self.prefix else Reissue(data)

    def exists(self, key: str) -> bool:
        return self.load(key) is not None

    def delete(self, key: str) -> None:
        return None


def make_store(engine: PlainCookieEngine, **settings: Any) -> type[SessionStore]:
    return sessionware.session_store(
        engine_instance=engine, serializer_instance=ReferenceSerializer(), **settings
    )


def test_cookie_size_counts_name_value_and_attributes() -> None:
    Store = make_store(PlainCookieEngine(), cookie_domain="example.com", cookie_secure=True)
    s = Store()
    s["a"] = 1
    s.save()
    assert s.session_key is not None
    expected = (
        f"sessionid={s.session_key}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=1209600"
        "; Domain=example.com; Path=/; Secure; HttpOnly; SameSite=Lax"
    )
    assert s.cookie_size(s.session_key) == len(expected)


def test_browser_close_cookie_has_no_expiry_attributes() -> None:
    Store = make_store(PlainCookieEngine(), expire_at_browser_close=True)
    s = Store()
    assert s.cookie_size("x" * 10) == len("sessionid=xxxxxxxxxx; Path=/; HttpOnly; SameSite=Lax")


@pytest.mark.parametrize("asynchronous", [False, True])
def test_oversized_cookie_raises_at_save_with_size_and_advice(asynchronous: bool) -> None:
    Store = make_store(PlainCookieEngine())
    s = Store()
    s["blob"] = "x" * 4000
    with pytest.raises(CookieTooLarge) as info:
        if asynchronous:
            sessionware.testing.run_async(s.asave())
        else:
            s.save()
    assert info.value.size > 4096 and info.value.limit == 4096
    assert str(info.value.size) in str(info.value)
    assert "server-side engine" in str(info.value)
    assert s.session_key is None  # nothing pretends to have been saved


def test_cookie_just_under_the_limit_is_accepted() -> None:
    Store = make_store(PlainCookieEngine())
    s = Store()
    s["blob"] = ""
    s.save()
    assert s.session_key is not None
    room = 4096 - s.cookie_size(s.session_key)
    s["blob"] = "x" * (room * 3 // 4)  # base64 grows data by 4/3
    s.save()
    assert s.session_key is not None and s.cookie_size(s.session_key) <= 4096


def test_server_side_engines_are_not_size_checked() -> None:
    from sessionware.testing import MemoryEngine

    Store = sessionware.session_store(
        engine_instance=MemoryEngine(), serializer_instance=ReferenceSerializer()
    )
    s = Store()
    s["blob"] = "x" * 10_000
    s.save()  # the cookie carries only the key
    assert s.session_key is not None and len(s.session_key) == 32


def test_reissued_bytes_mark_the_session_modified() -> None:
    old = make_store(PlainCookieEngine(prefix="v1"))()
    old["user"] = 7
    old.save()
    assert old.session_key is not None and old.session_key.startswith("v1.")

    Store = make_store(PlainCookieEngine(prefix="v2"))
    s = Store(old.session_key)
    assert s["user"] == 7
    assert s.modified  # the middleware will send a cookie in the current format
    s.save()
    assert s.session_key is not None and s.session_key.startswith("v2.")


def test_current_bytes_leave_the_session_unmodified() -> None:
    Store = make_store(PlainCookieEngine())
    first = Store()
    first["user"] = 7
    first.save()
    s = Store(first.session_key)
    assert s["user"] == 7 and not s.modified


class ForgeryDetectingEngine(PlainCookieEngine):
    """Raises SuspiciousSession for values that do not carry its prefix."""

    def load(self, key: str) -> bytes | None:
        if not key.startswith(self.prefix + "."):
            raise sessionware.SuspiciousSession("value was not issued by this engine")
        return super().load(key)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_engine_reported_forgery_gives_an_empty_session_and_is_logged(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    rejected: list[dict[str, Any]] = []

    class Listener:
        @sessionware.hookimpl
        def session_rejected(self, reason: str, engine: str, detail: str) -> None:
            rejected.append({"reason": reason, "engine": engine, "detail": detail})

    from sessionware._plugins import host

    listener = Listener()
    host.register(listener, "forgery-listener")
    try:
        s = make_store(ForgeryDetectingEngine())("forged.AAAAAAAAAAAA")
        with caplog.at_level("WARNING", logger="sessionware.security"):
            data = sessionware.testing.run_async(s.aload()) if asynchronous else s.load()
    finally:
        host.unregister("forgery-listener")
    assert data == {} and s.session_key is None
    assert "tampered" in caplog.text and "not issued by this engine" in caplog.text
    assert [e["reason"] for e in rejected] == ["tampered"]
