"""The test database under the audit log's rules, and how tests get past them.

PostgreSQL with DATABASE_OWNER_URL set (CI): the test database is created and
migrated as the owner, then every test, and every worker or web process the tests
start, connects as DATABASE_URL's restricted role, as production does.

Tests still need to empty tables between transactional tests. Nothing in the
product relaxes the triggers, so the test setup adds what it needs to the *test*
database only, as the owner:
- PostgreSQL: `audit_test_flush()`, an owner's function (SECURITY DEFINER) that
  disables the audit triggers, truncates the audit tables and enables them again,
  executable by the test role; plus TRUNCATE on the other tables (Django's flush).
- SQLite: the flush drops the triggers, deletes, and creates them again, in one
  transaction (whoever holds a SQLite file is its owner).
Django's flush is pointed at these by `flush_patched()`. `tampering()` gives tests
the owner's powers, to do what an attacker with them could.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote as urlquote

from django.conf import settings
from django.db import connection

from audit.roles import APPEND_ONLY_TABLES, grants_apply, switch_credentials

AUDIT_TABLES = (*APPEND_ONLY_TABLES, "audit_auditchainhead", "audit_auditdailytotal")
_append_path = importlib.import_module("audit.migrations.0005_append_path")

_TEST_FLUSH_SQL = """
CREATE OR REPLACE FUNCTION audit_test_flush() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = "{schema}", pg_temp AS $$
BEGIN
  ALTER TABLE audit_auditevent DISABLE TRIGGER USER;
  ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER USER;
  TRUNCATE audit_auditevent, audit_auditcheckpoint, audit_auditchainhead, audit_auditdailytotal;
  ALTER TABLE audit_auditevent ENABLE TRIGGER USER;
  ALTER TABLE audit_auditcheckpoint ENABLE TRIGGER USER;
END
$$;
"""

_app_credentials: dict[str, Any] = {}


def owner_credentials() -> dict[str, Any]:
    return dict(settings.DATABASE_OWNER or _app_credentials or connection.settings_dict)


def before_setup() -> None:
    """Create and migrate the test database as the owner (django_db_modify_db_settings)."""
    _app_credentials.update(
        {key: connection.settings_dict.get(key) for key in ("USER", "PASSWORD", "HOST", "PORT")}
    )
    if settings.DATABASE_OWNER:
        switch_credentials(connection, settings.DATABASE_OWNER)


def after_setup() -> None:
    """Install the test-only objects as the owner, then continue as the app's role."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            (schema,) = cursor.fetchone()
            cursor.execute(_TEST_FLUSH_SQL.format(schema=schema))
        if settings.DATABASE_OWNER:
            app_role = str(_app_credentials["USER"])
            grants_apply(connection, app_role)
            with connection.cursor() as cursor:
                cursor.execute(f'GRANT EXECUTE ON FUNCTION audit_test_flush() TO "{app_role}"')
                for table in connection.introspection.table_names(cursor):
                    if table not in AUDIT_TABLES:
                        cursor.execute(f'GRANT TRUNCATE ON "{table}" TO "{app_role}"')
            switch_credentials(connection, _app_credentials)
    _export_owner_url()


def before_teardown() -> None:
    """The owner drops the test database."""
    if settings.DATABASE_OWNER:
        switch_credentials(connection, settings.DATABASE_OWNER)


def _export_owner_url() -> None:
    """Processes the tests start (workers, verify_audit_log's spawned ranges) inherit
    the environment: DATABASE_URL and DATABASE_OWNER_URL must both name the test
    database, or the owner URL be absent."""
    if not settings.DATABASE_OWNER:
        os.environ.pop("DATABASE_OWNER_URL", None)
        return
    name = connection.settings_dict["NAME"]
    os.environ["DATABASE_URL"] = _url(_app_credentials, name)
    os.environ["DATABASE_OWNER_URL"] = _url(settings.DATABASE_OWNER, name)


def _url(credentials: dict[str, Any], name: str) -> str:
    password = f":{urlquote(str(credentials['PASSWORD']))}" if credentials.get("PASSWORD") else ""
    host, port = credentials.get("HOST") or "127.0.0.1", credentials.get("PORT") or 5432
    return f"postgres://{credentials['USER']}{password}@{host}:{port}/{name}"


def _flush_postgres(original: Callable[..., list[str]]) -> Callable[..., list[str]]:
    def sql_flush(self: Any, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        rest = [t for t in tables if t not in AUDIT_TABLES]
        sql = original(self, style, rest, **kwargs) if rest else []
        if len(rest) < len(tables):
            sql.append("SELECT audit_test_flush();")
        return sql

    return sql_flush


def _flush_sqlite(original: Callable[..., list[str]]) -> Callable[..., list[str]]:
    def sql_flush(self: Any, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        rest = [t for t in tables if t not in AUDIT_TABLES]
        sql = original(self, style, rest, **kwargs) if rest else []
        audit = [t for t in tables if t in AUDIT_TABLES]
        if audit:
            sql += [
                *_append_path.SQLITE_DROP_SQL,
                *[f'DELETE FROM "{t}";' for t in audit],  # noqa: S608 - our own table names
                *_append_path.SQLITE_SQL,
            ]
        return sql

    return sql_flush


@contextmanager
def flush_patched() -> Iterator[None]:
    operations = type(connection.ops)
    original = operations.sql_flush
    patch = _flush_postgres if connection.vendor == "postgresql" else _flush_sqlite
    operations.sql_flush = patch(original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        operations.sql_flush = original  # type: ignore[method-assign]


class _Cursor:
    """One cursor API over psycopg and sqlite3 (tests write %s placeholders)."""

    def __init__(self, cursor: Any, sqlite: bool) -> None:
        self._cursor, self._sqlite = cursor, sqlite

    def execute(self, sql: str, params: Any = ()) -> None:
        self._cursor.execute(sql.replace("%s", "?") if self._sqlite else sql, params)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


@contextmanager
def owner_cursor(*, triggers: bool = True) -> Iterator[_Cursor]:
    """A cursor of the database owner on its own connection, committed at the end:
    only committed data is visible to it, so tests using it are transactional.
    `triggers=False` turns the audit triggers off for the transaction (tampering)."""
    if connection.vendor == "postgresql":
        import psycopg

        owner = owner_credentials()
        with psycopg.connect(
            host=owner.get("HOST") or "127.0.0.1",
            port=owner.get("PORT") or 5432,
            user=owner["USER"],
            password=owner.get("PASSWORD") or None,
            dbname=connection.settings_dict["NAME"],
        ) as raw:  # commits on a clean exit, rolls back on an error
            cursor = raw.cursor()
            if not triggers:
                for table in APPEND_ONLY_TABLES:
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield _Cursor(cursor, sqlite=False)
            if not triggers:
                for table in APPEND_ONLY_TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        return
    lite = sqlite3.connect(connection.settings_dict["NAME"], timeout=20, isolation_level=None)
    try:
        lite_cursor = lite.cursor()
        lite_cursor.execute("BEGIN IMMEDIATE")
        if not triggers:
            for sql in _append_path.SQLITE_DROP_SQL:
                lite_cursor.execute(sql)
        try:
            yield _Cursor(lite_cursor, sqlite=True)
        except BaseException:
            lite_cursor.execute("ROLLBACK")
            raise
        if not triggers:
            for sql in _append_path.SQLITE_SQL:
                lite_cursor.execute(sql)
        lite_cursor.execute("COMMIT")
    finally:
        lite.close()


def tampering() -> Any:
    """What someone with the owner's credentials (or the SQLite file) can do: write
    with the audit triggers off."""
    return owner_cursor(triggers=False)
