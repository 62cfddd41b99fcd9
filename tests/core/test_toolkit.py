"""The engine-author toolkit: the fork hook, OptionChecker and the serializer walks."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import types
import warnings
from collections import namedtuple
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

import pytest

import sessionware
from sessionware import (
    ConfigurationError,
    EngineBase,
    OptionChecker,
    SerializationError,
    Unencodable,
    find_unencodable,
    hookimpl,
    input_bytes,
    is_plain_data,
    register_after_fork,
    storage_advice,
)
from sessionware._plugins import host

STRONG = "toolkit-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF"

# -- the fork hook ---------------------------------------------------------------


class _Resetting(EngineBase):
    name: ClassVar[str] = "resetting"

    def __init__(self, *, label: str = "x") -> None:
        self.label = label
        self.generation = "parent"

    def after_fork_in_child(self) -> None:
        self.generation = "child"


class _Plain(EngineBase):
    name: ClassVar[str] = "plain"


class _Failing(EngineBase):
    name: ClassVar[str] = "failing"

    def after_fork_in_child(self) -> None:
        raise RuntimeError("cannot reset")


class _NotAnEngineBase:
    def __init__(self) -> None:
        self.generation = "parent"

    def after_fork_in_child(self) -> None:
        self.generation = "child"


def in_child(check: Callable[[], bool]) -> int:
    """Run ``check`` in a forked child; its exit code (0: the check held)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads, 3.12+
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            code = 0 if check() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
def test_the_child_calls_the_hook_of_every_live_engine_that_overrides_it() -> None:
    first, second = _Resetting(), _Resetting(label="y")
    assert in_child(lambda: (first.generation, second.generation) == ("child", "child")) == 0
    assert (first.generation, second.generation) == ("parent", "parent")


@needs_fork
def test_a_failing_hook_does_not_stop_the_others() -> None:
    failing, engine = _Failing(), _Resetting()
    assert in_child(lambda: engine.generation == "child") == 0
    assert failing is not None


class _HalfBuilt(EngineBase):
    """Its __init__ raises (a bad option); its hook and repr read what __init__ never set."""

    name: ClassVar[str] = "half_built"

    def __init__(self) -> None:
        raise ValueError("bad option")

    def after_fork_in_child(self) -> None:
        self.conn.close()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"<half {self.conn}>"  # type: ignore[attr-defined]


@needs_fork
def test_an_engine_whose_init_raised_does_not_stop_the_others() -> None:
    with pytest.raises(ValueError) as caught:  # keeps the half-built engine alive
        _HalfBuilt()
    engine = _Resetting()
    assert in_child(lambda: engine.generation == "child") == 0
    assert caught.value is not None


@needs_fork
def test_an_object_registered_by_hand_is_reset_too() -> None:
    obj = _NotAnEngineBase()
    register_after_fork(obj)
    register_after_fork(obj)  # twice is harmless
    assert in_child(lambda: obj.generation == "child") == 0


def test_only_engines_that_override_the_hook_are_visited() -> None:
    from sessionware._fork import AFTER_FORK

    plain, resetting = _Plain(), _Resetting()
    assert plain not in AFTER_FORK
    assert resetting in AFTER_FORK


def test_a_dropped_engine_is_forgotten() -> None:
    from sessionware._fork import AFTER_FORK

    gc.collect()  # engines other tests left for the collector
    before = len(AFTER_FORK)
    engine = _Resetting()
    assert len(AFTER_FORK) == before + 1
    del engine
    gc.collect()
    assert len(AFTER_FORK) == before


def test_the_fork_hook_leaves_constructor_signatures_alone() -> None:
    assert list(inspect.signature(_Resetting).parameters) == ["label"]
    assert list(inspect.signature(_Plain).parameters) == []
    assert _Resetting(label="z").label == "z"
    with pytest.raises(TypeError, match="takes no options"):
        _Plain(size=3)


