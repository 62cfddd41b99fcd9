"""The msgpack plugin: registration, options, and sessions stored through it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sessionware_msgpack import MsgpackSerializer

import sessionware
from sessionware import ConfigurationError
from sessionware.testing import MemoryEngine


def test_get_serializer_finds_msgpack_through_entry_points() -> None:
    assert isinstance(sessionware.get_serializer("msgpack"), MsgpackSerializer)
    info = {p.name: p for p in sessionware.list_plugins()}["msgpack"]
    assert (info.distribution, info.serializers) == ("sessionware-msgpack", ["msgpack"])


def test_options_are_passed_by_name() -> None:
    ser = sessionware.get_serializer("msgpack", max_size=4096, max_depth=8)
    assert (ser.max_size, ser.max_depth) == (4096, 8)


def test_unknown_option_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="max_bytes") as info:
        sessionware.get_serializer("msgpack", max_bytes=2)
    assert info.value.field == "serializer_options.max_bytes"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_size", 0),
        ("max_size", -1),
        ("max_size", 1.5),
        ("max_size", True),
        ("max_size", "1MiB"),
        ("max_depth", 0),
        ("max_depth", 501),
        ("max_depth", None),
    ],
)
def test_bad_option_value_names_the_option(option: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=option) as info:
        sessionware.get_serializer("msgpack", **{option: value})
    assert info.value.field == f"serializer_options.{option}"


def test_repr_shows_the_limits() -> None:
    assert repr(MsgpackSerializer(max_size=10)) == (
        "<MsgpackSerializer 'msgpack' max_size=10 max_depth=256>"
    )


def test_session_round_trips_through_a_store(Store: type[sessionware.SessionStore]) -> None:
    s = Store()
    s["user"] = "ada"
    s["avatar"] = b"\x89PNG\r\n"
    s["cart"] = {"items": [1, 2], "total": 9.5}
    s.set_expiry(600)
    s.save()
    again = Store(s.session_key)
    assert dict(again) == {
        "user": "ada",
        "avatar": b"\x89PNG\r\n",
        "cart": {"items": [1, 2], "total": 9.5},
    }
    assert again.get_expiry_age() <= 600


def test_unsupported_value_fails_the_save_with_the_path(
    Store: type[sessionware.SessionStore],
) -> None:
    s = Store()
    s["cart"] = {"items": {1: "x"}}
    with pytest.raises(sessionware.SerializationError, match=r"session\['cart'\]\['items'\]"):
        s.save()


@pytest.mark.parametrize(
    "stored",
    [
        b'{"user": "mallory"}',  # json written by another party
        b"\xdd\xff\xff\xff\xff\x01",  # a lying array32 header
        b"\x81\xa1a" + b"\x91" * 5000 + b"\xc0",  # nested past the unpacker's stack
        b"\x81\xa1t\xd6\xff\x00\x00\x00\x01",  # a timestamp extension
        b"\x81\x01\x02",  # an int key
    ],
    ids=["json", "array32", "deep", "timestamp", "int-key"],
)
def test_hostile_stored_bytes_load_as_an_empty_session_and_are_logged(
    Store: type[sessionware.SessionStore],
    engine: MemoryEngine,
    caplog: pytest.LogCaptureFixture,
    stored: bytes,
) -> None:
    s = Store()
    s["user"] = "ada"
    s.save()
    key = s.session_key
    assert key is not None
    engine.data[key] = (stored, engine.data[key][1])
    with caplog.at_level(logging.WARNING, logger="sessionware.security"):
        loaded = Store(key)
        assert dict(loaded) == {}
    assert [r.name for r in caplog.records] == ["sessionware.security"]
    assert "SerializationError" in caplog.records[0].getMessage()
