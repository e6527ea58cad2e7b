"""`manage.py migrate`, as the database owner when DATABASE_OWNER_URL is set.

The owner creates the tables, the audit triggers and the append path's functions;
afterwards DATABASE_URL's role gets exactly the application's grants
(audit/roles.py), so a table added by a later migration is never left without
them, or with more. Without DATABASE_OWNER_URL this is Django's migrate.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections

from audit.roles import RoleError, connected_as, grants_apply


class Command(DjangoMigrate):
    def handle(self, *args: Any, **options: Any) -> None:
        owner = getattr(settings, "DATABASE_OWNER", None)
        connection = connections[DEFAULT_DB_ALIAS]
        app_role = str(connection.settings_dict["USER"])
        # Already the owner (the test runner creates its database that way): no grants.
        if owner is None or options["database"] != DEFAULT_DB_ALIAS or app_role == owner["USER"]:
            super().handle(*args, **options)
            return
        with connected_as(connection, owner):
            super().handle(*args, **options)
            try:
                grants_apply(connection, app_role)
            except RoleError as exc:
                raise CommandError(str(exc)) from None
        if options["verbosity"] >= 1:
            self.stdout.write(f"Granted the application's privileges to {app_role}.")
