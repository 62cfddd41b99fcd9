"""CookieSpec: validation with clear messages, the tail, the set and delete headers, the size."""

from __future__ import annotations

import re

import pytest

from sessionware import ConfigurationError, CookieSpec, CookieTooLarge, SessionConfig
from sessionware.http._vary import patch_vary, patch_vary_bytes

EPOCH = "Expires=Thu, 01 Jan 1970 00:00:00 GMT"
IMF_FIXDATE = r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT"


# -- validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "a b"}, r"name 'a b' is not a valid cookie name \(letters, digits"),
        ({"name": ""}, "not a valid cookie name"),
        ({"domain": "a;b"}, r"domain 'a;b' is not a valid cookie domain"),
        ({"domain": "a b.example"}, "not a valid cookie domain"),
        ({"path": "/a;b"}, r"path '/a;b' must contain no ';' or line break"),
        ({"path": "/a\r\nSet-Cookie: x=1"}, "must contain no ';' or line break"),
        ({"samesite": "sometimes"}, r"samesite must be 'Lax', 'Strict' or 'None'.*'sometimes'"),
    ],
)
def test_an_invalid_name_or_attribute_is_refused_naming_it(
    arguments: dict[str, str], message: str
) -> None:
    arguments = {"name": "sid", **arguments}
    with pytest.raises(ValueError, match=message):
        CookieSpec(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("spelling", ["lax", "LAX", "Lax", "lAx"])
def test_samesite_is_made_canonical(spelling: str) -> None:
    assert CookieSpec("sid", samesite=spelling).samesite == "Lax"


def test_a_spec_alone_allows_what_only_a_session_cookie_must_not_do() -> None:
    # Response.set_cookie writes any cookie an app asks for; the stricter rules
    # are the session cookie's (from_config).
    spec = CookieSpec("sid", path="relative", samesite="None", partitioned=True)
    assert spec.tail == "; Path=relative; SameSite=None; Partitioned"


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"cookie_name": "bad name;"}, "cookie_name", "cookie_name 'bad name;' is not a valid"),
        ({"cookie_path": "no-slash"}, "cookie_path", "cookie_path 'no-slash' must start with '/'"),
        ({"cookie_domain": ""}, "cookie_domain", "cookie_domain '' is not a valid cookie domain"),
        ({"cookie_samesite": "x"}, "cookie_samesite", "cookie_samesite must be 'Lax'"),
        (
            {"cookie_samesite": "none"},
            "cookie_samesite",
            "cookie_samesite='None' requires cookie_secure=True",
        ),
        (
            {"cookie_partitioned": True},
            "cookie_partitioned",
            "cookie_partitioned=True requires cookie_secure=True",
        ),
    ],
)
def test_the_config_applies_the_session_cookie_rules_naming_the_field(
    settings: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)) as info:
        SessionConfig(**settings)  # type: ignore[arg-type]
    assert info.value.field == field


def test_the_config_builds_its_spec_once() -> None:
    config = SessionConfig(cookie_name="sid", cookie_samesite="strict", cookie_secure=True)
    spec = config.cookie_spec
    assert spec is config.cookie_spec
    assert spec == CookieSpec("sid", secure=True, httponly=True, samesite="Strict")
    assert config.cookie_samesite == "Strict"
    assert config.replace(cookie_domain="example.com").cookie_spec.domain == "example.com"


# -- the tail and the headers ------------------------------------------------------------


def test_the_tail_has_every_attribute_in_order() -> None:
    spec = CookieSpec(
        "sid",
        path="/app",
        domain="example.com",
        secure=True,
        httponly=True,
        samesite="strict",
        partitioned=True,
    )
    assert spec.tail == (
        "; Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=Strict; Partitioned"
    )


def test_an_empty_path_or_domain_is_left_out() -> None:
    assert CookieSpec("sid", path="", domain="").tail == ""
    assert CookieSpec("sid", path=None).tail == ""


def test_lowercase_attributes_lowers_the_names_only() -> None:
    spec = CookieSpec(
        "sid", domain="Example.com", secure=True, httponly=True, samesite="Lax", partitioned=True
    )
    lowered = spec.replace(lowercase_attributes=True)
    expected = "; domain=Example.com; path=/; secure; httponly; samesite=Lax; partitioned"
    assert lowered.tail == expected
    assert lowered.delete_header.startswith(f'sid=""; {EPOCH}; Max-Age=0; domain=')


