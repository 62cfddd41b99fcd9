"""``SESSION_ENGINE = "sessionware.django"``: Django's own contract tests, then a real project.

Django's ``SessionTestsMixin`` (from the sdist of the installed Django, see
``django_project/upstream.py``) runs against every server-side engine through
``sessionware.django.SessionStore``. Then the test project (auth, messages,
CSRF token in the session) is served over real HTTP, by waitress (WSGI) and
uvicorn (ASGI), on the db and redis engines.
"""

from __future__ import annotations

import ast
import atexit
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import django
import httpx
import pytest
from django.conf import settings

from sessionware.testing import MemoryEngine, registered

from ..servers import serve_uvicorn, serve_waitress
from ..stores import POSTGRES_URL, drop_postgres_tables, forget_redis_prefix
from .django_project import settings as project_settings
from .django_project import upstream

_TMP = Path(tempfile.mkdtemp(prefix="sessionware-django-"))
atexit.register(shutil.rmtree, _TMP, True)

if settings.configured:  # another module set Django up for its own purpose: say so loudly
    raise RuntimeError(
        "Django settings were configured before tests/integrations/test_django.py; it needs "
        "its own project settings (tests/integrations/django_project/settings.py)"
    )
settings.configure(
    **{
        name: getattr(project_settings, name)
        for name in dir(project_settings)
        if name.isupper() and name != "DATABASES"
    },
    DATABASES={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(_TMP / "auth.sqlite3")}
    },
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402 - needs the settings above
from django.contrib.sessions.backends.db import (  # noqa: E402
    SessionStore as DjangoDbSessionStore,
)
from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import SimpleTestCase, override_settings  # noqa: E402

import sessionware.django  # noqa: E402
from sessionware.django import SessionStore  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "wonderland-42"


def engine_settings(engine: str, redis: str | None = None) -> dict[str, Any]:
    """A ``SESSIONWARE`` setting for ``engine`` on fresh storage."""
    unique = uuid.uuid4().hex[:10]
    if engine == "db":
        return {"engine": "db", "options": {"path": str(_TMP / f"sessions-{unique}.sqlite3")}}
    if engine == "file":
        directory = _TMP / f"files-{unique}"
        directory.mkdir()
        return {"engine": "file", "options": {"path": str(directory)}}
    if engine == "redis":
        assert redis is not None
        return {"engine": "redis", "options": {"url": redis, "prefix": f"djtest-{unique}:"}}
    if engine == "postgres":
        return {"engine": "postgres", "options": {"url": POSTGRES_URL, "table": f"dj_{unique}"}}
    return {"engine": engine}