def test_get_engine_still_refuses_options_an_engine_does_not_take() -> None:
    plugin = types.ModuleType("toolkit_plain_plugin")

    @hookimpl
    def register_engines(register: Callable[[type[Any]], None]) -> None:
        register(_Plain)

    plugin.register_engines = register_engines  # type: ignore[attr-defined]
    host.register(plugin, name="toolkit_plain_plugin")
    try:
        assert isinstance(sessionware.get_engine("plain"), _Plain)
        with pytest.raises(ConfigurationError, match=r"unknown option.*'size'"):
            sessionware.get_engine("plain", size=3)
    finally:
        host.unregister("toolkit_plain_plugin")


def test_an_engine_is_a_context_manager_that_closes() -> None:
    closed: list[bool] = []

    class Closing(_Plain):
        def close(self) -> None:
            closed.append(True)

    with Closing() as engine:
        assert isinstance(engine, Closing)
    assert closed == [True]


# -- OptionChecker ---------------------------------------------------------------

engine_checks = OptionChecker("mine", "engine")
serializer_checks = OptionChecker("mine", "serializer")


def refusal(check: Callable[[], object]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        check()
    return info.value


def test_every_error_has_one_shape_and_names_the_option() -> None:
    error = engine_checks.error("table", "'x y' is not a table name")
    assert str(error) == "mine engine option 'table': 'x y' is not a table name"
    assert error.field == "engine_options.table"
    error = serializer_checks.error("depth", "too deep")
    assert str(error) == "mine serializer option 'depth': too deep"
    assert error.field == "serializer_options.depth"


def test_the_kind_is_engine_or_serializer() -> None:
    with pytest.raises(ValueError, match="kind"):
        OptionChecker("mine", "cache")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -1, 2.5, "3", None, True, [1]])
def test_integer_refuses_what_is_not_a_positive_int(value: Any) -> None:
    error = refusal(lambda: engine_checks.integer("size", value, what="sessions kept"))
    assert str(error) == (
        f"mine engine option 'size': expected a positive int (sessions kept), got {value!r}"
    )
    assert error.field == "engine_options.size"


def test_integer_bounds_and_none() -> None:
    assert engine_checks.integer("n", 5) == 5
    assert engine_checks.integer("n", 0, minimum=0) == 0
    assert engine_checks.integer("n", None, allow_none=True) is None
    assert "an int from 1 to 65535 (a TCP port)" in str(
        refusal(lambda: engine_checks.integer("port", 70000, maximum=65535, what="a TCP port"))
    )
    assert "a non-negative int or None, got -1" in str(
        refusal(lambda: engine_checks.integer("n", -1, minimum=0, allow_none=True))
    )
    assert "an int >= 3" in str(refusal(lambda: engine_checks.integer("n", 2, minimum=3)))


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "2", True, None])
def test_seconds_refuses_what_is_not_a_positive_finite_number(value: Any) -> None:
    error = refusal(lambda: engine_checks.seconds("timeout", value))
    assert "expected a positive number of seconds, got" in str(error)


def test_seconds_returns_a_float_and_takes_zero_and_none_when_asked() -> None:
    assert engine_checks.seconds("t", 2) == 2.0
    assert isinstance(engine_checks.seconds("t", 2), float)
    assert engine_checks.seconds("t", 0, allow_zero=True) == 0.0
    assert engine_checks.seconds("t", None, allow_none=True) is None
    assert "a non-negative number of seconds or None (no limit)" in str(
        refusal(lambda: engine_checks.seconds("t", -1, allow_zero=True, allow_none=True))
    )


def test_boolean_takes_only_true_and_false() -> None:
    assert engine_checks.boolean("on", True) is True
    assert engine_checks.boolean("on", None, allow_none=True) is None
    assert str(refusal(lambda: engine_checks.boolean("on", 1))).endswith(
        "expected True or False, got 1"
    )
    assert "expected True, False or None, got 'yes'" in str(
        refusal(lambda: engine_checks.boolean("on", "yes", allow_none=True))
    )


