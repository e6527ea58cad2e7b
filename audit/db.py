"""Per-connection set-up for the append-only triggers, and the test-flush switch.

Django's test runner empties every table between transactional tests (TRUNCATE
in PostgreSQL, DELETE in SQLite), which the triggers rightly refuse. Only when
settings.TESTING is on, connections may do that:
- PostgreSQL: `audit.allow_test_flush` = on lets TRUNCATE through (DELETE and
  UPDATE stay refused, so ORM code under test is still checked);
- SQLite: the trigger asks the function `audit_test_flush_allowed()`, registered
  here; a connection without it (the sqlite3 shell) gets an error, i.e. refusal.
`strict_triggers()` turns the allowance off, for tests of the triggers themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection as default_connection
from django.db.backends.signals import connection_created

_strict = False


def _test_flush_allowed() -> int:
    return int(bool(getattr(settings, "TESTING", False)) and not _strict)


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("audit_test_flush_allowed", 0, _test_flush_allowed)
    elif connection.vendor == "postgresql" and getattr(settings, "TESTING", False):
        with connection.connection.cursor() as cursor:
            cursor.execute("SET audit.allow_test_flush = 'on'")


def install() -> None:
    connection_created.connect(on_connection_created, dispatch_uid="audit.db.connection")


@contextmanager
def strict_triggers() -> Iterator[None]:
    """Refuse even the test flush (for tests proving the triggers refuse)."""
    global _strict
    _strict = True
    postgres = default_connection.vendor == "postgresql"
    if postgres:
        with default_connection.cursor() as cursor:
            cursor.execute("SET audit.allow_test_flush = 'off'")
    try:
        yield
    finally:
        _strict = False
        if postgres and getattr(settings, "TESTING", False):
            with default_connection.cursor() as cursor:
                cursor.execute("SET audit.allow_test_flush = 'on'")
