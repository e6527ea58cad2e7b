"""`manage.py audit_checkpoint`: sign the chain now and deliver it to the store
(beat does it every AUDIT_CHECKPOINT_INTERVAL_SECONDS)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import checkpoint_create
from audit.store import StoreError


class Command(BaseCommand):
    help = "Append an audit.checkpoint event, sign the chain through it, deliver it off-box."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoint = checkpoint_create()
        except StoreError as exc:
            raise CommandError(f"The checkpoint is signed but not delivered: {exc}") from None
        if checkpoint is None:
            self.stdout.write("no new events since the last checkpoint")
        else:
            self.stdout.write(
                f"checkpoint {checkpoint.seq}: events #{checkpoint.first_event_id}.."
                f"#{checkpoint.last_event_id}, hash {checkpoint.last_hash[:16]}…, "
                f"key {checkpoint.key_id}"
            )