@contextmanager
def sessionware_setting(conf: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``SESSIONWARE = conf`` in force; a Redis store's keys or a PostgreSQL table are removed
    afterwards."""
    try:
        with override_settings(SESSIONWARE=conf):
            yield conf
    finally:
        if conf["engine"] == "postgres":
            drop_postgres_tables(conf["options"]["table"])
        if conf["engine"] == "redis":
            forget_redis_prefix(conf["options"]["url"], conf["options"]["prefix"])


def engine() -> Any:
    """The engine the settings in force built (what SessionStore stores through)."""
    return sessionware.django._settings._backend().engine


# -- Django's own SessionTestsMixin, through every server-side engine ----------------------

try:
    SessionTestsMixin: Any = upstream.session_tests_mixin()
    UPSTREAM_ERROR = ""
except upstream.Unavailable as exc:  # no network and no cached copy
    SessionTestsMixin = None
    UPSTREAM_ERROR = str(exc)


def test_django_own_session_tests_are_available() -> None:
    """The contract classes below exist only when Django's test file could be fetched."""
    if SessionTestsMixin is None:
        if os.environ.get("CI"):
            pytest.fail(f"Django's SessionTestsMixin is unavailable under CI: {UPSTREAM_ERROR}")
        pytest.skip(UPSTREAM_ERROR)
    assert SessionTestsMixin.__name__ == "SessionTestsMixin"
    assert hasattr(
        SessionTestsMixin,
        "test_session_save_does_not_resurrect_session_logged_out_in_other_context",
    )


class _OnEngine:
    """Binds ``sessionware.django.SessionStore`` to ``engine`` for one test class."""

    engine: ClassVar[str]
    backend = SessionStore

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _sessionware_engine(cls, request: pytest.FixtureRequest) -> Iterator[None]:
        url = request.getfixturevalue("redis") if cls.engine == "redis" else None
        with sessionware_setting(engine_settings(cls.engine, url)):
            yield


if SessionTestsMixin is not None:

    class TestDjangoContractDb(_OnEngine, SessionTestsMixin, SimpleTestCase):
        engine = "db"

    class TestDjangoContractFile(_OnEngine, SessionTestsMixin, SimpleTestCase):
        engine = "file"

    class TestDjangoContractCache(_OnEngine, SessionTestsMixin, SimpleTestCase):
        engine = "cache"

    class TestDjangoContractRedis(_OnEngine, SessionTestsMixin, SimpleTestCase):
        engine = "redis"

    class TestDjangoContractPostgres(_OnEngine, SessionTestsMixin, SimpleTestCase):
        engine = "postgres"


# -- the test project over real HTTP -------------------------------------------------------


@pytest.fixture(scope="session")
def alice() -> str:
    """The auth tables migrated and a user made (the auth database, not the session store)."""
    call_command("migrate", verbosity=0, interactive=False)
    User.objects.create_user("alice", password=PASSWORD)
    return "alice"


@pytest.fixture(params=["db", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """``SESSIONWARE`` in force for one test, on fresh storage of the engine."""
    url = request.getfixturevalue("redis") if request.param == "redis" else None
    with sessionware_setting(engine_settings(request.param, url)) as conf:
        yield conf


@pytest.fixture
def wsgi(store: dict[str, Any], alice: str) -> Iterator[str]:
    with serve_waitress(WSGIHandler()) as url:
        yield url


@pytest.fixture
def asgi(store: dict[str, Any], alice: str) -> Iterator[str]:
    with serve_uvicorn(ASGIHandler()) as url:
        yield url


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """``name -> the whole Set-Cookie line`` of a response."""
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


def session_cookie(response: httpx.Response) -> str:
    line = set_cookies(response)["sessionid"]
    return line.split(";", 1)[0].split("=", 1)[1]


def security_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.name.startswith(("sessionware", "django.security"))
    ]


def stored_ttl(conf: dict[str, Any], key: str) -> float:
    """Seconds the engine will keep ``key``, read from the storage itself."""
    if conf["engine"] == "db":
        with sqlite3.connect(conf["options"]["path"]) as conn:
            (expires_at,) = conn.execute(
                "SELECT expires_at FROM sessionware_session WHERE session_key = ?", (key,)
            ).fetchone()
        return float(expires_at) - time.time()
    import redis as redis_py

    client = redis_py.Redis.from_url(conf["options"]["url"])
    try:
        return int(client.pttl(conf["options"]["prefix"] + key)) / 1000
    finally:
        client.close()


@pytest.mark.http
def test_login_rotates_the_key_and_logout_deletes_the_session(
    wsgi: str, caplog: pytest.LogCaptureFixture
) -> None:
    with httpx.Client(base_url=wsgi) as client:
        before = session_cookie(client.post("/put/theme/dark"))
        response = client.post("/login", data={"username": "alice", "password": PASSWORD})
        assert response.status_code == 200
        after = session_cookie(response)
        assert after != before
        assert not SessionStore().exists(before)  # the pre-login key is gone from the store
        assert client.get("/session").json() == {"data": {"theme": "dark"}, "user": "alice"}

        response = client.post("/logout")
        assert response.status_code == 200
        assert 'sessionid=""' in set_cookies(response)["sessionid"]
        assert "Max-Age=0" in set_cookies(response)["sessionid"]
        assert not SessionStore().exists(after)
        client.cookies.set("sessionid", after)  # replaying the old cookie does not log in
        assert client.get("/session").json() == {"data": {}, "user": ""}
    assert security_records(caplog) == []


@pytest.mark.http
def test_async_views_log_in_and_out_under_asgi(asgi: str, caplog: pytest.LogCaptureFixture) -> None:
    with httpx.Client(base_url=asgi) as client:
        before = session_cookie(client.post("/async/put/theme/dark"))
        response = client.post("/async/login", data={"username": "alice", "password": PASSWORD})
        assert response.status_code == 200
        after = session_cookie(response)
        assert after != before
        assert not SessionStore().exists(before)
        assert client.get("/async/session").json() == {"data": {"theme": "dark"}, "user": "alice"}
        response = client.post("/async/logout")
        assert "Max-Age=0" in set_cookies(response)["sessionid"]
        assert not SessionStore().exists(after)
        assert client.get("/async/session").json() == {"data": {}, "user": ""}
    assert security_records(caplog) == []


@pytest.mark.http
def test_messages_in_the_session_survive_a_redirect(wsgi: str) -> None:
    with httpx.Client(base_url=wsgi) as client:
        response = client.post("/flash", data={"text": "Profile saved"})
        assert response.status_code == 302
        assert response.headers["location"] == "/messages"
        assert client.get("/messages").json() == {"messages": ["Profile saved"]}
        assert client.get("/messages").json() == {"messages": []}  # shown once


@pytest.mark.http
def test_csrf_token_kept_in_the_session_round_trips(wsgi: str) -> None:
    with httpx.Client(base_url=wsgi) as client:
        response = client.get("/form")
        token = response.text
        assert "csrftoken" not in set_cookies(response)  # CSRF_USE_SESSIONS: no CSRF cookie
        assert "sessionid" in set_cookies(response)
        ok = client.post("/form", data={"csrfmiddlewaretoken": token})
        assert (ok.status_code, ok.text) == (200, "accepted")
        forged = client.post("/form", data={"csrfmiddlewaretoken": "x" * 64})
        assert forged.status_code == 403
    with httpx.Client(base_url=wsgi) as stranger:  # a token without its session is refused
        assert stranger.post("/form", data={"csrfmiddlewaretoken": token}).status_code == 403


@pytest.mark.http
def test_session_cookie_age_sets_max_age_and_the_stored_expiry(
    wsgi: str, store: dict[str, Any]
) -> None:
    with override_settings(SESSION_COOKIE_AGE=600), httpx.Client(base_url=wsgi) as client:
        response = client.post("/put/a/b")
        assert "Max-Age=600" in set_cookies(response)["sessionid"]
        assert 590 < stored_ttl(store, session_cookie(response)) <= 600


@pytest.mark.http
def test_set_expiry_overrides_the_cookie_age_for_one_session(
    wsgi: str, store: dict[str, Any]
) -> None:
    with httpx.Client(base_url=wsgi) as client:
        response = client.post("/put/a/b", params={"expiry": "120"})
        assert "Max-Age=120" in set_cookies(response)["sessionid"]
        assert 110 < stored_ttl(store, session_cookie(response)) <= 120


@pytest.mark.http
def test_expire_at_browser_close_sends_a_browser_session_cookie(
    wsgi: str, store: dict[str, Any]
) -> None:
    with (
        override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=True, SESSION_COOKIE_AGE=900),
        httpx.Client(base_url=wsgi) as client,
    ):
        response = client.post("/put/a/b")
        line = set_cookies(response)["sessionid"]
        assert "Max-Age" not in line
        assert "expires" not in line.lower()
        # the server still forgets it after SESSION_COOKIE_AGE, as Django's backends do
        assert 890 < stored_ttl(store, session_cookie(response)) <= 900


@pytest.mark.http
def test_save_every_request_renews_the_cookie_on_a_read(wsgi: str) -> None:
    with override_settings(SESSION_SAVE_EVERY_REQUEST=True), httpx.Client(base_url=wsgi) as client:
        key = session_cookie(client.post("/put/a/b"))
        response = client.get("/session")
        assert session_cookie(response) == key
        assert "Max-Age=1209600" in set_cookies(response)["sessionid"]
    # A stale cookie on a page whose view never reads the session: CSRF_USE_SESSIONS has read
    # it (empty), so the cookie is dropped; never the 400 of a session lost mid-request.
    with override_settings(SESSION_SAVE_EVERY_REQUEST=True), httpx.Client(base_url=wsgi) as client:
        client.cookies.set("sessionid", sessionware.new_session_key())
        response = client.get("/static")
        assert response.status_code == 200
        assert "Max-Age=0" in set_cookies(response)["sessionid"]


@pytest.mark.http
def test_a_session_deleted_by_a_concurrent_request_answers_400(wsgi: str) -> None:
    with httpx.Client(base_url=wsgi) as client:
        client.post("/put/a/b")
        response = client.post("/race")
        assert response.status_code == 400  # Django's SessionInterrupted, never a resurrection
        assert client.get("/session").json()["data"] == {}


def bad_cookies(conf: dict[str, Any]) -> dict[str, str]:
    """Cookie values a client may send that name no live session of this store."""
    eng = engine()
    expired = sessionware.new_session_key()
    eng.save(expired, b'{"stale":true}', time.time() - 10, must_create=True)
    legacy = DjangoDbSessionStore()  # a session of Django's own db backend (migration)
    legacy["legacy"] = True
    legacy.save()
    return {
        "never issued": sessionware.new_session_key(),
        "expired": expired,
        "Django's db backend": legacy.session_key,
        "path traversal": "..%2F..%2Fetc%2Fpasswd",
        "uppercase": "A" * 32,
        "too short": "abc",
        "too long": "a" * 3000,
        "punctuation": "%%%;,'",
        "quoted": '"' + "b" * 32 + '"',
    }


@pytest.mark.http
def test_bad_cookies_get_an_empty_session_never_an_error(wsgi: str, store: dict[str, Any]) -> None:
    for label, value in bad_cookies(store).items():
        with httpx.Client(base_url=wsgi) as client:
            client.cookies.set("sessionid", value)
            response = client.get("/session")
            assert response.status_code == 200, label
            assert response.json() == {"data": {}, "user": ""}, label
            response = client.post("/put/a/b")
            assert response.status_code == 200, label
            fresh = session_cookie(response)
            assert fresh != value, label
            assert SessionStore(fresh).load() == {"a": "b"}, label


@pytest.mark.http
def test_undecodable_data_is_an_empty_session_logged_as_django_does(
    wsgi: str, caplog: pytest.LogCaptureFixture
) -> None:
    key = sessionware.new_session_key()
    engine().save(key, b"\xff{not json", time.time() + 60, must_create=True)
    with httpx.Client(base_url=wsgi) as client:
        client.cookies.set("sessionid", key)
        response = client.get("/session")
    assert response.status_code == 200
    assert response.json()["data"] == {}
    corrupted = [r for r in caplog.records if r.name == "django.security.SuspiciousSession"]
    assert len(corrupted) == 1
    assert "Session data corrupted" in corrupted[0].getMessage()


# -- clearsessions --------------------------------------------------------------------------


def _rows(conf: dict[str, Any]) -> set[str]:
    with sqlite3.connect(conf["options"]["path"]) as conn:
        return {k for (k,) in conn.execute("SELECT session_key FROM sessionware_session")}


def _live_and_expired() -> tuple[str, str]:
    live = SessionStore()
    live["user"] = "alice"
    live.save()
    expired = sessionware.new_session_key()
    engine().save(expired, b"{}", time.time() - 10, must_create=True)
    return live.session_key, expired


def test_clearsessions_purges_expired_sessions_through_the_engine() -> None:
    conf = engine_settings("db")
    with override_settings(SESSIONWARE=conf):
        live, expired = _live_and_expired()
        assert _rows(conf) == {live, expired}
        out, err = io.StringIO(), io.StringIO()
        call_command("clearsessions", stdout=out, stderr=err)
        assert _rows(conf) == {live}
        assert (out.getvalue(), err.getvalue()) == ("", "")


@pytest.mark.slow
def test_manage_py_clearsessions_in_a_fresh_process() -> None:
    conf = engine_settings("db")
    with override_settings(SESSIONWARE=conf):
        live, _ = _live_and_expired()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": project_settings.__name__,
        "DJANGO_PROJECT_SESSIONWARE": json.dumps(conf),
        "DJANGO_PROJECT_DB": str(_TMP / "auth.sqlite3"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "django", "clearsessions"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert _rows(conf) == {live}


def test_clearsessions_is_a_quiet_no_op_on_an_engine_that_expires_by_itself(redis: str) -> None:
    with sessionware_setting(engine_settings("redis", redis)):
        live, _ = _live_and_expired()
        out, err = io.StringIO(), io.StringIO()
        call_command("clearsessions", stdout=out, stderr=err)
        assert (out.getvalue(), err.getvalue()) == ("", "")
        assert SessionStore.clear_expired() == 0
        assert SessionStore(live).load() == {"user": "alice"}


# -- configuration ---------------------------------------------------------------------------


def _build_with(**overrides: Any) -> None:
    with override_settings(**overrides):
        SessionStore().exists(sessionware.new_session_key())


def test_unknown_engine_is_improperly_configured_with_sessionwares_message() -> None:
    with pytest.raises(ImproperlyConfigured, match="no engine named 'memcached'"):
        _build_with(SESSIONWARE={"engine": "memcached"})


def test_bad_engine_option_is_improperly_configured() -> None:
    with pytest.raises(ImproperlyConfigured, match="pathh"):
        _build_with(SESSIONWARE={"engine": "db", "options": {"pathh": "x.sqlite3"}})


@pytest.mark.parametrize(
    ("key", "django_name"),
    [
        ("cookie_age", "SESSION_COOKIE_AGE"),
        ("expire_at_browser_close", "SESSION_EXPIRE_AT_BROWSER_CLOSE"),
        ("secret_key", "SECRET_KEY"),
    ],
)
def test_a_django_setting_repeated_in_sessionware_is_refused(key: str, django_name: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"set {django_name} instead"):
        _build_with(SESSIONWARE={"engine": "cache", key: 1})


def test_a_secret_in_engine_options_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="Django's SECRET_KEY"):
        _build_with(SESSIONWARE={"engine": "signed_cookies", "options": {"secret_key": "x" * 50}})


def test_unknown_sessionware_key_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="unknown key 'engin'"):
        _build_with(SESSIONWARE={"engin": "db"})


