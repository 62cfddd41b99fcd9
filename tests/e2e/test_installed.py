"""``sessionware plugins`` lists every first-party plugin, with its version, as a real command."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys

import pytest

from ..first_party import ENGINES, SERIALIZERS, require


@functools.cache
def sessionware_plugins_json() -> list[dict[str, object]]:
    command = shutil.which("sessionware") or ""
    argv = [command] if command else [sys.executable, "-m", "sessionware"]
    done = subprocess.run(
        [*argv, "plugins", "--json"], capture_output=True, text=True, timeout=60, check=True
    )
    return list(json.loads(done.stdout))


@pytest.mark.parametrize("name", sorted({**ENGINES, **SERIALIZERS}))
def test_each_first_party_plugin_is_listed_with_its_version(name: str) -> None:
    distribution = {**ENGINES, **SERIALIZERS}[name]
    require(name, distribution)
    listed = {p["distribution"]: p for p in sessionware_plugins_json()}
    record = listed[distribution]
    assert record["error"] is None
    assert record["version"] and str(record["version"])[0].isdigit()
    assert name in [*record["engines"], *record["serializers"]]  # type: ignore[misc]


def test_ci_has_every_first_party_plugin() -> None:
    if not os.environ.get("CI"):
        pytest.skip("outside CI a partial install is allowed")
    listed = {p["distribution"] for p in sessionware_plugins_json()}
    assert set(ENGINES.values()) | set(SERIALIZERS.values()) <= listed
