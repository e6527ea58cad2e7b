"""Reading configuration from the environment, with one clear line per mistake.

Strings and database URLs are parsed by django-environ, the rest here; every mistake
becomes a `ConfigError`, which `config.startup` prints as a single line
naming the variable instead of a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import environ


class ConfigError(Exception):
    """A missing or malformed environment variable; the message names it."""


env = environ.Env()


def _wrap(name: str, read: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return read(name, *args, **kwargs)
    except environ.ImproperlyConfigured as exc:
        raise ConfigError(f"{name} is required but not set. See .env.example.") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name} is malformed: {exc}") from exc


def env_str(name: str, default: str | None = None) -> str:
    if default is None:
        return str(_wrap(name, env.str))
    return str(_wrap(name, env.str, default=default))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} is malformed: expected true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} is malformed: expected a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} is malformed: must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} is malformed: expected a number, got {raw!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_json(name: str, default: Any) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is malformed: not valid JSON ({exc.msg})") from None


# AF_UNIX socket paths hold at most 107 bytes on Linux; leave room for redis-server's own
# temporary names next to it.
MAX_SOCKET_PATH_BYTES = 100


def env_path(name: str, default: Path, *, base: Path) -> Path:
    """An absolute path: a relative value is taken relative to `base` (the project), so
    every process (web, workers, tests, `make run`) resolves it to the same place whatever
    its working directory. `unix://var/x.sock` would read `var` as a host name."""
    raw = os.environ.get(name, "").strip()
    path = Path(raw).expanduser() if raw else default
    return path if path.is_absolute() else (base / path).resolve()


def unix_socket_path(path: Path) -> Path:
    """`path`, or a short stand-in under the temporary directory when a deep checkout makes
    it too long for a unix socket (the stand-in is derived from the path, so every process
    of this checkout agrees on it)."""
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH_BYTES:
        return path
    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"assistant-{digest}.sock"


SUPPORTED_DATABASE_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}


def env_db(name: str, default: str) -> dict[str, Any]:
    raw = os.environ.get(name) or default
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ConfigError(f"{name} is malformed: {exc}") from None
    # PostgreSQL in production, SQLite for the embedded default; nothing else is tested.
    if config.get("ENGINE") not in SUPPORTED_DATABASE_ENGINES:
        scheme = raw.split(":", 1)[0]
        raise ConfigError(f"{name} is malformed: use postgres:// or sqlite:///, not {scheme}://")
    return dict(config)


def dev_secret(var_dir: Path, name: str, *, generate: Any = None) -> str:
    """A secret generated on first run and kept in var/ (development only).

    Production must set the variable; settings only call this when DEBUG is on,
    so a newcomer never has to invent keys to try the tool.
    """
    path = var_dir / f"{name.lower()}.secret"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = generate() if generate else secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return str(value)