def test_one_of_returns_the_choice_as_listed() -> None:
    assert engine_checks.one_of("mode", "FULL", ("NORMAL", "FULL")) == "FULL"
    assert engine_checks.one_of("mode", "full", ("NORMAL", "FULL"), ignore_case=True) == "FULL"
    assert "expected one of NORMAL, FULL, got 'full'" in str(
        refusal(lambda: engine_checks.one_of("mode", "full", ("NORMAL", "FULL")))
    )
    assert "got 3" in str(refusal(lambda: engine_checks.one_of("mode", 3, ("A",))))


def test_text_is_non_empty_unless_asked_and_hides_secrets() -> None:
    assert engine_checks.text("salt", "s") == "s"
    assert engine_checks.text("user", "", allow_empty=True) == ""
    assert engine_checks.text("user", None, allow_none=True) is None
    assert "expected a non-empty str, got ''" in str(
        refusal(lambda: engine_checks.text("salt", ""))
    )
    error = refusal(lambda: engine_checks.text("password", b"hunter2", secret=True))
    assert "hunter2" not in str(error)
    assert "got bytes" in str(error)


def test_a_long_value_is_cut_in_the_message() -> None:
    error = refusal(lambda: engine_checks.text("salt", ["x" * 500]))
    assert len(str(error)) < 200
    assert str(error).endswith("...")


def test_file_that_must_exist(tmp_path: Path) -> None:
    cert = tmp_path / "ca.pem"
    cert.write_text("x")
    assert engine_checks.file("ca", cert) == str(cert)
    assert engine_checks.file("ca", None, allow_none=True) is None
    assert "does not exist or is not a file" in str(
        refusal(lambda: engine_checks.file("ca", tmp_path / "missing.pem"))
    )
    assert "expected a file path (str or Path), got 42" in str(
        refusal(lambda: engine_checks.file("ca", 42))
    )


def test_file_to_be_created_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert engine_checks.file("path", "new.db", must_exist=False) == str(tmp_path / "new.db")
    missing = tmp_path / "nope" / "new.db"
    assert f"the directory {missing.parent} (for {missing}) does not exist" in str(
        refusal(lambda: engine_checks.file("path", missing, must_exist=False))
    )
    error = refusal(
        lambda: engine_checks.file("path", tmp_path, must_exist=False, what="database file")
    )
    assert "is a directory; name a database file in it" in str(error)


def test_directory(tmp_path: Path) -> None:
    assert engine_checks.directory("path", tmp_path) == str(tmp_path)
    missing = tmp_path / "nope"
    error = refusal(lambda: engine_checks.directory("path", missing))
    assert f"mkdir -p -m 700 {missing}" in str(error)
    assert not missing.exists()
    regular = tmp_path / "file"
    regular.write_text("")
    assert "is not a directory" in str(refusal(lambda: engine_checks.directory("path", regular)))
    assert "expected a directory path" in str(refusal(lambda: engine_checks.directory("path", "")))


@pytest.mark.parametrize("secret", [None, "", b""])
def test_a_missing_secret_key_says_how_to_set_it(secret: Any) -> None:
    error = refusal(lambda: serializer_checks.secret_key(secret))
    assert "the mine serializer needs secret_key" in str(error)
    assert "SESSIONWARE_SECRET_KEY" in str(error)
    assert error.field == "secret_key"


def test_secret_key_and_fallback_keys_are_held_to_the_one_rule() -> None:
    assert engine_checks.secret_key(STRONG) == STRONG
    assert engine_checks.fallback_keys([STRONG]) == (STRONG,)
    assert "too weak" in str(refusal(lambda: engine_checks.secret_key("short")))
    assert refusal(lambda: engine_checks.secret_key(42)).field == "secret_key"
    weak = refusal(lambda: engine_checks.fallback_keys([STRONG, "short"]))
    assert "fallback_keys[1] is too weak" in str(weak)
    assert STRONG not in str(weak)
    assert "wrap a single key in a list" in str(
        refusal(lambda: engine_checks.fallback_keys(STRONG))
    )
    empty = refusal(lambda: engine_checks.fallback_keys([STRONG, ""]))
    assert "fallback_keys[1] must be a non-empty str or bytes, got an empty str" in str(empty)
    assert empty.field == "fallback_keys"
    assert STRONG not in str(empty)


