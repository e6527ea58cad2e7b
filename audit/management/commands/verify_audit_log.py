"""`manage.py verify_audit_log [--store URL] [--public-key KEY …] [--json FILE] [--jobs N]`

Exit 0: intact (one summary line). Exit 1: tampered, naming the first event,
checkpoint or day of totals affected. Exit 2: cannot check (a missing table, an
unreadable store, a checkpoint signed by an unknown key). Reads only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.store import store_from_url
from audit.verify import verify_log
from audit.verify.report import INTACT


class Command(BaseCommand):
    help = "Verify the audit log: chain, signed checkpoints, off-box store, totals, protection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--store",
            help="checkpoint store to compare with (s3://bucket/prefix or a directory; "
            "default: AUDIT_CHECKPOINT_STORE), e.g. the compliance team's own copy",
        )
        parser.add_argument(
            "--public-key",
            action="append",
            default=[],
            help="a trusted Ed25519 public key (base64); repeat for several",
        )
        parser.add_argument("--json", type=Path, help="also write a JSON report to this file")
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            help="processes checking id ranges in parallel (helps only from a few million "
            "events on idle cores; see docs/audit.md)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kwargs: dict[str, Any] = {"public_keys": options["public_key"], "jobs": options["jobs"]}
        if options["store"]:
            kwargs["store"] = store_from_url(options["store"])
        result = verify_log(**kwargs)
        if options["json"]:
            result.write_json(options["json"])
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if result.exit_code != INTACT:
            raise CommandError(result.summary(), returncode=result.exit_code)
        self.stdout.write(result.summary())
