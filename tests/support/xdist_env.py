"""Under pytest-xdist (`make test` runs the suite in TEST_WORKERS processes), each worker gets its
own Redis database, embedded Redis socket and var directory, so two workers never flush,
consume or overwrite each other's keys, queued tasks or files. The test database gets its
suffix from pytest-django (tests/conftest.py).

Loaded with `-p` (pyproject.toml), so it runs before Django reads its settings from the
environment; outside xdist it changes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _with_database(url: str, offset: int) -> str:
    """redis://host:port/N → redis://host:port/N+offset (a unix socket URL is left alone:
    each worker has its own socket)."""
    if not url.startswith(("redis://", "rediss://")):
        return url
    base, _, tail = url.rpartition("/")
    if "://" not in base or not tail.isdigit():  # no database in the URL: database 0
        base, tail = url.rstrip("/"), "0"
    return f"{base}/{int(tail) + offset}"


if WORKER.startswith("gw"):
    index = int(WORKER.removeprefix("gw"))
    root = Path(__file__).resolve().parents[2]
    # Relative to the project, as config/settings.py reads VAR_DIR (an absolute one stays).
    var_dir = root / (os.environ.get("VAR_DIR") or "var") / WORKER
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["VAR_DIR"] = str(var_dir)
    if os.environ.get("EMBEDDED_REDIS_SOCKET"):
        socket = Path(os.environ["EMBEDDED_REDIS_SOCKET"])
        os.environ["EMBEDDED_REDIS_SOCKET"] = str(socket.with_name(f"{socket.stem}-{WORKER}.sock"))
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = _with_database(os.environ["REDIS_URL"], index)
