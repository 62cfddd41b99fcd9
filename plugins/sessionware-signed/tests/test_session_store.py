"""End to end through ``sessionware.session_store``: what a tampered store does to a session.

Entries another party wrote or changed load as an empty session, and one
warning goes to the ``sessionware.security`` logger; nothing raises to the
request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import sessionware
from sessionware import signing

SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # as in conftest.py
OLD_SECRET = "retired-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"

StoreFactory = Callable[..., type[sessionware.SessionStore]]


@pytest.fixture
def security(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="sessionware.security"):
        yield caplog


def saved_key(Store: type[sessionware.SessionStore], **data: Any) -> str:
    s = Store()
    s.update(data)
    s.save()
    assert s.session_key is not None
    return s.session_key


def overwrite(engine: Any, key: str, raw: bytes) -> None:
    """Replace the stored bytes as another writer of the store would (expiry unchanged)."""
    engine.data[key] = (raw, engine.data[key][1])


def security_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sessionware.security"]


def test_session_round_trips(store: StoreFactory) -> None:
    Store = store()
    key = saved_key(Store, user="ada", cart=[1, 2])
    assert dict(Store(key)) == {"user": "ada", "cart": [1, 2]}


def test_stored_bytes_are_a_signed_envelope(store: StoreFactory, engine: Any) -> None:
    Store = store()
    key = saved_key(Store, user="ada")
    raw = engine.data[key][0]
    assert signing.Signer(SECRET, salt="sessionware.signed").unsign(raw).startswith(b"{")


@pytest.mark.parametrize("part", [0, 1, 2], ids=["payload", "timestamp", "mac"])
def test_tampered_entry_loads_empty_and_is_logged(
    store: StoreFactory, engine: Any, security: pytest.LogCaptureFixture, part: int
) -> None:
    Store = store()
    key = saved_key(Store, user="ada", is_admin=False)
    parts = engine.data[key][0].split(b".")
    parts[part] = parts[part][:-2] + (b"00" if parts[part][-2:] != b"00" else b"11")
    overwrite(engine, key, b".".join(parts))
    s = Store(key)
    assert dict(s) == {}
    assert s.session_key is None  # a new key is made on save: the forged one is not reused
    lines = security_lines(security)
    assert len(lines) == 1
    assert "tampered" in lines[0]
    assert "BadSignature" in lines[0]


def test_raw_json_written_by_another_party_loads_empty_and_is_logged(
    store: StoreFactory, engine: Any, security: pytest.LogCaptureFixture
) -> None:
    Store = store()
    key = saved_key(Store, user="ada")
    overwrite(engine, key, b'{"user": "mallory", "is_admin": true}')
    assert dict(Store(key)) == {}
    assert ["tampered" in line for line in security_lines(security)] == [True]


def test_truncated_entry_loads_empty_and_is_logged(
    store: StoreFactory, engine: Any, security: pytest.LogCaptureFixture
) -> None:
    Store = store()
    key = saved_key(Store, user="ada")
    overwrite(engine, key, engine.data[key][0][:-10])
    assert dict(Store(key)) == {}
    assert len(security_lines(security)) == 1


def test_entry_under_another_salt_loads_empty(
    store: StoreFactory, engine: Any, security: pytest.LogCaptureFixture
) -> None:
    key = saved_key(store(), user="ada")
    other = store(serializer_options={"inner": "kit_json", "salt": "another-app"})
    assert dict(other(key)) == {}
    assert len(security_lines(security)) == 1


def test_retired_key_is_read_through_fallback_keys_then_refused_once_removed(
    store: StoreFactory, security: pytest.LogCaptureFixture
) -> None:
    key = saved_key(store(secret_key=OLD_SECRET), user="ada")
    rotated = store(secret_key=SECRET, fallback_keys=[OLD_SECRET])
    assert dict(rotated(key)) == {"user": "ada"}
    assert security_lines(security) == []
    assert dict(store(secret_key=SECRET)(key)) == {}
    assert len(security_lines(security)) == 1


def test_saving_under_rotation_signs_with_the_current_key(store: StoreFactory) -> None:
    key = saved_key(store(secret_key=OLD_SECRET), user="ada")
    rotated = store(secret_key=SECRET, fallback_keys=[OLD_SECRET])
    s = rotated(key)
    s["seen"] = 1
    s.save()
    assert dict(store(secret_key=SECRET)(key)) == {"user": "ada", "seen": 1}


def test_entry_older_than_max_age_loads_empty_and_is_logged(
    store: StoreFactory, engine: Any, security: pytest.LogCaptureFixture
) -> None:
    Store = store(serializer_options={"inner": "kit_json", "max_age": 60})
    key = saved_key(Store, user="ada")
    old = signing.Signer(SECRET, salt="sessionware.signed", clock=lambda: time.time() - 3600)
    overwrite(engine, key, old.sign(b'{"user":"ada"}'))
    assert dict(Store(key)) == {}
    lines = security_lines(security)
    assert len(lines) == 1
    assert "SignatureExpired" in lines[0]


def test_signed_entry_the_inner_cannot_decode_loads_empty_as_undecodable(
    store: StoreFactory, engine: Any, security: pytest.LogCaptureFixture
) -> None:
    Store = store()
    key = saved_key(Store, user="ada")
    overwrite(engine, key, signing.Signer(SECRET, salt="sessionware.signed").sign(b"[1, 2]"))
    assert dict(Store(key)) == {}
    lines = security_lines(security)
    assert len(lines) == 1
    assert "undecodable" in lines[0]
    assert "SerializationError" in lines[0]


def test_inner_refusal_fails_the_save(store: StoreFactory) -> None:
    s = store()()
    s["cart"] = {"items": {1: "x"}}
    with pytest.raises(sessionware.SerializationError):
        s.save()


@pytest.mark.usefixtures("json_plugin")
def test_default_inner_json_through_the_configuration(
    engine: Any, security: pytest.LogCaptureFixture
) -> None:
    Store = sessionware.session_store(
        engine_instance=engine, serializer="signed", secret_key=SECRET
    )
    key = saved_key(Store, user="ada")
    assert dict(Store(key)) == {"user": "ada"}
    overwrite(engine, key, b'{"user":"mallory"}')
    assert dict(Store(key)) == {}
    assert len(security_lines(security)) == 1


async def test_async_load_refuses_tampered_entries_too(
    store: StoreFactory, engine: Any, security: pytest.LogCaptureFixture
) -> None:
    Store = store()
    key = saved_key(Store, user="ada")
    overwrite(engine, key, engine.data[key][0] + b"x")
    s = Store(key)
    assert await s.aload() == {}
    assert len(security_lines(security)) == 1
