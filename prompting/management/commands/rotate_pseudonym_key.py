"""Re-encrypt every stored pseudonym mapping with the first PSEUDONYM_KEY.

After putting a new key first in PSEUDONYM_KEY (old keys after it) and restarting, run
this; once it reports no failures, the old keys can be removed. Safe to run again and
while the site is up: each conversation is re-encrypted in its own short transaction,
with the row locked, so a message being judged at the same time is not overwritten.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from prompting.crypto import reencrypt
from prompting.models import Conversation


class Command(BaseCommand):
    help = "Re-encrypt every stored pseudonym mapping with the first PSEUDONYM_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        ids = list(
            Conversation.objects.exclude(pseudonym_map_encrypted=b"")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        done = failed = 0
        for pk in ids:
            with transaction.atomic():
                row = Conversation.objects.select_for_update().filter(pk=pk).first()
                if row is None or not row.pseudonym_map_encrypted:
                    continue  # deleted (or emptied) meanwhile
                try:
                    token = reencrypt(row.pseudonym_map_encrypted)
                except InvalidToken:
                    failed += 1
                    self.stderr.write(f"conversation {pk}: no key in PSEUDONYM_KEY reads it")
                    continue
                Conversation.objects.filter(pk=pk).update(pseudonym_map_encrypted=token)
                done += 1
        self.stdout.write(f"Re-encrypted {done} pseudonym mappings with the first key.")
        if failed:
            raise CommandError(
                f"{failed} mappings could not be read with any key in PSEUDONYM_KEY; keep "
                "their key in the list and run this again."
            )