def test_set_cookie_writes_value_expiry_then_attributes() -> None:
    spec = CookieSpec("sid", httponly=True, samesite="Lax")
    assert spec.set_cookie("abc") == "sid=abc; Path=/; HttpOnly; SameSite=Lax"
    assert spec.set_cookie("abc", max_age=60, expires=0.0) == (
        f"sid=abc; {EPOCH}; Max-Age=60; Path=/; HttpOnly; SameSite=Lax"
    )


@pytest.mark.parametrize("value", ["a b", 'a"b', "a;b", "a,b", "a\\b", "caf\xe9", "x\r\nY: 1"])
def test_set_cookie_refuses_a_value_that_could_break_the_header(value: str) -> None:
    with pytest.raises(ValueError, match=r"cookie 'sid' has a value .* encode it"):
        CookieSpec("sid").set_cookie(value)


def test_session_header_carries_expires_and_max_age_for_an_age() -> None:
    spec = CookieSpec("sid", httponly=True)
    header = spec.session_header("key", 3600)
    assert re.fullmatch(f"sid=key; Expires={IMF_FIXDATE}; Max-Age=3600; Path=/; HttpOnly", header)
    assert spec.session_header("key", None) == "sid=key; Path=/; HttpOnly"


def test_the_delete_header_keeps_the_scope_but_not_httponly() -> None:
    spec = CookieSpec("sid", path="/app", domain="example.com", httponly=True, samesite="Strict")
    assert spec.delete_header == (
        f'sid=""; {EPOCH}; Max-Age=0; Domain=example.com; Path=/app; SameSite=Strict'
    )


@pytest.mark.parametrize("spelling", ["None", "none"])
def test_the_delete_header_is_secure_whenever_samesite_is_none(spelling: str) -> None:
    assert "; Secure; SameSite=None" in CookieSpec("sid", samesite=spelling).delete_header


# -- the size check ------------------------------------------------------------------


@pytest.mark.parametrize("age", [None, 0, 59, 1209600])
def test_size_is_the_length_of_the_session_header(age: int | None) -> None:
    spec = CookieSpec("sid", domain="example.com", secure=True, httponly=True, samesite="Lax")
    value = "v" * 100
    assert spec.size(value, age) == len(spec.session_header(value, age).encode())


def test_size_counts_bytes_not_characters() -> None:
    spec = CookieSpec("sid", path=None)
    assert spec.size("\xe9", None) == len("sid=") + 2


def test_check_size_accepts_exactly_4096_bytes_and_refuses_one_more() -> None:
    spec = CookieSpec("sid")
    room = 4096 - spec.size("", 60)
    spec.check_size("x" * room, 60)
    with pytest.raises(CookieTooLarge) as info:
        spec.check_size("x" * (room + 1), 60)
    assert (info.value.size, info.value.limit) == (4097, 4096)
    assert "4097 bytes" in str(info.value) and "server-side engine" in str(info.value)


def test_check_size_ends_with_the_callers_advice() -> None:
    with pytest.raises(CookieTooLarge, match=r"over 4096 bytes\. Use less\.$"):
        CookieSpec("sid").check_size("x" * 5000, None, advice="Use less.")


# -- Vary, for str and bytes headers ------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], [("Vary", "Cookie")]),
        ([("Vary", "Accept-Encoding")], [("Vary", "Accept-Encoding, Cookie")]),
        ([("vary", "accept, COOKIE")], [("vary", "accept, COOKIE")]),
        ([("Vary", "*")], [("Vary", "*")]),
        (
            [("Vary", "Accept"), ("X", "1"), ("Vary", "Origin")],
            [("Vary", "Accept, Origin, Cookie"), ("X", "1")],
        ),
    ],
)
def test_patch_vary_gives_the_same_answer_for_str_and_bytes_headers(
    before: list[tuple[str, str]], after: list[tuple[str, str]]
) -> None:
    text = list(before)
    patch_vary(text, "Cookie")
    assert text == after
    binary = [(k.lower().encode(), v.encode()) for k, v in before]
    patch_vary_bytes(binary, "Cookie")
    assert binary == [(k.lower().encode(), v.encode()) for k, v in after]
