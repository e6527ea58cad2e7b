"""Start-up: one clear line for a bad variable, and `make run`'s supervisor end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import ROOT, free_port


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "DATABASE_URL",
                "DATABASE_OWNER_URL",  # the restricted-role test setup exports it
                "REDIS_URL",
                "EMBEDDED_REDIS_SOCKET",  # the test session's own Redis must not be reused
                "SSO_",
                "AWS_",
                "BEDROCK_",
                "DEBUG",
                "DJANGO_ALLOW_ASYNC_UNSAFE",  # set for Playwright; check --deploy flags it
            )
        )
    }
    # Development unless a case says otherwise (DEBUG defaults to false: production).
    env.update({"VAR_DIR": str(tmp_path / "var"), "TESTING": "false", "DEBUG": "true", **extra})
    return env


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"SESSION_MAX_AGE_HOURS": "twelve"}, "SESSION_MAX_AGE_HOURS"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://cache:6379"}, "REDIS_URL"),
        ({"LLM_MODELS": "[not json"}, "LLM_MODELS"),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        (
            {
                "DEBUG": "false",
                "SECRET_KEY": "s" * 30 + "Q9!x" * 8,
                "ALLOWED_HOSTS": "a.example.com",
                "PSEUDONYM_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
                "AUDIT_SIGNING_KEY": "SWaAHuK0mvoYrb5c5OtOr0Hx1oTLWmFhNNBSFXv0+zw=",
            },
            "SSO_OIDC_SERVER_URL",
        ),
        ({"AUDIT_SIGNING_KEY": "not a key"}, "AUDIT_SIGNING_KEY"),
        ({"AUDIT_VERIFY_PUBLIC_KEYS": "abc"}, "AUDIT_VERIFY_PUBLIC_KEYS"),
        ({"AUDIT_CHECKPOINT_STORE": "s3:///prefix"}, "AUDIT_CHECKPOINT_STORE"),
        ({"AUDIT_CHECKPOINT_STORE_LOCK_MODE": "forever"}, "AUDIT_CHECKPOINT_STORE_LOCK_MODE"),
        (
            {"DATABASE_URL": "sqlite:///x.db", "DATABASE_OWNER_URL": "postgres://o@h/db"},
            "DATABASE_OWNER_URL",
        ),
    ],
)
def test_bad_variable_stops_startup_with_one_line(
    tmp_path: Path, variables: dict[str, str], named: str
) -> None:
    """A missing or malformed variable is one line naming it, not a traceback."""
    result = manage("check", env=clean_env(tmp_path, **variables))
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    """With the production variables set, `check --deploy` reports no issue."""
    env = clean_env(
        tmp_path,
        DEBUG="false",
        SECRET_KEY="s" * 30 + "Q9!x" * 8,
        ALLOWED_HOSTS="assistant.example.com",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        REDIS_URL="redis://127.0.0.1:6379/0",
        PSEUDONYM_KEY="ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
        AUDIT_SIGNING_KEY="SWaAHuK0mvoYrb5c5OtOr0Hx1oTLWmFhNNBSFXv0+zw=",
        AUDIT_CHECKPOINT_STORE="s3://audit-checkpoints/production",
        SSO_OIDC_SERVER_URL="https://idp.example.com",
        SSO_OIDC_CLIENT_ID="client",
        SSO_OIDC_CLIENT_SECRET="secret",
        SSO_ALLOWED_EMAIL_DOMAINS="example.com",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO",
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the parent pid is the 4th field after the "(comm)" part
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def test_make_run_serves_health_and_ctrl_c_leaves_no_process(tmp_path: Path) -> None:
    """The `make run` supervisor starts Redis, the emulator, a worker and the site on the
    embedded defaults; health says redis ok with a worker; Ctrl-C stops every child."""
    port, emulator_port = free_port(), free_port()
    env = clean_env(tmp_path, PORT=str(port), EMULATOR_PORT=str(emulator_port))
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "config.devrun"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        body: dict[str, Any] = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and supervisor.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
                    body = json.loads(r.read())
                    if body.get("workers", 0) >= 1:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        assert body.get("redis") == "ok" and body.get("database") == "ok", body
        assert body["workers"] >= 1 and body["llm"] == "emulator"
        children = _children_of(supervisor.pid)
        assert len(children) >= 4  # redis, emulator, worker, web
    finally:
        # Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
        os.killpg(supervisor.pid, signal.SIGINT)
        output, _ = supervisor.communicate(timeout=60)
    assert supervisor.returncode == 0, output
    time.sleep(0.5)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert not alive, f"left behind: {alive}\n{output}"
    assert "stopped" in output
    # Redis goes last, after everything that talks to it.
    assert output.index("stopping web server") < output.index("stopping embedded Redis")
    assert output.index("stopping Celery worker") < output.index("stopping embedded Redis")


def test_make_run_refuses_when_redis_socket_dir_is_not_writable(tmp_path: Path) -> None:
    """If the embedded Redis cannot start, the supervisor says so and exits non-zero."""
    if os.geteuid() == 0:
        # root can write anywhere; a path under a regular file can never be created.
        blocker = tmp_path / "file"
        blocker.write_text("")
        socket_path = blocker / "redis.sock"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        socket_path = locked / "redis.sock"
    env = clean_env(tmp_path, PORT=str(free_port()), EMBEDDED_REDIS_SOCKET=str(socket_path))
    result = subprocess.run(
        [sys.executable, "-m", "config.devrun"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "embedded Redis could not start" in result.stderr