def test_a_custom_session_serializer_is_refused_with_the_fix() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"SESSIONWARE\['serializer'\]"):
        _build_with(SESSION_SERIALIZER="myapp.serializers.YAMLSerializer")


def test_the_engine_is_built_once_and_rebuilt_when_its_setting_changes() -> None:
    with override_settings(SESSIONWARE={"engine": "cache"}):
        first = engine()
        assert engine() is first
        with override_settings(SESSIONWARE={"engine": "cache", "options": {"maxsize": 5}}):
            assert engine() is not first
            assert engine().maxsize == 5
        assert engine() is not first  # rebuilt again from the restored setting


def test_signing_serializer_uses_secret_key_and_its_fallbacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conf = {**engine_settings("db"), "serializer": "signed"}
    old, new = "old-secret-" + "o" * 40, "new-secret-" + "n" * 40
    with override_settings(SESSIONWARE=conf, SECRET_KEY=old):
        session = SessionStore()
        session["user"] = "alice"
        session.save()
        key = session.session_key
    with override_settings(SESSIONWARE=conf, SECRET_KEY=new, SECRET_KEY_FALLBACKS=[old]):
        assert SessionStore(key).load() == {"user": "alice"}
        assert caplog.records == []
    with override_settings(SESSIONWARE=conf, SECRET_KEY=new, SECRET_KEY_FALLBACKS=[]):
        fresh = SessionStore(key)
        assert fresh.load() == {}
        assert fresh.session_key is None
    assert [r.name for r in caplog.records] == ["django.security.SuspiciousSession"]


