"""SessionConfig: Django's names and defaults, every source, validation naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionware import ConfigurationError, SessionConfig

OLD1 = "old1-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
OLD2 = "old2-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"


def test_defaults_match_django() -> None:
    c = SessionConfig()
    assert (c.cookie_name, c.cookie_age, c.cookie_domain, c.cookie_path) == (
        "sessionid",
        1209600,
        None,
        "/",
    )
    assert (c.cookie_secure, c.cookie_httponly, c.cookie_samesite, c.cookie_partitioned) == (
        False,
        True,
        "Lax",
        False,
    )
    assert (c.save_every_request, c.expire_at_browser_close) == (False, False)
    assert (c.engine, c.serializer, c.secret_key, c.fallback_keys) == ("db", "json", None, ())


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        SessionConfig().cookie_age = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cookie_age", 0),
        ("cookie_age", "soon"),
        ("cookie_age", True),
        ("cookie_name", "bad name;"),
        ("cookie_path", "no-slash"),
        ("cookie_domain", "a;b"),
        ("cookie_samesite", "sometimes"),
        ("cookie_secure", "maybe"),
        ("engine", "no such/engine"),
        ("engine_options", ["path"]),
        ("engine_options", "{not json"),
        ("fallback_keys", 5),
        ("on_unavailable", "ignore"),
        ("secret_key", 123),
    ],
)
def test_invalid_value_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        SessionConfig(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert field in str(info.value)


def test_samesite_none_requires_secure() -> None:
    with pytest.raises(ConfigurationError, match="requires cookie_secure"):
        SessionConfig(cookie_samesite="None")
    assert SessionConfig(cookie_samesite="none", cookie_secure=True).cookie_samesite == "None"


def test_partitioned_requires_secure() -> None:
    with pytest.raises(ConfigurationError, match="cookie_partitioned"):
        SessionConfig(cookie_partitioned=True)


def test_unknown_setting_suggests_the_right_name() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'cookie_age'"):
        SessionConfig.from_mapping({"cookie_ages": 5})


def test_from_mapping() -> None:
    c = SessionConfig.from_mapping({"engine": "file", "engine_options": {"path": "/tmp/s"}})
    assert c.engine == "file" and c.engine_options == {"path": "/tmp/s"}


def test_from_toml_table(tmp_path: Path) -> None:
    path = tmp_path / "sessions.toml"
    path.write_text(
        '[sessionware]\ncookie_age = 60\nengine = "db"\n'
        '[sessionware.engine_options]\npath = "x.db"\n'
    )
    c = SessionConfig.from_toml(path)
    assert c.cookie_age == 60 and c.engine_options == {"path": "x.db"}


def test_from_pyproject_tool_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.sessionware]\ncookie_secure = true\n")
    assert SessionConfig.from_toml(path).cookie_secure is True


@pytest.mark.parametrize(
    ("text", "match"),
    [("[other]\nx=1\n", "no \\[sessionware\\]"), ("not = = toml", "not valid TOML")],
)
def test_bad_toml_is_a_clear_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=match):
        SessionConfig.from_toml(path)


def test_missing_toml_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        SessionConfig.from_toml(tmp_path / "nope.toml")


def test_from_env_parses_types() -> None:
    env = {
        "SESSIONWARE_COOKIE_AGE": "300",
        "SESSIONWARE_COOKIE_SECURE": "true",
        "SESSIONWARE_ENGINE_OPTIONS": '{"path": "s.db"}',
        "SESSIONWARE_FALLBACK_KEYS": f"{OLD1},{OLD2}",
        "SESSIONWARE_COOKIE_SAMESITE": "",
        "UNRELATED": "x",
    }
    c = SessionConfig.from_env(env)
    assert c.cookie_age == 300 and c.cookie_secure is True
    assert c.engine_options == {"path": "s.db"} and c.fallback_keys == (OLD1, OLD2)
    assert c.cookie_samesite is None


def test_from_env_bad_value_names_field() -> None:
    with pytest.raises(ConfigurationError) as info:
        SessionConfig.from_env({"SESSIONWARE_COOKIE_AGE": "two weeks"})
    assert info.value.field == "cookie_age"


def test_load_layers_toml_env_and_kwargs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[sessionware]\ncookie_age = 60\ncookie_name = 'a'\nengine = 'file'\n")
    monkeypatch.setenv("SESSIONWARE_COOKIE_AGE", "120")
    c = SessionConfig.load(toml=path, cookie_name="b")
    assert (c.cookie_age, c.cookie_name, c.engine) == (120, "b", "file")


def test_replace_validates() -> None:
    with pytest.raises(ConfigurationError):
        SessionConfig().replace(cookie_age=-1)


def test_secret_is_not_in_repr() -> None:
    assert "hunter2" not in repr(
        SessionConfig(secret_key="hunter2-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ")
    )
