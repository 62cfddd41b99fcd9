"""The signed plugin's registration and options: every bad value names its option."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sessionware_signed import SignedSerializer

import sessionware
from sessionware import ConfigurationError, SerializerNotFound

SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"  # as in conftest.py

Make = Callable[..., SignedSerializer]
FALLBACK = "ok-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
RETIRED = "retired-secret-value-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"


def test_get_serializer_finds_signed_through_entry_points() -> None:
    info = {p.name: p for p in sessionware.list_plugins()}["signed"]
    assert (info.distribution, info.serializers) == ("sessionware-signed", ["signed"])


def test_it_declares_that_it_uses_the_secret() -> None:
    assert SignedSerializer.uses_secret is True


def test_defaults(make: Make) -> None:
    ser = make()
    assert (ser.salt, ser.max_age, ser.compress) == ("sessionware.signed", None, False)
    assert SignedSerializer.__init__.__kwdefaults__["inner"] == "json"  # type: ignore[index]


def test_missing_secret_key_says_how_to_set_it() -> None:
    with pytest.raises(ConfigurationError, match="SESSIONWARE_SECRET_KEY") as info:
        sessionware.get_serializer("signed", inner="kit_json")
    assert info.value.field == "secret_key"


@pytest.mark.parametrize("secret", ["", b"", 42, ["k"]])
def test_bad_secret_key_is_refused(secret: Any) -> None:
    with pytest.raises(ConfigurationError, match="secret_key") as info:
        sessionware.get_serializer("signed", secret_key=secret, inner="kit_json")
    assert info.value.field == "secret_key"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("old-key", "wrap a single key in a list"),
        (b"old-key", "wrap a single key in a list"),
        (42, "list of retired secrets"),
        ([FALLBACK, ""], r"fallback_keys\[1\].*an empty str"),
        ([None], r"fallback_keys\[0\].*NoneType"),
    ],
)
def test_bad_fallback_keys_are_refused(make: Make, keys: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        make(fallback_keys=keys)
    assert info.value.field == "fallback_keys"


def test_fallback_key_values_never_appear_in_errors(make: Make) -> None:
    with pytest.raises(ConfigurationError) as info:
        make(fallback_keys=["do-not-print-me-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ", ""])
    assert "do-not-print-me-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ" not in str(info.value)


def test_unknown_inner_is_serializer_not_found_naming_the_option(make: Make) -> None:
    with pytest.raises(SerializerNotFound, match=r"option 'inner'.*'yaml'") as info:
        make(inner="yaml")
    assert info.value.field == "serializer_options.inner"
    assert info.value.name == "yaml"
    assert "kit_json" in info.value.installed


def test_first_party_inner_that_is_missing_says_what_to_install(make: Make) -> None:
    try:
        sessionware.get_serializer("msgpack")
    except SerializerNotFound:
        pass
    else:
        pytest.skip("sessionware-msgpack is installed here")
    with pytest.raises(SerializerNotFound, match="pip install sessionware-msgpack"):
        make(inner="msgpack")


def test_inner_signed_is_refused(make: Make) -> None:
    with pytest.raises(ConfigurationError, match="itself") as info:
        make(inner="signed")
    assert info.value.field == "serializer_options.inner"


@pytest.mark.parametrize("inner", ["", "not a name", 42, None, ReferenceError])
def test_inner_that_is_not_a_name_is_refused(make: Make, inner: Any) -> None:
    with pytest.raises(ConfigurationError, match="inner") as info:
        make(inner=inner)
    assert info.value.field == "serializer_options.inner"


@pytest.mark.parametrize("inner_options", [["tag"], "tag=v2", {1: "x"}])
def test_inner_options_that_are_not_a_mapping_are_refused(make: Make, inner_options: Any) -> None:
    with pytest.raises(ConfigurationError, match="inner_options") as info:
        make(inner="tagged", inner_options=inner_options)
    assert info.value.field == "serializer_options.inner_options"


def test_option_the_inner_does_not_take_is_refused_naming_inner_options(make: Make) -> None:
    with pytest.raises(ConfigurationError, match=r"inner_options.*'kit_json'.*indent") as info:
        make(inner_options={"indent": 2})
    assert info.value.field == "serializer_options.inner_options"


@pytest.mark.parametrize("salt", ["", None, b"salt", 1])
def test_bad_salt_is_refused(make: Make, salt: Any) -> None:
    with pytest.raises(ConfigurationError, match="salt") as info:
        make(salt=salt)
    assert info.value.field == "serializer_options.salt"


@pytest.mark.parametrize("max_age", [0, -1, float("nan"), float("inf"), True, "60"])
def test_bad_max_age_is_refused(make: Make, max_age: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_age") as info:
        make(max_age=max_age)
    assert info.value.field == "serializer_options.max_age"


@pytest.mark.parametrize("max_age", [60, 0.5, None])
def test_good_max_age_is_kept(make: Make, max_age: float | None) -> None:
    assert make(max_age=max_age).max_age == max_age


@pytest.mark.parametrize("compress", [None, 1, "yes"])
def test_bad_compress_is_refused(make: Make, compress: Any) -> None:
    with pytest.raises(ConfigurationError, match="compress") as info:
        make(compress=compress)
    assert info.value.field == "serializer_options.compress"


def test_unknown_option_is_refused_listing_the_valid_ones(make: Make) -> None:
    with pytest.raises(ConfigurationError, match=r"'ttl'.*max_age") as info:
        make(ttl=5)
    assert info.value.field == "serializer_options.ttl"


def test_repr_shows_no_secret(make: Make) -> None:
    ser = make(fallback_keys=[RETIRED])
    assert repr(ser) == "<SignedSerializer 'signed' inner='kit_json' salt='sessionware.signed'>"
    assert SECRET not in repr(ser)
    assert RETIRED not in repr(vars(ser))


def test_session_store_passes_the_configured_secret(engine: Any) -> None:
    Store = sessionware.session_store(
        engine_instance=engine,
        serializer="signed",
        serializer_options={"inner": "kit_json"},
        secret_key=SECRET,
    )
    token = Store.serializer.dumps({"a": 1})
    assert sessionware.signing.Signer(SECRET, salt="sessionware.signed").unsign(token)


def test_session_store_without_a_secret_is_a_configuration_error(engine: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        sessionware.session_store(
            engine_instance=engine, serializer="signed", serializer_options={"inner": "kit_json"}
        )
    assert info.value.field == "secret_key"
