"""Cookie parsing (robust, fast path) and Set-Cookie formatting."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from sessionware.http._cookie_parsing import MAX_COOKIE_HEADER, get_cookie, parse_cookies
from sessionware.http._cookies import delete_cookie_header, format_set_cookie, http_date
from sessionware.http._messages import Request, Response

SAMPLES = [
    "sessionid=abc",
    "a=1; sessionid=abc; b=2",
    "a=1;sessionid=abc",
    "  sessionid =  abc  ; x=y",
    "xsessionid=no; sessionid=yes",
    "a=sessionid=no; sessionid=yes",
    "sessionid=first; sessionid=second",
    'sessionid="quoted"',
    "garbage; sessionid=abc",
    "=empty; ;;; sessionid=abc",
    "sessionid",
    "sessionid=",
    "a=1; b=2",
    "",
    "sessionid=caf\xc3\xa9",
    "a=\xff\xfe; sessionid=ok",
]


def test_parse_cookies_reads_every_pair() -> None:
    assert parse_cookies("a=1; b=2;c=3") == {"a": "1", "b": "2", "c": "3"}


def test_malformed_pair_does_not_take_the_others_down() -> None:
    header = 'a=1; broken; =nameless; ;; b="2; c=3\x00; d=4'
    cookies = parse_cookies(header)
    assert cookies["a"] == "1"
    assert cookies["d"] == "4"
    assert "" not in cookies


def test_duplicate_names_first_wins() -> None:
    assert parse_cookies("a=first; a=second")["a"] == "first"


def test_quoted_values_are_unquoted() -> None:
    assert parse_cookies('a="hello"; b="x\\"y"; c="\\054"') == {"a": "hello", "b": 'x"y', "c": ","}


def test_non_ascii_utf8_is_decoded_and_latin1_garbage_is_kept() -> None:
    # WSGI/ASGI hand over latin-1 text; UTF-8 bytes smuggled in come out decoded.
    cookies = parse_cookies("a=caf\xc3\xa9; b=\xff\xfe; c=ok")
    assert cookies == {"a": "café", "b": "\xff\xfe", "c": "ok"}


def test_oversized_cookie_header_is_ignored_without_error() -> None:
    header = "sessionid=abc; " + "x=" + "y" * MAX_COOKIE_HEADER
    assert parse_cookies(header) == {}
    assert get_cookie(header, "sessionid") is None


def test_none_or_empty_header_gives_no_cookies() -> None:
    assert parse_cookies(None) == {}
    assert get_cookie(None, "a") is None
    assert get_cookie("", "a") is None


@pytest.mark.parametrize("header", SAMPLES)
def test_get_cookie_agrees_with_parse_cookies(header: str) -> None:
    assert get_cookie(header, "sessionid") == parse_cookies(header).get("sessionid")


def test_get_cookie_ignores_the_name_inside_other_names_and_values() -> None:
    assert get_cookie("mysessionid=1; x=sessionid=2", "sessionid") is None


def test_request_get_cookie_joins_several_cookie_headers() -> None:
    request = Request(headers=[("Cookie", "a=1"), ("cookie", "sessionid=abc")])
    assert request.get_cookie("sessionid") == "abc"
    assert request.cookies == {"a": "1", "sessionid": "abc"}


def test_set_cookie_has_every_attribute() -> None:
    header = format_set_cookie(
        "sid",
        "abc",
        max_age=60,
        expires=0.0,
        path="/app",
        domain="example.com",
        secure=True,
        httponly=True,
        samesite="lax",
        partitioned=True,
    )
    assert header == (
        "sid=abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60; Domain=example.com; "
        "Path=/app; Secure; HttpOnly; SameSite=Lax; Partitioned"
    )


def test_expires_is_an_imf_fixdate() -> None:
    stamp = 784111777.0
    assert http_date(stamp) == "Sun, 06 Nov 1994 08:49:37 GMT"
    moment = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    assert "Expires=Sun, 06 Nov 1994 08:49:37 GMT" in format_set_cookie("a", "b", expires=moment)


def test_set_cookie_without_options_is_a_host_only_browser_cookie() -> None:
    assert format_set_cookie("a", "b") == "a=b; Path=/"


def test_set_cookie_refuses_header_injection_in_the_value() -> None:
    with pytest.raises(ValueError, match="encode it"):
        format_set_cookie("a", "x\r\nSet-Cookie: evil=1")


def test_set_cookie_refuses_an_invalid_name() -> None:
    with pytest.raises(ValueError, match="not a valid cookie name"):
        format_set_cookie("a b", "x")


def test_set_cookie_refuses_an_unknown_samesite() -> None:
    with pytest.raises(ValueError, match="samesite"):
        format_set_cookie("a", "b", samesite="sometimes")


def test_delete_cookie_expires_it_with_the_same_scope() -> None:
    header = delete_cookie_header(
        "sid", path="/app", domain="example.com", secure=True, samesite="Strict"
    )
    assert header.startswith('sid=""; ')
    assert "Max-Age=0" in header
    assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in header
    assert "Path=/app" in header and "Domain=example.com" in header
    assert "Secure" in header and "SameSite=Strict" in header
    expires = header.split("Expires=")[1].split(";")[0]
    assert parsedate_to_datetime(expires).timestamp() < time.time()


def test_response_delete_cookie_adds_an_expiring_set_cookie() -> None:
    response = Response()
    response.delete_cookie("sid")
    assert response.get_all("set-cookie") == [delete_cookie_header("sid")]


def test_patch_vary_merges_without_duplicates() -> None:
    response = Response(headers=[("Vary", "Accept-Encoding, cookie")])
    response.patch_vary("Cookie", "Accept-Language")
    assert response.get_all("Vary") == ["Accept-Encoding, cookie, Accept-Language"]


def test_patch_vary_adds_a_header_when_there_is_none() -> None:
    response = Response()
    response.patch_vary("Cookie")
    assert response.get_header("vary") == "Cookie"


def test_patch_vary_leaves_a_star_alone() -> None:
    response = Response(headers=[("Vary", "*")])
    response.patch_vary("Cookie")
    assert response.get_all("Vary") == ["*"]


def test_response_encodes_str_body_and_has_a_status_line() -> None:
    response = Response("héllo", status=404)
    assert response.body == "héllo".encode()
    assert response.status_line == "404 Not Found"
    assert response.get_header("Content-Type") == "text/plain; charset=utf-8"


def test_request_from_environ_reads_headers_and_body() -> None:
    import io

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/x",
        "QUERY_STRING": "a=1",
        "HTTP_COOKIE": "a=1",
        "CONTENT_LENGTH": "5",
        "wsgi.input": io.BytesIO(b"hello"),
    }
    request = Request.from_environ(environ)
    assert (request.method, request.path, request.query_string) == ("POST", "/x", "a=1")
    assert request.header("Cookie") == "a=1"
    assert request.body == b"hello"


def test_request_from_scope_decodes_headers() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/p",
        "query_string": b"q=1",
        "headers": [(b"cookie", b"sessionid=abc")],
    }
    request = Request.from_scope(scope, b"body")
    assert request.get_cookie("sessionid") == "abc"
    assert request.body == b"body"
