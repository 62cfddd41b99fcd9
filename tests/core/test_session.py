"""SessionStore behaviour: Django's SessionBase semantics plus the traps we close."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sessionware import CreateError, SessionStore, UpdateError
from sessionware.testing import MemoryEngine


def saved(Store: type[SessionStore], **data: Any) -> str:
    s = Store()
    s.update(data)
    s.save()
    assert s.session_key is not None
    return s.session_key


def test_new_session_is_empty_and_untouched(Store: type[SessionStore]) -> None:
    s = Store()
    assert s.session_key is None
    assert not s.modified and not s.accessed
    assert s.is_empty()


def test_construction_does_no_io(Store: type[SessionStore], engine: MemoryEngine) -> None:
    key = saved(Store, a=1)
    engine.calls.clear()
    s = Store(key)
    assert engine.calls == []
    assert not s.is_empty()  # a key means "not empty" without loading
    assert engine.calls == []


def test_first_read_loads_once(Store: type[SessionStore], engine: MemoryEngine) -> None:
    key = saved(Store, a=1)
    engine.calls.clear()
    s = Store(key)
    assert s["a"] == 1 and s.get("a") == 1 and "a" in s
    assert engine.calls == ["load_versioned"]  # the kit's engine is versioned: one load


def test_read_sets_accessed_not_modified(Store: type[SessionStore]) -> None:
    s = Store(saved(Store, a=1))
    s.get("a")
    assert s.accessed and not s.modified


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.__setitem__("b", 2),
        lambda s: s.__delitem__("a"),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.setdefault("new", 1),
        lambda s: s.update({"c": 3}),
        lambda s: s.__ior__({"c": 3}),
        lambda s: s.clear(),
        lambda s: s.set_expiry(60),
    ],
    ids=[
        "setitem",
        "delitem",
        "pop",
        "popitem",
        "setdefault-new",
        "update",
        "ior",
        "clear",
        "expiry",
    ],
)
def test_every_mutation_sets_modified(Store: type[SessionStore], mutate: Any) -> None:
    s = Store(saved(Store, a=1))
    mutate(s)
    assert s.modified and s.accessed


def test_pop_of_missing_key_with_default_is_not_a_modification(Store: type[SessionStore]) -> None:
    s = Store(saved(Store, a=1))
    assert s.pop("zzz", None) is None
    assert not s.modified


def test_setdefault_of_existing_key_is_not_a_modification(Store: type[SessionStore]) -> None:
    s = Store(saved(Store, a=1))
    assert s.setdefault("a", 5) == 1
    assert not s.modified


def test_missing_key_raises_keyerror(Store: type[SessionStore]) -> None:
    with pytest.raises(KeyError):
        Store()["nope"]


@pytest.mark.parametrize("bad", [0, 1.5, None, ("t",), b"bytes"])
def test_non_str_key_raises_typeerror_at_assignment(Store: type[SessionStore], bad: Any) -> None:
    s = Store()
    with pytest.raises(TypeError, match="session keys must be str"):
        s[bad] = 123
    assert not s.modified


def test_non_str_key_in_update_raises_before_any_change(Store: type[SessionStore]) -> None:
    s = Store()
    with pytest.raises(TypeError):
        s.update({"ok": 1, 0: 2})
    assert "ok" not in s


def test_reserved_expiry_key_cannot_be_set(Store: type[SessionStore]) -> None:
    with pytest.raises(KeyError, match="set_expiry"):
        Store()["_session_expiry"] = 5


def test_dict_interop(Store: type[SessionStore]) -> None:
    s = Store(saved(Store, a=1, b=[1, 2]))
    assert isinstance(s, dict)
    assert dict(s) == {"a": 1, "b": [1, 2]}
    assert {**s} == {"a": 1, "b": [1, 2]}
    assert json.loads(json.dumps(s)) == {"a": 1, "b": [1, 2]}
    assert s == {"a": 1, "b": [1, 2]}
    assert (s | {"c": 3}) == {"a": 1, "b": [1, 2], "c": 3}
    assert sorted(s) == ["a", "b"] and len(s) == 2 and list(reversed(s)) == ["b", "a"]
    assert s.copy() == {"a": 1, "b": [1, 2]} and type(s.copy()) is dict


def test_repr_does_not_load_or_leak_the_key(
    Store: type[SessionStore], engine: MemoryEngine
) -> None:
    key = saved(Store, secret="x")
    engine.calls.clear()
    text = repr(Store(key))
    assert "not loaded" in text and key not in text and engine.calls == []


def test_save_then_new_instance_sees_data(Store: type[SessionStore]) -> None:
    key = saved(Store, user=7)
    assert Store(key)["user"] == 7


def test_exists(Store: type[SessionStore]) -> None:
    key = saved(Store, a=1)
    assert Store().exists(key)
    assert not Store().exists("a" * 32)


def test_create_gives_fresh_valid_key(Store: type[SessionStore], engine: MemoryEngine) -> None:
    s = Store()
    s.create()
    assert s.session_key and engine.is_valid_key(s.session_key) and s.modified
    other = Store()
    other.create()
    assert other.session_key != s.session_key


def test_create_retries_on_collision(Store: type[SessionStore], monkeypatch: Any) -> None:
    taken = saved(Store, a=1)
    keys = iter([taken, "b" * 32])
    monkeypatch.setattr("sessionware._session_io.new_session_key", lambda: next(keys))
    s = Store()
    s.create()
    assert s.session_key == "b" * 32


def test_save_must_create_on_existing_key_raises(Store: type[SessionStore]) -> None:
    key = saved(Store, a=1)
    s = Store(key)
    with pytest.raises(CreateError):
        s.save(must_create=True)
    assert Store(key)["a"] == 1


def test_load_of_unknown_key_creates_nothing(
    Store: type[SessionStore], engine: MemoryEngine
) -> None:
    s = Store("c" * 32)
    assert s.load() == {}
    assert s.session_key is None
    assert engine.data == {}


def test_saving_session_with_stale_key_creates_a_new_key(Store: type[SessionStore]) -> None:
    s = Store("c" * 32)
    s["a"] = 1
    s.save()
    assert s.session_key != "c" * 32
    assert Store(s.session_key)["a"] == 1


def test_session_deleted_meanwhile_is_not_resurrected(Store: type[SessionStore]) -> None:
    key = saved(Store, a=1)
    s = Store(key)
    s["a"] = 2  # loaded while it existed
    Store(key).delete()  # another request logs out
    with pytest.raises(UpdateError):
        s.save()
    assert not Store().exists(key)


def test_flush_deletes_and_forgets_key(Store: type[SessionStore]) -> None:
    key = saved(Store, a=1)
    s = Store(key)
    s.flush()
    assert s.session_key is None and s.is_empty() and s.modified
    assert not Store().exists(key)


def test_cycle_key_keeps_data_under_new_key(Store: type[SessionStore]) -> None:
    key = saved(Store, user=1)
    s = Store(key)
    s.cycle_key()
    assert s.session_key != key
    assert not Store().exists(key)
    assert Store(s.session_key)["user"] == 1


def test_cycle_key_on_new_session_creates(Store: type[SessionStore]) -> None:
    s = Store()
    s["a"] = 1
    s.cycle_key()
    assert Store(s.session_key)["a"] == 1


@pytest.mark.parametrize(
    "bad", ["../../etc/passwd", "a/b", "\x00" * 32, "x" * 10_000, "", "A" * 32]
)
def test_invalid_key_is_absent_without_io(
    Store: type[SessionStore], engine: MemoryEngine, bad: str
) -> None:
    s = Store(bad)
    assert s.session_key is None
    assert s.load() == {}
    assert engine.calls == []


def test_invalid_key_is_logged_as_security_event(
    Store: type[SessionStore], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sessionware.security"):
        Store("../etc")
    assert any(r.name == "sessionware.security" for r in caplog.records)


def test_undecodable_data_loads_empty_and_is_logged(
    Store: type[SessionStore], engine: MemoryEngine, caplog: pytest.LogCaptureFixture
) -> None:
    key = "d" * 32
    engine.save(key, b"\xff\x00 not json", 2e9, must_create=True)
    with caplog.at_level(logging.WARNING, logger="sessionware.security"):
        s = Store(key)
        assert s.load() == {}
    assert s.session_key is None
    assert "undecodable" in caplog.text


def test_non_object_payload_loads_empty(Store: type[SessionStore], engine: MemoryEngine) -> None:
    key = "e" * 32
    engine.save(key, b"[1,2]", 2e9, must_create=True)
    assert Store(key).load() == {}


def test_nested_mutation_is_detected(Store: type[SessionStore]) -> None:
    key = saved(Store, cart={"items": [1]})
    s = Store(key)
    s["cart"]["items"].append(3)
    assert not s.modified
    assert s.detect_changes() and s.modified


def test_unchanged_session_is_not_detected_as_modified(Store: type[SessionStore]) -> None:
    s = Store(saved(Store, cart={"items": [1]}))
    s.get("cart")
    assert not s.detect_changes()


def test_nested_detection_can_be_turned_off(make_store: Any) -> None:
    Store = make_store(detect_nested_changes=False)
    s = Store(saved(Store, cart={"items": [1]}))
    s["cart"]["items"].append(3)
    assert not s.detect_changes()


def test_default_expiry_follows_cookie_age(make_store: Any) -> None:
    Store = make_store(cookie_age=300)
    s = Store()
    assert s.get_expiry_age() == 300
    assert not s.get_expire_at_browser_close()
    delta = s.get_expiry_date() - datetime.now(UTC)
    assert 298 <= delta.total_seconds() <= 300


def test_set_expiry_int(Store: type[SessionStore]) -> None:
    s = Store()
    s.set_expiry(60)
    assert s.get_expiry_age() == 60 and not s.get_expire_at_browser_close()


def test_set_expiry_zero_means_browser_close(Store: type[SessionStore]) -> None:
    s = Store()
    s.set_expiry(0)
    assert s.get_expire_at_browser_close()
    assert s.get_expiry_age() == s.config.cookie_age


def test_set_expiry_datetime_and_timedelta(Store: type[SessionStore]) -> None:
    s = Store()
    when = datetime.now(UTC) + timedelta(hours=1)
    s.set_expiry(when)
    assert s.get_expiry_date() == when
    assert 3590 <= s.get_expiry_age() <= 3600
    s.set_expiry(timedelta(minutes=10))
    assert 590 <= s.get_expiry_age() <= 600


def test_set_expiry_none_reverts_to_policy(make_store: Any) -> None:
    Store = make_store(expire_at_browser_close=True)
    s = Store()
    s.set_expiry(60)
    assert not s.get_expire_at_browser_close()
    s.set_expiry(None)
    assert s.get_expire_at_browser_close()


def test_set_expiry_rejects_bad_values(Store: type[SessionStore]) -> None:
    with pytest.raises(TypeError):
        Store().set_expiry("tomorrow")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Store().set_expiry(-1)


def test_custom_expiry_persists_and_is_hidden(Store: type[SessionStore]) -> None:
    s = Store()
    s["a"] = 1
    s.set_expiry(120)
    s.save()
    again = Store(s.session_key)
    assert again.get_expiry_age() == 120
    assert "_session_expiry" not in again and dict(again) == {"a": 1}


def test_datetime_expiry_persists(Store: type[SessionStore]) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    s = Store()
    s.set_expiry(when)
    s.save()
    assert Store(s.session_key).get_expiry_date() == when


def test_expired_session_loads_empty(Store: type[SessionStore], engine: MemoryEngine) -> None:
    key = saved(Store, a=1)
    data, _ = engine.data[key]
    engine.data[key] = (data, 1.0)
    s = Store(key)
    assert s.load() == {} and s.session_key is None


def test_saved_expiry_matches_session_expiry(
    Store: type[SessionStore], engine: MemoryEngine
) -> None:
    import time

    s = Store()
    s.set_expiry(90)
    s.save()
    _, expires_at = engine.data[s.session_key]
    assert 88 <= expires_at - time.time() <= 90


def test_clear_expired_goes_to_engine(Store: type[SessionStore], engine: MemoryEngine) -> None:
    key = saved(Store, a=1)
    engine.data[key] = (engine.data[key][0], 1.0)
    assert Store.clear_expired() == 1


def test_unbound_store_explains_itself() -> None:
    with pytest.raises(TypeError, match="session_store"):
        SessionStore()


async def test_async_twins(Store: type[SessionStore]) -> None:
    s = Store()
    await s.aset("a", 1)
    await s.asave()
    key = s.session_key
    assert key is not None
    t = Store(key)
    assert await t.aget("a") == 1
    assert await t.ahas_key("a")
    assert await t.aitems() == [("a", 1)]
    assert await t.aexists(key)
    await t.acycle_key()
    assert not await t.aexists(key)
    await t.aflush()
    assert t.session_key is None
    assert await Store.aclear_expired() == 0


def test_nested_change_after_a_mid_request_save_is_detected(Store: type[SessionStore]) -> None:
    s = Store(saved(Store, cart={"items": [1]}))
    s.get("cart")
    s.save()
    s.modified = False
    s["cart"]["items"].append(2)
    assert s.detect_changes()


def test_copies_of_the_data_do_not_count_as_reading_it(Store: type[SessionStore]) -> None:
    # Copying through the dict C API on this subclass would call the overridden
    # __getitem__ and flip `accessed` (a needless Vary: Cookie on every response).
    s = Store(saved(Store, a=1, b={"c": 2}))
    s.load()
    s._payload()
    s.detect_changes()
    assert not s.accessed and not s.modified
