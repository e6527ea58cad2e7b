"""Database roles: migrations as the owner, the application as a restricted role.

PostgreSQL only (SQLite has no roles). The owner creates the tables and the
triggers and owns the SECURITY DEFINER functions of the append path
(migrations/0005_append_path.py). The application's role gets:
- on `audit_auditevent` and `audit_auditcheckpoint`: SELECT and INSERT only;
- on the chain head and the daily totals: SELECT only (the append trigger moves them);
- EXECUTE on `audit_chain_lock()` (appending) and `audit_content_blank(bigint)` (the
  retention purge);
- on every other table of the project: SELECT, INSERT, UPDATE, DELETE; on
  `django_migrations`: SELECT.
`grant_statements` is that list as SQL; `manage.py audit_grants ROLE` applies it,
and `manage.py migrate` applies it to DATABASE_URL's role when DATABASE_OWNER_URL
is set, so tables added by later migrations get their grants too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

APPEND_ONLY_TABLES = ("audit_auditevent", "audit_auditcheckpoint")
READ_ONLY_TABLES = ("audit_auditchainhead", "audit_auditdailytotal", "django_migrations")
APP_FUNCTIONS = ("audit_chain_lock()", "audit_content_blank(bigint)")
# Privileges that would let a role change or remove audit rows, or their protection.
DANGEROUS_PRIVILEGES = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")
CREDENTIAL_KEYS = ("USER", "PASSWORD", "HOST", "PORT")


class RoleError(Exception):
    """The role cannot be the application's role; the message says why."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def project_tables(connection: BaseDatabaseWrapper) -> list[str]:
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor, include_views=False))


def grant_statements(role: str, tables: list[str], schema: str = "public") -> list[str]:
    """Exactly the application's privileges: everything else is revoked first."""
    who = quote(role)
    statements = [f"GRANT USAGE ON SCHEMA {quote(schema)} TO {who};"]
    for table in tables:
        name = quote(table)
        statements.append(f"REVOKE ALL ON {name} FROM {who};")
        if table in APPEND_ONLY_TABLES:
            statements.append(f"GRANT SELECT, INSERT ON {name} TO {who};")
        elif table in READ_ONLY_TABLES:
            statements.append(f"GRANT SELECT ON {name} TO {who};")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {who};")
    # Serial columns of older tables need their sequences; identity columns do not.
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {who};")
    statements += [f"GRANT EXECUTE ON FUNCTION {function} TO {who};" for function in APP_FUNCTIONS]
    return statements


def check_app_role(connection: BaseDatabaseWrapper, role: str) -> None:
    """Refuse a role that could undo the protection: the owner or a superuser."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        row = cursor.fetchone()
        if row is None:
            raise RoleError(f"Role {role} does not exist: create it first (CREATE ROLE … LOGIN).")
        if row[0]:
            raise RoleError(f"Role {role} is a superuser, which bypasses every audit protection.")
        cursor.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE oid = 'audit_auditevent'::regclass"
        )
        (owner,) = cursor.fetchone()
        if owner == role:
            raise RoleError(
                f"Role {role} owns the audit tables: the application must connect as another role."
            )


def grants_apply(connection: BaseDatabaseWrapper, role: str) -> list[str]:
    check_app_role(connection, role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
    statements = grant_statements(role, project_tables(connection), schema)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return statements


@contextmanager
def connected_as(connection: BaseDatabaseWrapper, credentials: dict[str, Any]) -> Iterator[None]:
    """Use `connection` with other credentials (the owner's) for the duration, then
    go back. Closes the connection (and its pool, which was made with the old
    credentials) on the way in and out."""
    saved = {key: connection.settings_dict.get(key) for key in CREDENTIAL_KEYS}
    _close(connection)
    connection.settings_dict.update({key: credentials.get(key) for key in CREDENTIAL_KEYS})
    try:
        yield
    finally:
        _close(connection)
        connection.settings_dict.update(saved)


def switch_credentials(connection: BaseDatabaseWrapper, credentials: dict[str, Any]) -> None:
    _close(connection)
    connection.settings_dict.update({key: credentials.get(key) for key in CREDENTIAL_KEYS})


def _close(connection: BaseDatabaseWrapper) -> None:
    connection.close()
    close_pool = getattr(connection, "close_pool", None)
    if close_pool is not None:
        close_pool()
