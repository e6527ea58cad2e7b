"""Refuse to start unsafe (issue 15): with DEBUG=false the web server, the Celery worker,
beat and manage.py stop with one sentence naming the variable when a secret is empty,
short or unusable, when TESTING is set, without SSO or without ALLOWED_HOSTS; an unset
DEBUG means production; `check --deploy` reports the same list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT, free_port

FERNET_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="
ED25519_KEY = "SWaAHuK0mvoYrb5c5OtOr0Hx1oTLWmFhNNBSFXv0+zw="
SECRET = "s" * 30 + "Q9!x" * 8


def base_env(tmp_path: Path) -> dict[str, str]:
    """The test process's environment without anything this module decides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "DATABASE_URL",
                "DATABASE_OWNER_URL",
                "REDIS_URL",
                "EMBEDDED_REDIS_SOCKET",
                "SSO_",
                "DEBUG",
                "TESTING",
                "SECRET_KEY",
                "PSEUDONYM_KEY",
                "AUDIT_",
                "ALLOWED_HOSTS",
                "DJANGO_ALLOW_ASYNC_UNSAFE",
            )
        )
    }
    env["VAR_DIR"] = str(tmp_path / "var")
    return env


def production(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    env = base_env(tmp_path)
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "assistant.example.com",
            "PSEUDONYM_KEY": FERNET_KEY,
            "AUDIT_SIGNING_KEY": ED25519_KEY,
            "AUDIT_CHECKPOINT_STORE": str(tmp_path / "checkpoints"),
            "SSO_OIDC_SERVER_URL": "https://idp.example.com",
            "SSO_OIDC_CLIENT_ID": "client",
            "SSO_OIDC_CLIENT_SECRET": "secret",
            "SSO_ALLOWED_EMAIL_DOMAINS": "example.com",
        }
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Configuration")]
    assert len(lines) == 1, result.stderr
    return lines[0]


UNSAFE = [
    ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
    ({"SECRET_KEY": "short-key"}, "SECRET_KEY is malformed"),
    ({"SECRET_KEY": "a" * 60}, "SECRET_KEY is malformed"),  # 60 chars, one distinct
    ({"SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, "SECRET_KEY is malformed"),
    ({"SECRET_KEY_FALLBACKS": "old"}, "SECRET_KEY_FALLBACKS is malformed"),
    ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is required"),
    ({"TESTING": "true"}, "TESTING is set"),
    (
        {"SSO_OIDC_SERVER_URL": None, "SSO_OIDC_CLIENT_ID": None},
        "SSO_OIDC_SERVER_URL is required",
    ),
    ({"PSEUDONYM_KEY": ""}, "PSEUDONYM_KEY is required"),
    ({"PSEUDONYM_KEY": "pk"}, "PSEUDONYM_KEY is malformed"),
    ({"PSEUDONYM_KEY": f"{FERNET_KEY},nope"}, "PSEUDONYM_KEY is malformed (key 2 of 2)"),
    ({"AUDIT_SIGNING_KEY": ""}, "AUDIT_SIGNING_KEY is required"),
    ({"AUDIT_SIGNING_KEY": "c2hvcnQ="}, "AUDIT_SIGNING_KEY is malformed"),
]


@pytest.mark.parametrize(("changes", "sentence"), UNSAFE)
def test_manage_py_refuses_an_unsafe_production_start(
    tmp_path: Path, changes: dict[str, str | None], sentence: str
) -> None:
    line = one_line(run([sys.executable, "manage.py", "check"], production(tmp_path, **changes)))
    assert sentence in line


def test_the_safe_production_settings_start(tmp_path: Path) -> None:
    result = run([sys.executable, "manage.py", "check"], production(tmp_path))
    assert result.returncode == 0, result.stderr


def test_unset_debug_means_production_not_debug(tmp_path: Path) -> None:
    """Nothing set: production, which needs a SECRET_KEY (previously: debug mode with the
    development sign-in)."""
    line = one_line(run([sys.executable, "manage.py", "check"], base_env(tmp_path)))
    assert "SECRET_KEY is required when DEBUG is false" in line
    env = production(tmp_path, DEBUG=None)
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.DEV_LOGIN_ENABLED)"
    )
    result = run([sys.executable, "-c", code], {**env, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert result.stdout.split() == ["False", "False"], result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", "{port}"],
        ["-m", "celery", "-A", "config", "worker", "--pool", "solo"],
        ["-m", "celery", "-A", "config", "beat", "--schedule", "{tmp}/beat"],
    ],
    ids=["web", "worker", "beat"],
)
def test_web_worker_and_beat_refuse_with_one_sentence(tmp_path: Path, command: list[str]) -> None:
    args = [a.format(port=free_port(), tmp=tmp_path) for a in command]
    line = one_line(run([sys.executable, *args], production(tmp_path, PSEUDONYM_KEY="")))
    assert "PSEUDONYM_KEY is required when DEBUG is false" in line


def test_check_deploy_reports_every_problem(tmp_path: Path) -> None:
    """With DEBUG on (so settings load), `check --deploy` lists what production would refuse."""
    env = base_env(tmp_path)
    env.update({"DEBUG": "true", "TESTING": "true"})
    result = run([sys.executable, "manage.py", "check", "--deploy"], env)
    assert result.returncode != 0
    assert "TESTING is set" in result.stderr
    assert "SSO_OIDC_SERVER_URL is required" in result.stderr
    assert "Traceback" not in result.stderr
