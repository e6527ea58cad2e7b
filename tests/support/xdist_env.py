"""Under pytest-xdist (`make test` runs the suite in TEST_WORKERS processes), each worker
gets its own Redis database, embedded Redis socket and var directory, so two workers never
flush, consume or overwrite each other's keys, queued tasks or files. The test database
gets its suffix from pytest-django (tests/conftest.py).

Loaded with `-p` (pyproject.toml), so it runs before Django reads its settings from the
environment; outside xdist it changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Set once a worker's environment is its own: a pytest the tests start in a subprocess
# inherits it and must not move it again.
ISOLATED = "TESTS_XDIST_ISOLATED"


def _with_database(url: str, offset: int) -> str:
    """redis://host:port/N → redis://host:port/N+offset (a unix socket URL is left alone:
    each worker has its own socket)."""
    if not url.startswith(("redis://", "rediss://")):
        return url
    base, _, tail = url.rpartition("/")
    if "://" not in base or not tail.isdigit():  # no database in the URL: database 0
        base, tail = url.rstrip("/"), "0"
    return f"{base}/{int(tail) + offset}"


def isolate(environ: MutableMapping[str, str]) -> None:
    """Give the xdist worker named in `environ` (gw0, gw1, …) its own Redis and var/."""
    worker = environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or environ.get(ISOLATED) == worker:
        return
    environ[ISOLATED] = worker
    # Relative to the project, as config/settings.py reads VAR_DIR (an absolute one stays).
    var_dir = ROOT / (environ.get("VAR_DIR") or "var") / worker
    environ["VAR_DIR"] = str(var_dir)
    if environ.get("EMBEDDED_REDIS_SOCKET"):
        socket = Path(environ["EMBEDDED_REDIS_SOCKET"])
        environ["EMBEDDED_REDIS_SOCKET"] = str(socket.with_name(f"{socket.stem}-{worker}.sock"))
    if environ.get("REDIS_URL"):
        environ["REDIS_URL"] = _with_database(environ["REDIS_URL"], int(worker[2:]))


isolate(os.environ)
if os.environ.get(ISOLATED):
    Path(os.environ["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
