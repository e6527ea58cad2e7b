"""Workers keep their process's database pool between tasks (settings.CELERY_DB_REUSE_MAX,
config/celery.py): Celery's Django fixup used to close a prefork child's whole psycopg pool
after every task, so each policy step opened a new pool and a new PostgreSQL session."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from celery.fixups.django import DjangoWorkerFixup  # type: ignore[attr-defined]  # no stub
from django.db import connection

from config.celery import _give_back_database_connections, app


def _task(*, eager: bool = False) -> Any:
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


class _RecordingConnection:
    alias = "default"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def close(self) -> None:
        self.calls.append("close")

    def close_pool(self) -> None:
        self.calls.append("close_pool")


def test_celerys_fixup_leaves_a_prefork_childs_pool_open() -> None:
    fixup = DjangoWorkerFixup(app)
    fixup.worker = SimpleNamespace(pool_cls="celery.concurrency.prefork:TaskPool")
    recorded = _RecordingConnection()
    # A PostgreSQL connection with a pool, as in production (the test database may differ).
    fixup._db = SimpleNamespace(connections=SimpleNamespace(all=lambda **_: [recorded]))
    fixup._settings = SimpleNamespace(DATABASES={"default": {"OPTIONS": {"pool": {}}}})

    for _ in range(20):
        fixup.on_task_prerun(sender=_task())
        fixup.on_task_postrun(sender=_task())

    assert recorded.calls == []


@pytest.mark.django_db(transaction=True)
def test_a_task_gives_its_connection_back_and_the_pool_stays() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pool = getattr(connection, "pool", None)  # PostgreSQL in CI and production
    assert connection.connection is not None

    _give_back_database_connections(task=_task())

    assert connection.connection is None
    if pool is not None:
        assert getattr(connection, "pool", None) is pool and not pool.closed


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_leaves_its_callers_connection_alone() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")

    _give_back_database_connections(task=_task(eager=True))

    assert connection.connection is not None
