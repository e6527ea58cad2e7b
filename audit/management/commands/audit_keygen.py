"""`manage.py audit_keygen`: a new Ed25519 key pair for signing audit checkpoints.

Prints the private key (AUDIT_SIGNING_KEY, a secret for the application only) and
its public key (for AUDIT_VERIFY_PUBLIC_KEYS and the compliance team)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit import signing


class Command(BaseCommand):
    help = "Generate an Ed25519 key pair for audit checkpoints."

    def handle(self, *args: Any, **options: Any) -> None:
        private = signing.generate_private_key_text()
        public = signing.public_key_text(signing.private_key(private))
        self.stdout.write(f"AUDIT_SIGNING_KEY={private}")
        self.stdout.write(f"# public key {signing.key_id(public)}: {public}")
