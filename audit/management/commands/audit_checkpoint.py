"""`manage.py audit_checkpoint`: sign the chain now (beat does it hourly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.checkpoints import checkpoint_create


class Command(BaseCommand):
    help = "Append an audit.checkpoint event and store a signed checkpoint through it."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = checkpoint_create()
        if checkpoint is None:
            self.stdout.write("no new events since the last checkpoint")
        else:
            self.stdout.write(
                f"checkpoint #{checkpoint.id}: {checkpoint.event_count} events through "
                f"#{checkpoint.last_event_id}, hash {checkpoint.last_hash[:16]}…"
            )
