"""`manage.py export_audit_checkpoints [--after ID] > checkpoints.jsonl`: the signed
checkpoints as JSON Lines, to keep outside this database (then
`verify_audit_log --checkpoints checkpoints.jsonl`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.checkpoints import checkpoints_jsonl
from audit.models import AuditCheckpoint


class Command(BaseCommand):
    help = "Print the signed audit checkpoints as JSON Lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--after", type=int, default=0, help="only checkpoints with id > N")

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoints = AuditCheckpoint.objects.filter(id__gt=options["after"]).order_by("id")
        for line in checkpoints_jsonl(checkpoints.iterator()):
            self.stdout.write(line, ending="")
