"""`manage.py verify_audit_log [--checkpoints FILE]`: exit 0 and one summary line
when the chain and checkpoints are intact; exit 1 naming the first bad event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.checkpoints import read_checkpoints_jsonl
from audit.verify import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and signed checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoints",
            type=Path,
            help="JSON Lines file from export_audit_checkpoints kept outside the database",
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=None,
            help="processes checking id ranges in parallel (default: CPUs, at most 4)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        external = []
        if options["checkpoints"]:
            with options["checkpoints"].open(encoding="utf-8") as lines:
                external = read_checkpoints_jsonl(lines)
        result = verify_chain(external_checkpoints=external, jobs=options["jobs"])
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if not result.ok:
            raise CommandError(result.summary(), returncode=1)
        self.stdout.write(result.summary())
