"""A product process with production settings (DEBUG=false) for a test.

DEBUG=false refuses TESTING=true (config/startup.py), so such a process is not in test
mode: it needs a checkpoint store and the collected, hashed static files that production
serves (`collectstatic`), collected once per test session into a directory of its own.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet

from audit.signing import generate_private_key_text
from config.supervisor import Service
from tests.support.processes import ROOT, start_web

_var_dir: Path | None = None
_collected = False


def production_var_dir() -> Path:
    global _var_dir
    if _var_dir is None:
        _var_dir = Path(tempfile.mkdtemp(prefix="production-var-"))
    return _var_dir


def collect_static(env: dict[str, str]) -> None:
    """`collectstatic` with the production storage (hashed names and a manifest), once."""
    global _collected
    if not _collected:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        _collected = True


def production_env(live_env: dict[str, str], **extra: str) -> dict[str, str]:
    """live_env (test database and Redis) with DEBUG off, fresh secrets and plain HTTP on
    loopback (Chromium treats it as a secure context, so Secure cookies still work)."""
    env = dict(live_env)
    var_dir = production_var_dir()
    env.update(
        {
            "DEBUG": "false",
            "TESTING": "false",
            "VAR_DIR": str(var_dir),
            "AUDIT_CHECKPOINT_STORE": str(var_dir / "audit-checkpoints"),
            "SECRET_KEY": secrets.token_urlsafe(60),
            "PSEUDONYM_KEY": Fernet.generate_key().decode(),
            "AUDIT_SIGNING_KEY": generate_private_key_text(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
        }
    )
    env.update(extra)
    return env


def start_production_web(env: dict[str, str]) -> tuple[Service, str]:
    """The web server with production settings (env from production_env plus SSO)."""
    collect_static(env)
    return start_web(env)
