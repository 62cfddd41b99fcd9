"""Fuzz properties of the HTTP layer: Cookie headers and requests built from hostile headers.

Parsing never raises, whatever the header; :func:`get_cookie` answers as
:func:`parse_cookies` does for every cookie name a configuration can hold
(an RFC 7230 token); a cookie the parser returns can be sent back with
``Set-Cookie`` when it is made of cookie octets; and a request built from
a hostile WSGI environ or ASGI scope serves its headers, cookies and body
without raising.
"""

from __future__ import annotations

import io
import re
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from sessionware import Request
from sessionware.http._cookie_parsing import MAX_COOKIE_HEADER, get_cookie, parse_cookies
from sessionware.http._cookies import format_set_cookie

from ._settings import fuzz
from ._strategies import hostile_text

_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")

#: Cookie names: RFC 7230 tokens, short so they collide with each other and with values.
names = st.text(_TOKEN_CHARS, min_size=1, max_size=3) | st.sampled_from(["sessionid", "a", "id"])
#: What servers hand us: latin-1 text (WSGI and ASGI decode header bytes that way).
latin1 = st.text(st.characters(max_codepoint=255), max_size=40)
_separators = st.sampled_from([";", "; ", " ;", ";;", "", "\t;\t", " ", "=", ",", '"'])
_values = st.one_of(
    latin1,
    st.text(_TOKEN_CHARS + '="\\; ', max_size=20),
    st.sampled_from(['""', '"a b"', '"\\073"', '"\\"', "é".encode().decode("latin-1")]),
)


@st.composite
def cookie_headers(draw: st.DrawFn) -> str:
    """A Cookie header built from name=value pairs and junk, in the shapes clients send."""
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        shape = draw(st.sampled_from(["pair", "pair", "pair", "junk", "bare"]))
        if shape == "pair":
            spaces = draw(st.sampled_from(["", " ", "\t", "  "]))
            parts.append(f"{spaces}{draw(names)}{spaces}={spaces}{draw(_values)}")
        elif shape == "junk":
            parts.append(draw(latin1))
        else:
            parts.append(draw(names))
        parts.append(draw(_separators))
    return "".join(parts)


headers = cookie_headers() | latin1 | hostile_text(80)


@fuzz
@given(header=headers | st.none())
@example(header="a" * (MAX_COOKIE_HEADER + 1) + "=1")
def test_parsing_never_raises_and_yields_str_pairs(header: str | None) -> None:
    cookies = parse_cookies(header)
    assert all(type(k) is str and type(v) is str and k for k, v in cookies.items())
    if header is not None and len(header) > MAX_COOKIE_HEADER:
        assert cookies == {}


@fuzz
@given(header=headers | st.none(), name=names)
@example(header="xa=1; a=2", name="a")
@example(header='b=a=1; a="x;y"', name="a")
@example(header="a\t=\t1", name="a")
def test_get_cookie_agrees_with_parse_cookies(header: str | None, name: str) -> None:
    assert get_cookie(header, name) == parse_cookies(header).get(name)


@fuzz
@given(header=cookie_headers())
def test_every_parsed_name_is_found_by_get_cookie(header: str) -> None:
    for name, value in parse_cookies(header).items():
        if name.isascii():  # get_cookie's contract: ASCII names
            assert get_cookie(header, name) == value


@fuzz
@given(name=st.text(_TOKEN_CHARS, min_size=1, max_size=12), value=st.text(max_size=40))
def test_a_cookie_we_can_set_parses_back_to_itself(name: str, value: str) -> None:
    if not _OCTETS.fullmatch(value):
        return  # format_set_cookie refuses it (test below); nothing to parse back
    header = format_set_cookie(name, value, max_age=60).split(";", 1)[0]
    expected = {"other": "1"}
    expected.setdefault(name, value)  # the first of duplicate names wins
    assert parse_cookies(f"other=1; {header}; {name}=later") == expected
    assert get_cookie(f"x{name}=no; {header}", name) == value


@fuzz
@given(name=hostile_text(12), value=hostile_text(40))
def test_set_cookie_refuses_what_it_cannot_send_with_value_error(name: str, value: str) -> None:
    try:
        line = format_set_cookie(name, value)
    except ValueError:
        assert not (_TOKEN.fullmatch(name) and _OCTETS.fullmatch(value))
        return
    assert line.isascii() and "\r" not in line and "\n" not in line


_header_name = st.text(st.characters(max_codepoint=255), min_size=1, max_size=12)


@st.composite
def environs(draw: st.DrawFn) -> dict[str, Any]:
    """A WSGI environ as a hostile client could make a server build it."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": draw(latin1),
        "PATH_INFO": draw(latin1),
        "QUERY_STRING": draw(latin1),
    }
    for _ in range(draw(st.integers(0, 5))):
        environ["HTTP_" + draw(_header_name).upper().replace("-", "_")] = draw(latin1)
    if draw(st.booleans()):
        environ["HTTP_COOKIE"] = draw(headers)
    length = draw(st.none() | latin1 | st.integers(-5, 10**12).map(str))
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    if draw(st.booleans()):
        environ["CONTENT_TYPE"] = draw(latin1)
    environ["wsgi.input"] = io.BytesIO(draw(st.binary(max_size=64)))
    return environ


@fuzz
@given(environ=environs(), name=names)
def test_a_request_from_a_hostile_environ_never_raises(environ: dict[str, Any], name: str) -> None:
    request = Request.from_environ(environ)
    assert request.get_cookie(name) == parse_cookies(environ.get("HTTP_COOKIE")).get(name)
    assert request.cookies == parse_cookies(environ.get("HTTP_COOKIE"))
    assert request.get_cookie(name) == request.cookies.get(name)
    assert isinstance(request.body, bytes)
    assert len(request.body) <= 64
    request.header(name)
    repr(request)


def test_a_content_length_past_any_index_reads_the_body_without_raising() -> None:
    """Found by the environ property under the fuzz budget: 2**63 overflowed ``read``.

    ``Request.body`` raised ``OverflowError: cannot fit 'int' into an
    index-sized integer`` from ``wsgi.input.read(2**63)``.
    """
    environ = {"CONTENT_LENGTH": str(2**63), "wsgi.input": io.BytesIO(b"abc")}
    body = Request.from_environ(environ).body
    assert b"abc".startswith(body)


_raw = st.binary(max_size=60)


@st.composite
def scopes(draw: st.DrawFn) -> dict[str, Any]:
    """An ASGI http scope with any header bytes, several Cookie headers included (HTTP/2)."""
    pairs = draw(st.lists(st.tuples(_raw, _raw), max_size=5))
    for _ in range(draw(st.integers(0, 3))):
        cookie_name = draw(st.sampled_from([b"cookie", b"Cookie", b"COOKIE"]))
        pairs.insert(
            draw(st.integers(0, len(pairs))),
            (cookie_name, draw(headers).encode("utf-8", "surrogatepass")),
        )
    return {
        "type": "http",
        "method": draw(latin1),
        "path": draw(hostile_text(30)),
        "query_string": draw(_raw),
        "headers": pairs,
    }


@fuzz
@given(scope=scopes(), name=names)
def test_a_request_from_a_hostile_scope_never_raises(scope: dict[str, Any], name: str) -> None:
    request = Request.from_scope(scope)
    values = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"cookie"]
    joined = "; ".join(values) if values else None
    assert request.cookie_header == joined
    assert request.get_cookie(name) == parse_cookies(joined).get(name)
    assert request.get_cookie(name) == request.cookies.get(name)
    request.header(name)
    repr(request)
