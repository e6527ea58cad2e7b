"""`manage.py rebuild_audit_totals`: recompute the daily rollups behind the
reviewer's totals from the events (after a bulk load, or if they were damaged;
they are derived data, outside the hash chain)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.totals import daily_totals_rebuild


class Command(BaseCommand):
    help = "Recompute the audit daily totals from the audit events."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{daily_totals_rebuild()} daily total rows rebuilt")
