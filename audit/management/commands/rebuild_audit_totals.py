"""`manage.py rebuild_audit_totals`: recompute the daily rollups behind the
reviewer's totals from the events (after a bulk load, or if they were damaged;
they are derived data, outside the hash chain; verify_audit_log reports a
difference by day and column). Runs as the owner (DATABASE_OWNER_URL)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from audit.roles import connected_as
from audit.totals import daily_totals_rebuild


class Command(BaseCommand):
    help = "Recompute the audit daily totals from the audit events."

    def handle(self, *args: Any, **options: Any) -> None:
        # The application's role may only read the totals: rebuild as the owner.
        owner = settings.DATABASE_OWNER or connection.settings_dict
        with connected_as(connection, owner):
            self.stdout.write(f"{daily_totals_rebuild()} daily total rows rebuilt")
