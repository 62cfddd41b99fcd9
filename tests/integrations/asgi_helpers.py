"""Shared by the ASGI integration tests: engine settings per engine, and a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: A secret that passes the secret rule (for the engines and serializers that sign).
SECRET = "integration-tests-secret-" + "k3Yq9Zx2Lm8Vb4Nc7Rt1Wp5Hs6Dj0Gf"

SERVER_SIDE = ["db", "file", "cache", "redis"]
ENGINES = [*SERVER_SIDE, "signed_cookies"]


def engine_options(engine: str, tmp_path: Path, redis: str | None) -> dict[str, Any]:
    """The options that point ``engine`` at a private store under ``tmp_path``."""
    if engine == "db":
        return {"path": str(tmp_path / "sessions.sqlite3")}
    if engine == "file":
        directory = tmp_path / "sessions"
        directory.mkdir(exist_ok=True)
        return {"path": str(directory)}
    if engine == "redis":
        assert redis is not None
        return {"url": redis, "prefix": f"sw-int-{tmp_path.name}:"}
    return {}
