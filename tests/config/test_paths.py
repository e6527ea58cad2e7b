"""Relative paths in the environment mean the same place to every process.

The newcomer's `make test` once died before any test ran: a relative
EMBEDDED_REDIS_SOCKET became `unix://var/test-redis.sock`, which URL parsing reads as
host `var` and path `/test-redis.sock`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis.connection import parse_url

from config.env import MAX_SOCKET_PATH_BYTES, env_path, unix_socket_path
from tests.support.processes import ROOT

PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'socket': str(s.EMBEDDED_REDIS_SOCKET), 'url': s.REDIS_URL, "
    "'var': str(s.VAR_DIR), 'embedded': s.USES_EMBEDDED_REDIS}))"
)


def settings_seen_from(cwd: Path, **env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "VAR_DIR")}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("cwd_name", ["project", "elsewhere"])
def test_relative_socket_resolves_under_the_project_from_any_directory(
    tmp_path: Path, cwd_name: str
) -> None:
    """`var/test-redis.sock` is the project's var/ whether Python starts there or not."""
    cwd = ROOT if cwd_name == "project" else tmp_path
    seen = settings_seen_from(cwd, EMBEDDED_REDIS_SOCKET="var/test-redis.sock")

    assert seen["socket"] == str(ROOT / "var" / "test-redis.sock")
    assert seen["url"] == f"unix://{ROOT / 'var' / 'test-redis.sock'}"
    assert seen["embedded"] is True
    # What redis-py makes of the URL is what matters: the whole absolute path, no host.
    assert parse_url(str(seen["url"]))["path"] == str(ROOT / "var" / "test-redis.sock")


def test_relative_var_dir_resolves_under_the_project(tmp_path: Path) -> None:
    seen = settings_seen_from(tmp_path, VAR_DIR="var/elsewhere")
    assert seen["var"] == str(ROOT / "var" / "elsewhere")


def test_env_path_keeps_absolute_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOME_PATH", str(tmp_path / "x.sock"))
    assert env_path("SOME_PATH", Path("default"), base=Path("/nowhere")) == tmp_path / "x.sock"
    monkeypatch.setenv("SOME_PATH", "")
    assert env_path("SOME_PATH", Path("d.sock"), base=tmp_path) == tmp_path / "d.sock"


def test_a_socket_path_too_long_for_af_unix_gets_a_short_stable_stand_in() -> None:
    """A deep checkout must not make Redis fail with 'socket path too long'."""
    deep = Path("/srv") / ("very-long-directory-name/" * 8) / "var" / "redis.sock"
    short = unix_socket_path(deep)

    assert len(os.fsencode(short)) <= MAX_SOCKET_PATH_BYTES
    assert short == unix_socket_path(deep)  # every process of the checkout agrees
    assert short != unix_socket_path(deep.with_name("other.sock"))
    assert unix_socket_path(Path("/tmp/r.sock")) == Path("/tmp/r.sock")


def test_a_relative_unix_redis_url_is_refused_with_one_line(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            **clean,
            "REDIS_URL": "unix://var/x.sock",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "REDIS_URL is malformed" in result.stderr
