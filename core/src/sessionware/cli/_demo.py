"""The demo web app behind ``sessionware demo``: a real app on the middleware protocol.

A visit counter, log in / log out (with ``cycle_key``), a cart changed by
nested mutation, and a page that shows how the current session is stored.
It is served by waitress (``pip install sessionware[demo]``) on 127.0.0.1.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import parse_qs

from .._config import SessionConfig
from .._errors import ConfigurationError
from ..http._messages import Request, Response

__all__ = ["make_app", "serve"]

Handler = Callable[[Request], Response]

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
nav a{margin-right:1rem}form{display:inline-block;margin:.25rem 1rem .25rem 0}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
code{background:#f3f3f3;padding:0 .25rem}.muted{color:#777}
"""


def _page(title: str, body: str) -> Response:
    document = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style><nav><a href='/'>Home</a><a href='/cart'>Cart</a>"
        f"<a href='/session'>Session</a></nav><h1>{html.escape(title)}</h1>{body}</html>"
    )
    return Response(document, content_type="text/html; charset=utf-8")


def _redirect(location: str) -> Response:
    return Response(b"", status=303, headers=[("Location", location)], content_type=None)


def _form(request: Request) -> dict[str, str]:
    fields = parse_qs(request.body.decode("utf-8", "replace"), max_num_fields=20)
    return {k: v[0] for k, v in fields.items()}


def home(request: Request) -> Response:
    session = request.session
    session["visits"] = session.get("visits", 0) + 1
    user = session.get("user")
    if user:
        who = (
            f"<p>Logged in as <b>{html.escape(user)}</b>.</p>"
            "<form method=post action=/logout><button>Log out</button></form>"
        )
    else:
        who = (
            "<form method=post action=/login><input name=username placeholder='your name' "
            "required maxlength=40> <button>Log in</button></form>"
        )
    return _page(
        "sessionware demo",
        f"<p>You have visited this page <b id=visits>{session['visits']}</b> time(s) in this "
        f"session.</p>{who}<p class=muted>Logging in calls <code>cycle_key()</code>: the data "
        "stays, the key changes. Logging out calls <code>flush()</code>.</p>",
    )


def login(request: Request) -> Response:
    name = _form(request).get("username", "").strip()[:40]
    if not name:
        return _redirect("/")
    request.session.cycle_key()  # new key on privilege change: no session fixation
    request.session["user"] = name
    return _redirect("/")


def logout(request: Request) -> Response:
    request.session.flush()
    return _redirect("/")


def cart(request: Request) -> Response:
    session = request.session
    if request.method == "POST":
        item = _form(request).get("item", "").strip()[:40]
        if item:
            if "cart" not in session:
                session["cart"] = {"items": [item]}
            else:
                # A nested mutation, no top-level assignment: Django would not save it;
                # sessionware's change detection does.
                session["cart"]["items"].append(item)
        return _redirect("/cart")
    items = session.get("cart", {}).get("items", [])
    rows = "".join(f"<li>{html.escape(str(i))}</li>" for i in items) or "<li class=muted>empty</li>"
    return _page(
        "Cart",
        f"<ul id=items>{rows}</ul><form method=post action=/cart><input name=item required "
        "maxlength=40 placeholder='an item'> <button>Add</button></form>"
        "<p class=muted>Adding appends to <code>session['cart']['items']</code> in place.</p>",
    )


def describe(request: Request, config: SessionConfig) -> Response:
    session = request.session
    key = session.session_key
    engine = session.engine
    rows = {
        "engine": f"{engine.name} ({type(engine).__module__})",
        "serializer": session.serializer.name,
        "session key": (key[:8] + "…")
        if key and engine.capabilities.server_side
        else (f"(the cookie carries the data: {len(key)} characters)" if key else "(none yet)"),
        "data": html.escape(repr(dict(session))),
        "expires": session.get_expiry_date().isoformat(timespec="seconds"),
        "expiry age": f"{session.get_expiry_age()} s",
        "ends with the browser": str(session.get_expire_at_browser_close()),
        "cookie name": config.cookie_name,
        "cookie path / domain": f"{config.cookie_path} / {config.cookie_domain or '(host only)'}",
        "Secure / HttpOnly": f"{config.cookie_secure} / {config.cookie_httponly}",
        "SameSite / Partitioned": f"{config.cookie_samesite} / {config.cookie_partitioned}",
    }
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows.items())
    return _page("This session", f"<table id=session>{table}</table>")


def make_app(config: SessionConfig) -> Any:
    """The demo as a WSGI application using ``config``."""
    from ..http.middleware import SessionMiddleware
    from ..http.wsgi import WSGIApp

    routes: dict[tuple[str, str], Handler] = {
        ("GET", "/"): home,
        ("POST", "/login"): login,
        ("POST", "/logout"): logout,
        ("GET", "/cart"): cart,
        ("POST", "/cart"): cart,
        ("GET", "/session"): lambda r: describe(r, config),
    }

    def handler(request: Request) -> Response:
        view = routes.get((request.method, request.path))
        if view is None:
            known = {path for _, path in routes}
            status = 405 if request.path in known else 404
            return Response("method not allowed" if status == 405 else "not found", status=status)
        return view(request)

    return WSGIApp(handler, middleware=[SessionMiddleware.configured(config=config)])


def serve(config: SessionConfig, *, host: str, port: int, threads: int, out: TextIO) -> int:
    """Serve the demo with waitress until interrupted; returns the exit code."""
    try:
        import waitress
    except ImportError:
        raise ConfigurationError(
            "the demo is served by waitress: pip install 'sessionware[demo]'"
        ) from None
    if config.engine == "db" and "path" not in config.engine_options:
        directory = tempfile.mkdtemp(prefix="sessionware-demo-")
        config = config.replace(
            engine_options={**config.engine_options, "path": os.path.join(directory, "s.sqlite3")}
        )
    if not config.secret_key:
        import secrets

        config = config.replace(secret_key=secrets.token_urlsafe(48))
    app = make_app(config)
    server = waitress.create_server(app, host=host, port=port, threads=threads)
    out.write(
        f"sessionware demo on http://{host}:{server.effective_port}/  "
        f"(engine {config.engine!r} {dict(config.engine_options)}, serializer "
        f"{config.serializer!r}); Ctrl-C stops it\n"
    )
    out.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