# -- the serializer walks -------------------------------------------------------

SCALARS: frozenset[type] = frozenset({str, int, bool, type(None)})


def json_accepts(value: object) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    return isinstance(value, float) and value == value and abs(value) != float("inf")


def test_plain_data_is_recognised() -> None:
    data = {"a": 1, "b": [1.5, "x", None, True, {"c": []}]}
    assert is_plain_data(data, SCALARS, 4) is True


@pytest.mark.parametrize(
    "data",
    [
        {1: "x"},
        {"a": (1, 2)},
        {"a": float("nan")},
        {"a": [float("inf")]},
        {"a": b"bytes"},
        {"a": {"b": {"c": {}}}},  # four containers, max_depth 3
        {"a": type("Sub", (str,), {})("x")},
    ],
)
def test_anything_unusual_is_not_plain(data: dict[Any, Any]) -> None:
    assert is_plain_data(data, SCALARS, 3) is False


def test_a_cycle_is_not_plain_and_does_not_loop() -> None:
    data: dict[str, Any] = {"a": []}
    data["a"].append(data)
    assert is_plain_data(data, SCALARS, 100) is False


def test_float_among_the_scalars_skips_the_finiteness_check() -> None:
    assert is_plain_data({"a": float("nan")}, SCALARS | {float}, 2) is True


def test_nothing_to_refuse_is_none() -> None:
    assert find_unencodable({"a": [1, {"b": "c"}], "d": None}, json_accepts) is None


def test_a_refused_value_is_found_with_its_path_and_type() -> None:
    when = datetime.now(UTC)
    found = find_unencodable({"a": [0, {"b": when}]}, json_accepts)
    assert found == Unencodable("value", "session['a'][1]['b']", when)
    assert found.type_name == "datetime"
    assert found.where == "session['a'][1]['b']"


def test_keys_are_checked_before_their_values() -> None:
    found = find_unencodable({"a": {1: datetime.now(UTC)}}, json_accepts)
    assert found is not None
    assert (found.problem, found.path, found.value, found.where) == (
        "key",
        "session['a']",
        1,
        "a dict at session['a']",
    )
    top = find_unencodable({None: 1}, json_accepts)
    assert top is not None and top.where == "the session"


def test_a_str_key_is_handed_to_accept() -> None:
    found = find_unencodable({"ok": 1, "bad": 2}, lambda value: value != "bad")
    assert found is not None and (found.problem, found.value) == ("key", "bad")


def test_a_cycle_is_reported_where_it_closes() -> None:
    data: dict[str, Any] = {"a": [1]}
    data["a"].append(data)
    found = find_unencodable(data, json_accepts)
    assert found is not None
    assert (found.problem, found.path) == ("cycle", "session['a'][1]")


def test_a_shared_container_is_not_a_cycle() -> None:
    shared = [1, 2]
    assert find_unencodable({"a": shared, "b": shared, "c": [shared]}, json_accepts) is None


def test_depth_counts_containers_and_the_data_is_one() -> None:
    data = {"d": [{"leaf": 1}]}  # three containers
    assert find_unencodable(data, json_accepts, max_depth=3) is None
    found = find_unencodable(data, json_accepts, max_depth=2)
    assert found is not None and (found.problem, found.path) == ("depth", "session['d'][0]")


def test_very_deep_data_costs_no_recursion_and_a_short_path() -> None:
    data: Any = {"leaf": {1, 2}}
    for _ in range(20_000):
        data = {"d": [data]}
    found = find_unencodable(data, json_accepts)
    assert found is not None and found.problem == "value"
    assert found.path.startswith("session['d'][0]['d'][0]['d'][0][...]")
    assert found.path.endswith("['d'][0]['leaf']")
    deep = find_unencodable(data, json_accepts, max_depth=256)
    assert deep is not None and deep.problem == "depth" and len(deep.path) < 200


