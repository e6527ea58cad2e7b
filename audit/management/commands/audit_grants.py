"""`manage.py audit_grants ROLE [--print]`: give the application's database role
exactly what it needs (audit/roles.py), revoking anything more. Run as the owner
(DATABASE_OWNER_URL, or DATABASE_URL naming the owner); `--print` only shows the
SQL, for a DBA to review or to run by hand (RDS included)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from audit.roles import RoleError, connected_as, grant_statements, grants_apply, project_tables


class Command(BaseCommand):
    help = "Grant the application's database role SELECT/INSERT on the audit tables, no more."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the role the application connects as")
        parser.add_argument("--print", action="store_true", help="print the SQL, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            raise CommandError("audit_grants needs PostgreSQL: SQLite has no roles.")
        role = options["role"]
        if options["print"]:
            for sql in grant_statements(role, project_tables(connection)):
                self.stdout.write(sql)
            return
        owner = getattr(settings, "DATABASE_OWNER", None) or connection.settings_dict
        with connected_as(connection, owner):
            try:
                statements = grants_apply(connection, role)
            except RoleError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(f"{len(statements)} statements applied: {role} may read and append.")