def test_signed_cookies_engine_keeps_the_session_in_the_key() -> None:
    with override_settings(SESSIONWARE={"engine": "signed_cookies"}):
        session = SessionStore()
        session["user"] = "alice"
        session.save()
        cookie = session.session_key
        assert cookie is not None and len(cookie) > 32
        assert SessionStore(cookie).load() == {"user": "alice"}
        assert SessionStore(cookie[:-2] + "xx").load() == {}


def test_a_cookie_session_too_large_for_browsers_is_refused_at_save() -> None:
    with override_settings(SESSIONWARE={"engine": "signed_cookies"}):
        session = SessionStore()
        session["blob"] = secrets.token_hex(3000)  # random: compression cannot save it
        with pytest.raises(sessionware.CookieTooLarge, match="4096"):
            session.save()


def test_the_core_imports_without_django_and_the_integration_says_what_to_install() -> None:
    script = (
        "import sys; sys.modules['django'] = None\n"
        "import sessionware, sessionware.http.wsgi, sessionware.http.asgi, sessionware.cli\n"
        "try:\n"
        "    import sessionware.django\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "sessionware[django]"' in done.stdout


def test_only_the_django_package_imports_django() -> None:
    package = Path(sessionware.__file__).parent
    importers = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(n == "django" or n.startswith("django.") for n in names):
                importers.append(str(path.relative_to(package)))
    assert importers, "the Django integration imports Django somewhere"
    assert all(path.startswith("django/") for path in importers), sorted(set(importers))


# -- keys, storage access and logs -------------------------------------------------------------


@pytest.fixture
def counted() -> Iterator[MemoryEngine]:
    """The kit's engine selected by name through SESSIONWARE; its ``calls`` show storage access."""
    with (
        registered(MemoryEngine),
        override_settings(SESSIONWARE={"engine": MemoryEngine.name}),
    ):
        built = engine()
        assert isinstance(built, MemoryEngine)
        yield built


@pytest.mark.parametrize(
    "key", ["A" * 32, "../../etc/passwd", "a" * 200, "12345678", "0" * 31, "ключ" * 8]
)
def test_a_key_the_engine_cannot_hold_never_reaches_storage(
    counted: MemoryEngine, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    session = SessionStore(key)
    assert session.load() == {}
    assert session.session_key is None
    assert session.exists(key) is False
    session.delete(key)
    assert counted.calls == []
    assert [r.name for r in caplog.records] == ["django.security.SuspiciousSession"]
    assert "refused before any storage access" in caplog.records[0].getMessage()


@pytest.mark.parametrize("key", [None, ""])
def test_no_key_logs_nothing_on_load_flush_or_logout(
    counted: MemoryEngine, key: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    session = SessionStore(key)
    assert session.get("user") is None
    session.flush()
    session.delete()
    assert counted.calls == []
    assert caplog.records == []


def test_create_retries_when_a_new_key_is_taken(counted: MemoryEngine) -> None:
    taken = sessionware.new_session_key()
    counted.save(taken, b"{}", time.time() + 60, must_create=True)
    fresh = sessionware.new_session_key()
    keys = iter([taken, fresh])
    original = sessionware.django._store.new_session_key
    sessionware.django._store.new_session_key = lambda: next(keys)
    try:
        session = SessionStore()
        session["a"] = 1
        session.save()
    finally:
        sessionware.django._store.new_session_key = original
    assert session.session_key == fresh
    assert counted.load(taken) == b"{}"  # the other session was not overwritten


def test_saving_a_session_that_is_gone_raises_djangos_update_error(
    counted: MemoryEngine,
) -> None:
    from django.contrib.sessions.backends.base import UpdateError

    with pytest.raises(UpdateError):  # never read before: the save's own load finds it gone
        SessionStore(sessionware.new_session_key()).save()
    assert counted.data == {}


def test_must_create_on_a_taken_key_raises_djangos_create_error(counted: MemoryEngine) -> None:
    from django.contrib.sessions.backends.base import CreateError

    session = SessionStore()
    session.save()
    again = SessionStore(session.session_key)
    with pytest.raises(CreateError):
        again.save(must_create=True)


@pytest.mark.http
def test_moving_from_djangos_db_backend_logs_users_out_without_errors(
    store: dict[str, Any], alice: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A cookie issued by Django's db backend names no session in the new store."""
    with (
        override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db"),
        serve_waitress(WSGIHandler()) as before,
        httpx.Client(base_url=before) as client,
    ):
        client.post("/put/theme/dark")
        client.post("/login", data={"username": "alice", "password": PASSWORD})
        assert client.get("/session").json()["user"] == "alice"
        old = client.cookies["sessionid"]
    with serve_waitress(WSGIHandler()) as after, httpx.Client(base_url=after) as client:
        client.cookies.set("sessionid", old)
        response = client.get("/session")
        assert response.status_code == 200
        assert response.json() == {"data": {}, "user": ""}  # logged out, data left behind
        assert "Max-Age=0" in set_cookies(response)["sessionid"]  # the stale cookie is dropped
        assert client.post("/login", data={"username": "alice", "password": PASSWORD}).is_success
        assert client.get("/session").json()["user"] == "alice"
    assert security_records(caplog) == []  # an unknown key is not an attack


async def test_sync_session_io_on_the_event_loop_is_refused_as_djangos_orm_does() -> None:
    with override_settings(SESSIONWARE=engine_settings("db")):
        session = SessionStore()
        await session.aset("user", "alice")
        await session.asave()
        with pytest.raises(SynchronousOnlyOperation, match="async twins"):
            SessionStore(session.session_key)["user"]
        assert await SessionStore(session.session_key).aget("user") == "alice"
        assert await SessionStore(session.session_key).aexists(session.session_key)
        await SessionStore(session.session_key).aflush()
        assert not await SessionStore().aexists(session.session_key)


# -- concurrent requests on one session (issue 12): merged, never lost -----------------------

_rendezvous: dict[str, Any] = {}


def _race_set(request: Any, name: str) -> Any:
    """Load the session, wait until the other request has loaded it too, then set ``name``."""
    from django.http import HttpResponse

    request.session.get("start")  # loaded: both requests now hold the same version
    _rendezvous["barrier"].wait(5)
    if name == "cart" and "flushed" in _rendezvous:  # the logout test: save after it
        _rendezvous["flushed"].wait(5)
    request.session[name] = True
    return HttpResponse("ok")


def _race_logout(request: Any) -> Any:
    from django.http import HttpResponse

    request.session.get("start")
    _rendezvous["barrier"].wait(5)
    request.session.flush()
    _rendezvous["flushed"].set()
    return HttpResponse("logged out")


def _race_urls() -> list[Any]:
    from django.urls import path

    return [path("race/set/<str:name>", _race_set), path("race/logout", _race_logout)]


urlpatterns = _race_urls()  # this module is the ROOT_URLCONF of the race tests


def _concurrently(*calls: Any) -> list[Any]:
    import threading

    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def _client(key: str) -> Any:
    from django.test import Client

    client = Client()
    client.cookies["sessionid"] = key
    return client


@pytest.mark.parametrize("engine_name", ["db", "file"])
def test_two_concurrent_requests_setting_different_keys_both_survive(engine_name: str) -> None:
    import threading

    with (
        sessionware_setting(engine_settings(engine_name)),
        override_settings(ROOT_URLCONF=__name__),
    ):
        session = SessionStore()
        session["start"] = True
        session.create()
        key = session.session_key
        _rendezvous.clear()
        _rendezvous["barrier"] = threading.Barrier(2)
        cart, views = _concurrently(
            lambda: _client(key).post("/race/set/cart"),
            lambda: _client(key).post("/race/set/views"),
        )
        assert (cart.status_code, views.status_code) == (200, 200)
        assert dict(SessionStore(key).items()) == {"start": True, "cart": True, "views": True}


def test_a_logout_racing_an_update_ends_logged_out() -> None:
    import threading

    with sessionware_setting(engine_settings("db")), override_settings(ROOT_URLCONF=__name__):
        session = SessionStore()
        session.update({"start": True, "_auth_user_id": "1"})
        session.create()
        key = session.session_key
        _rendezvous.clear()
        _rendezvous["barrier"] = threading.Barrier(2)
        _rendezvous["flushed"] = threading.Event()  # the update saves after the logout
        update, logout = _concurrently(
            lambda: _client(key).post("/race/set/cart"), lambda: _client(key).post("/race/logout")
        )
        assert logout.status_code == 200
        assert update.status_code == 400  # Django's SessionInterrupted: not resurrected
        assert not SessionStore().exists(key)
        assert dict(SessionStore(key).items()) == {}