def test_what_is_not_a_container_is_judged_whole() -> None:
    assert find_unencodable("text", json_accepts) is None
    assert find_unencodable((1,), json_accepts) == Unencodable("value", "session", (1,))


Point = namedtuple("Point", "x y")


@pytest.mark.parametrize(
    ("value", "advice"),
    [
        (datetime.now(UTC), "datetime.fromisoformat()"),
        (date(2026, 1, 1), "date.fromisoformat()"),
        (timedelta(seconds=5), "total_seconds()"),
        ({1, 2}, "sorted(value)"),
        (frozenset({1}), "sorted(value)"),
        ((1, 2), "store a list"),
        (Decimal("1.5"), "str(value)"),
        (uuid4(), "str(value)"),
    ],
)
def test_storage_advice_for_the_usual_types(value: object, advice: str) -> None:
    assert advice in (storage_advice(value) or "")


@pytest.mark.parametrize("value", [object(), b"x", Point(1, 2)])
def test_storage_advice_leaves_the_rest_to_the_serializer(value: object) -> None:
    assert storage_advice(value) is None


def test_input_bytes() -> None:
    raw = b"abc"
    assert input_bytes(raw, "mine") is raw
    assert input_bytes(bytearray(b"abc"), "mine") == b"abc"
    assert type(input_bytes(memoryview(b"abc"), "mine")) is bytes
    with pytest.raises(SerializationError, match="the mine serializer decodes bytes, got str"):
        input_bytes("abc", "mine")


@pytest.fixture(autouse=True)
def _no_plugin_left_behind() -> Iterator[None]:
    yield
    assert "toolkit_plain_plugin" not in host.plugins


# -- PerLoop -----------------------------------------------------------------------------------


class _Resource:
    """A closeable resource that records where it was closed."""

    def __init__(self) -> None:
        self.closed_on: object = None
        self.abandoned = False

    async def aclose(self) -> None:
        self.closed_on = asyncio.get_running_loop()


def test_per_loop_makes_one_resource_per_loop_and_closes_each_on_its_own_loop() -> None:
    per_loop: sessionware.PerLoop[_Resource] = sessionware.PerLoop()
    made: list[_Resource] = []

    async def make() -> _Resource:
        made.append(_Resource())
        return made[-1]

    async def use() -> tuple[_Resource, _Resource | None]:
        return await per_loop.attach(make), per_loop.current()

    first_loop = asyncio.new_event_loop()
    first, current = first_loop.run_until_complete(use())
    assert current is first
    assert first_loop.run_until_complete(use())[0] is first  # one per loop, made once
    second_loop = asyncio.new_event_loop()
    second, _ = second_loop.run_until_complete(use())
    assert second is not first and len(per_loop) == 2
    per_loop.close()  # both loops idle: each resource closed on its own loop
    assert first.closed_on is first_loop and second.closed_on is second_loop
    assert len(per_loop) == 0
    first_loop.close()
    second_loop.close()


def test_per_loop_abandons_the_resource_of_a_closed_loop_without_touching_it() -> None:
    per_loop: sessionware.PerLoop[_Resource] = sessionware.PerLoop(
        abandon=lambda resource: setattr(resource, "abandoned", True)
    )

    async def make() -> _Resource:
        return _Resource()

    loop = asyncio.new_event_loop()
    resource = loop.run_until_complete(per_loop.attach(make))
    loop.close()
    fresh = asyncio.run(per_loop.attach(make))  # a new loop drops the closed loop's resource
    assert resource.abandoned and resource.closed_on is None
    assert fresh is not resource


def test_per_loop_after_fork_forgets_the_parents_resources() -> None:
    per_loop: sessionware.PerLoop[_Resource] = sessionware.PerLoop()

    async def make() -> _Resource:
        return _Resource()

    loop = asyncio.new_event_loop()
    resource = loop.run_until_complete(per_loop.attach(make))
    per_loop.after_fork_in_child()
    assert len(per_loop) == 0
    per_loop.close()
    assert resource.closed_on is None  # the parent's: never closed by the child
    loop.close()
