"""Discovery, capabilities and options of the signed_cookies engine."""

from __future__ import annotations

from typing import Any

import pytest
from sessionware_signed_cookies import DEFAULT_SALT, SignedCookiesEngine

import sessionware
from sessionware.testing import ReferenceSerializer, run_async

from ._keys import OLD_SECRET, SECRET


def test_get_engine_finds_signed_cookies_through_entry_points() -> None:
    engine = sessionware.get_engine("signed_cookies", secret_key=SECRET)
    assert isinstance(engine, SignedCookiesEngine)
    assert isinstance(engine, sessionware.Engine)


def test_list_plugins_reports_the_distribution() -> None:
    info = {p.name: p for p in sessionware.list_plugins()}["signed_cookies"]
    assert info.distribution == "sessionware-signed-cookies"
    assert info.engines == ["signed_cookies"]
    assert info.error is None


def test_capabilities_are_declared() -> None:
    assert SignedCookiesEngine.capabilities == sessionware.Capabilities(
        server_side=False,
        clear_expired=False,
        local=True,
        inline_async=True,
        shared_across_processes=True,
    )
    assert SignedCookiesEngine.uses_secret is True


def test_defaults_are_the_documented_values() -> None:
    engine = SignedCookiesEngine(secret_key=SECRET)
    assert (engine.salt, engine.encrypt, engine.compress) == (DEFAULT_SALT, False, None)
    assert DEFAULT_SALT == "sessionware.signed_cookies"


def test_missing_secret_is_refused_by_the_core_naming_secret_key() -> None:
    with pytest.raises(sessionware.ConfigurationError, match="needs secret_key") as info:
        sessionware.session_store(
            engine="signed_cookies", serializer_instance=ReferenceSerializer()
        )
    assert info.value.field == "secret_key"


def test_session_store_passes_the_configured_secret_and_fallbacks() -> None:
    Store = sessionware.session_store(
        engine="signed_cookies",
        secret_key=SECRET,
        fallback_keys=[OLD_SECRET],
        serializer_instance=ReferenceSerializer(),
    )
    old = SignedCookiesEngine(secret_key=OLD_SECRET)
    value = old.save(sessionware.new_session_key(), b"{}", old.now() + 60)
    assert Store.engine.load(value) == b"{}"


@pytest.mark.parametrize("secret", [None, "", b"", 42, ["a"]])
def test_invalid_secret_key_is_refused(secret: Any) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="secret_key") as info:
        sessionware.get_engine("signed_cookies", secret_key=secret)
    assert info.value.field == "secret_key"


@pytest.mark.parametrize("fallbacks", ["one-string", b"bytes", [""], [None], ["ok", 3], 7])
def test_invalid_fallback_keys_are_refused(fallbacks: Any) -> None:
    with pytest.raises(sessionware.ConfigurationError, match="fallback_keys") as info:
        sessionware.get_engine("signed_cookies", secret_key=SECRET, fallback_keys=fallbacks)
    assert info.value.field == "fallback_keys"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("salt", ""),
        ("salt", None),
        ("salt", b"bytes"),
        ("encrypt", "yes"),
        ("encrypt", 1),
        ("encrypt", None),
        ("compress", "auto"),
        ("compress", 0),
    ],
)
def test_invalid_option_names_the_option(option: str, value: Any) -> None:
    with pytest.raises(sessionware.ConfigurationError, match=repr(option)) as info:
        sessionware.get_engine("signed_cookies", secret_key=SECRET, **{option: value})
    assert info.value.field == f"engine_options.{option}"


def test_unknown_option_is_a_configuration_error() -> None:
    with pytest.raises(sessionware.ConfigurationError, match="max_age"):
        sessionware.get_engine("signed_cookies", secret_key=SECRET, max_age=10)


def test_bytes_secrets_are_accepted() -> None:
    engine = SignedCookiesEngine(secret_key=SECRET.encode(), fallback_keys=[OLD_SECRET.encode()])
    value = engine.save(sessionware.new_session_key(), b"x", engine.now() + 60)
    assert SignedCookiesEngine(secret_key=SECRET).load(value) == b"x"


def test_repr_never_shows_the_secret(engine: SignedCookiesEngine) -> None:
    assert SECRET not in repr(engine)
    assert repr(engine).startswith("<SignedCookiesEngine ")


def test_nothing_is_stored_server_side(engine: SignedCookiesEngine) -> None:
    value = engine.save(sessionware.new_session_key(), b"data", engine.now() + 60)
    engine.delete(value)
    assert engine.load(value) == b"data"  # delete cannot reach the browser's copy
    assert engine.clear_expired() == 0
    assert engine.exists(value) is True
    assert engine.exists(sessionware.new_session_key()) is False


def test_async_twins_match_the_sync_calls(engine: SignedCookiesEngine) -> None:
    async def scenario() -> None:
        value = await engine.asave(sessionware.new_session_key(), b"a", engine.now() + 60)
        assert await engine.aload(value) == b"a"
        assert await engine.aexists(value) is True
        await engine.adelete(value)
        assert await engine.aclear_expired() == 0

    run_async(scenario())
