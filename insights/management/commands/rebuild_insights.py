"""manage.py rebuild_insights: recompute the insights rollups from the audit events
(after a bulk load, a COMPANY_TIME_ZONE change, or to repair)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from insights.rollup import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute the insights rollups from the audit log."

    def handle(self, *args: Any, **options: Any) -> None:
        result = rollups_rebuild()
        self.stdout.write(
            f"Insights rollups rebuilt from {result.events:,} events through #{result.through_id}"
        )
