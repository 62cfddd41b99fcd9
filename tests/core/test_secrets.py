"""One rule for secrets, applied by every entry point at start-up.

At least 50 characters, at least 5 distinct, not Django's development
placeholder: ``SessionConfig``, ``Signer``, the signed_cookies engine, the
signed serializer, the middleware adapters and ``sessionware check`` all refuse
a weak secret (or fallback key) with the same message, which says how to make
a good one and never shows the secret.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from typing import Any

import pytest

import sessionware
from sessionware import ConfigurationError, SessionConfig, signing
from sessionware.cli import main

GOOD = "core-secrets-test-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
HOW = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
WEAK = {
    "one-character": "Q",
    "49-characters": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLM",
    "four-distinct": "abcd" * 20,
    "django-placeholder": "django-insecure-" + "q8(w#f0zx^v3!k@9s$1e&p%n+r*t2u-y7b6a5c4d",
}


def installed(kind: str, name: str) -> bool:
    found = {n for p in sessionware.list_plugins() for n in getattr(p, kind)}
    return name in found


needs_signed_cookies = pytest.mark.skipif(
    not installed("engines", "signed_cookies"), reason="sessionware-signed-cookies not installed"
)
needs_signed = pytest.mark.skipif(
    not (installed("serializers", "signed") and installed("serializers", "json")),
    reason="sessionware-signed and sessionware-json not installed",
)


# -- the rule -------------------------------------------------------------------


@pytest.mark.parametrize("secret", list(WEAK.values()), ids=list(WEAK))
def test_weak_secrets_are_refused_with_how_to_make_one(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="secret_key is too weak") as info:
        signing.check_secret(secret)
    message = str(info.value)
    assert HOW in message
    assert secret not in message
    assert info.value.field == "secret_key"


def test_the_message_says_what_is_wrong() -> None:
    with pytest.raises(ConfigurationError, match=r"1 characters long \(at least 50.*1 distinct"):
        signing.check_secret("x")
    with pytest.raises(ConfigurationError, match="'django-insecure-'"):
        signing.check_secret(WEAK["django-placeholder"])


def test_a_generated_secret_passes() -> None:
    for _ in range(20):
        secret = secrets.token_urlsafe(50)
        assert signing.check_secret(secret) is secret
    assert signing.check_secret(secrets.token_bytes(50))


def test_bytes_secrets_are_measured_in_bytes() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes long"):
        signing.check_secret(secrets.token_bytes(32))


def test_a_non_string_secret_is_refused_by_type() -> None:
    with pytest.raises(ConfigurationError, match=r"must be a str.*got int"):
        signing.check_secret(12345)


def test_the_rule_is_djangos_deploy_check_or_stricter() -> None:
    assert (signing.MIN_LENGTH, signing.MIN_DISTINCT) == (50, 5)


# -- every entry point ------------------------------------------------------------


def test_session_config_refuses_a_weak_secret() -> None:
    with pytest.raises(ConfigurationError, match="secret_key is too weak") as info:
        SessionConfig(secret_key="short")
    assert info.value.field == "secret_key"


def test_session_config_refuses_a_weak_fallback_key_naming_it() -> None:
    with pytest.raises(ConfigurationError, match=r"fallback_keys\[1\] is too weak") as info:
        SessionConfig(secret_key=GOOD, fallback_keys=(GOOD, "old"))
    assert info.value.field == "fallback_keys"


def test_session_config_from_the_environment_refuses_a_weak_secret() -> None:
    with pytest.raises(ConfigurationError, match="secret_key is too weak"):
        SessionConfig.from_env({"SESSIONWARE_SECRET_KEY": "s3cret"})


def test_session_config_without_a_secret_is_fine() -> None:
    assert SessionConfig().secret_key is None
    assert SessionConfig(secret_key=GOOD, fallback_keys=(GOOD,)).fallback_keys == (GOOD,)


def test_signer_refuses_a_weak_secret_and_fallback_key() -> None:
    with pytest.raises(ConfigurationError, match="secret_key is too weak"):
        signing.Signer("k")
    with pytest.raises(ConfigurationError, match=r"fallback_keys\[0\] is too weak"):
        signing.Signer(GOOD, fallback_keys=["old"])
    with pytest.raises(ConfigurationError, match="too weak"):
        signing.derive_key("k", "salt")


@needs_signed_cookies
def test_signed_cookies_engine_given_a_key_directly_refuses_a_weak_one() -> None:
    with pytest.raises(ConfigurationError, match="secret_key is too weak"):
        sessionware.get_engine("signed_cookies", secret_key="k")
    with pytest.raises(ConfigurationError, match=r"fallback_keys\[0\] is too weak"):
        sessionware.get_engine("signed_cookies", secret_key=GOOD, fallback_keys=["old"])


@needs_signed
def test_signed_serializer_given_a_key_directly_refuses_a_weak_one() -> None:
    with pytest.raises(ConfigurationError, match="secret_key is too weak"):
        sessionware.get_serializer("signed", secret_key=b"k")
    with pytest.raises(ConfigurationError, match=r"fallback_keys\[0\] is too weak"):
        sessionware.get_serializer("signed", secret_key=GOOD, fallback_keys=["old"])


def _wsgi(**settings: Any) -> object:
    from sessionware.http.wsgi import WSGISessionMiddleware

    return WSGISessionMiddleware(lambda environ, start_response: [], **settings)


def _asgi(**settings: Any) -> object:
    from sessionware.http.asgi import ASGISessionMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    return ASGISessionMiddleware(app, **settings)


@needs_signed_cookies
@pytest.mark.parametrize(
    "build",
    [sessionware.session_store, _wsgi, _asgi],
    ids=["session_store", "wsgi", "asgi"],
)
def test_adapters_refuse_a_weak_secret_at_start_up(build: Callable[..., object]) -> None:
    with pytest.raises(ConfigurationError, match="secret_key is too weak"):
        build(engine="signed_cookies", secret_key="s3cret")


@needs_signed_cookies
def test_check_refuses_a_weak_secret_with_the_same_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSIONWARE_SECRET_KEY", "abcd" * 20)
    out = io.StringIO()
    code = main(["check", "--engine", "signed_cookies"], out=out)
    assert code == 1
    assert "PROBLEM secret: secret_key is too weak" in out.getvalue()
    assert HOW in out.getvalue()
