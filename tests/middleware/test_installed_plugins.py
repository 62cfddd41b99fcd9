"""The adapters with the first-party "db" engine and "json" serializer selected by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

import sessionware
from sessionware.http.wsgi import WSGISessionMiddleware, get_session

from .wsgi_calls import call_wsgi, cookie_value

_INSTALLED = {
    name for info in sessionware.list_plugins() for name in (*info.engines, *info.serializers)
}
pytestmark = pytest.mark.skipif(
    not {"db", "json"} <= _INSTALLED,
    reason="needs sessionware-db and sessionware-json installed (pip install -e plugins/...)",
)


def counter(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    session = get_session(environ)
    session["n"] = session.get("n", 0) + 1
    session.setdefault("cart", {"items": []})["items"].append(session["n"])
    start_response("200 OK", [])
    return [str(session["n"]).encode()]


def test_db_engine_and_json_serializer_by_name_count_across_requests(tmp_path: Path) -> None:
    app = WSGISessionMiddleware(
        counter, engine="db", serializer="json", path=tmp_path / "s.sqlite3"
    )
    first = call_wsgi(app)
    key = cookie_value(first.get_all("Set-Cookie")[0])
    second = call_wsgi(app, cookie=f"sessionid={key}")
    assert (first.body, second.body) == (b"1", b"2")
    session = app.rules.store_class(key)
    assert session["cart"] == {"items": [1, 2]}
    app.rules.store_class.engine.close()


def test_db_engine_session_deleted_meanwhile_answers_400(tmp_path: Path) -> None:
    app = WSGISessionMiddleware(counter, engine="db", path=tmp_path / "s.sqlite3")
    key = cookie_value(call_wsgi(app).get_all("Set-Cookie")[0])

    def racing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        session = get_session(environ)
        session["n"] = 5
        session.delete()
        start_response("200 OK", [])
        return [b"x"]

    racer = WSGISessionMiddleware(racing, engine_instance=app.rules.store_class.engine)
    assert call_wsgi(racer, cookie=f"sessionid={key}").code == 400
    app.rules.store_class.engine.close()
