"""`manage.py policy_check [FILE] [--jsonl]`: what the policy in force would do with a text.

For compliance staff and scripts. Reads FILE, or standard input when FILE is absent or
"-". Loads the analysis engine once for the whole input.

Plain mode: the whole input is one text; prints the decision, the findings (types,
offsets, scores; never the values) and what would be sent.

--jsonl: one JSON object per input line, `{"text": "...", "id": <optional, echoed>}`; one
output line each, `{"id", "decision", "sanitized_text", "findings", "policy_version"}`.
Each line is judged on its own (a fresh pseudonym map per line). A line that cannot be
judged (invalid UTF-8, bad JSON, no "text", too long, analysis failed) gets an error line
`{"id", "line", "error": <code>, "message"}` instead, the rest still run, and the exit
status is 1 at the end. In plain mode invalid UTF-8 is an error message and exit 1.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from prompting.policy import (
    DEFAULT_MAX_CHARS,
    Analyzer,
    Judgement,
    PolicyError,
    PseudonymMap,
    get_analyzer,
    judge,
)
from prompting.policy.rules import Policy
from prompting.selectors import policy_in_force


class Command(BaseCommand):
    help = "Show what the data-processing policy in force would do with a text."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default="-", help="input file; '-' or none: stdin")
        parser.add_argument(
            "--jsonl", action="store_true", help='one {"text", "id"} object per line'
        )
        parser.add_argument(
            "--max-chars",
            type=int,
            default=DEFAULT_MAX_CHARS,
            help=f"size limit per text (default {DEFAULT_MAX_CHARS:,})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        policy = policy_in_force()
        analyzer = get_analyzer(settings.COMPANY_ID_PATTERNS)
        with _open_input(options["file"]) as stream:
            if options["jsonl"]:
                failures = self._check_lines(stream, policy, analyzer, options["max_chars"])
                if failures:
                    raise CommandError(f"{failures} line(s) could not be checked", returncode=1)
            else:
                self._check_text(stream, policy, analyzer, options["max_chars"], options["file"])

    # -- plain mode ---------------------------------------------------------------------------

    def _check_text(
        self, stream: BinaryIO, policy: Policy, analyzer: Analyzer, max_chars: int, name: str
    ) -> None:
        raw = stream.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            source = "standard input" if name == "-" else name
            raise CommandError(f"{source} is not valid UTF-8: {_describe(exc)}.") from None
        try:
            judgement = judge(
                text, policy=policy, mapping=PseudonymMap(), analyzer=analyzer, max_chars=max_chars
            )
        except PolicyError as exc:
            raise CommandError(exc.user_message) from None
        self._write_summary(judgement, len(text))

    def _write_summary(self, judgement: Judgement, length: int) -> None:
        write = self.stdout.write
        write(f"Decision: {judgement.decision} (policy version {judgement.policy_version})")
        write(f"Characters checked: {length:,}")
        counts = judgement.counts_by_type
        write(
            "Found: "
            + (", ".join(f"{n} {t}" for t, n in sorted(counts.items())) if counts else "nothing")
        )
        if judgement.blocked_types:
            write(f"Blocked because of: {', '.join(judgement.blocked_types)}")
        for f in judgement.findings:
            write(f"  {f.entity_type:<18} {f.start:>7}-{f.end:<7} score {f.score:.2f}  {f.action}")
        if judgement.sanitized_text is None:
            write("Nothing would be sent.")
        else:
            write("Would be sent:")
            write(judgement.sanitized_text)

    # -- JSON Lines mode ----------------------------------------------------------------------

    def _check_lines(
        self, stream: BinaryIO, policy: Policy, analyzer: Analyzer, max_chars: int
    ) -> int:
        failures = 0
        for number, raw in enumerate(_lines(stream), start=1):
            if not raw.strip():
                continue
            result = _check_line(number, raw, policy, analyzer, max_chars)
            failures += "error" in result
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            self.stdout.flush()
        return failures


def _check_line(
    number: int, raw: bytes, policy: Policy, analyzer: Analyzer, max_chars: int
) -> dict[str, Any]:
    def error(code: str, message: str, item_id: Any = None) -> dict[str, Any]:
        return {"id": item_id, "line": number, "error": code, "message": message}

    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return error("invalid_utf8", f"Line {number} is not valid UTF-8: {_describe(exc)}.")
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        return error("invalid_json", f"Line {number} is not valid JSON: {exc.msg}.")
    if not isinstance(request, dict):
        return error("invalid_request", f'Line {number} must be an object with a "text".')
    item_id = request.get("id")
    if not isinstance(request.get("text"), str):
        return error("invalid_request", f'Line {number} has no "text" string.', item_id)
    try:
        judgement = judge(
            request["text"],
            policy=policy,
            mapping=PseudonymMap(),
            analyzer=analyzer,
            max_chars=max_chars,
        )
    except PolicyError as exc:
        return error(exc.code, exc.user_message, item_id)
    return {
        "id": item_id,
        "decision": judgement.decision,
        "sanitized_text": judgement.sanitized_text,
        "findings": [f.to_public_dict() for f in judgement.findings],
        "policy_version": judgement.policy_version,
    }


def _describe(exc: UnicodeDecodeError) -> str:
    # Offsets and byte values only: never the surrounding (possibly personal) text.
    return f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"


def _lines(stream: BinaryIO) -> Iterable[bytes]:
    for raw in stream:
        yield raw.rstrip(b"\r\n")


@contextlib.contextmanager
def _open_input(name: str) -> Iterator[BinaryIO]:
    """The file as bytes, or stdin's bytes for "-": decoding is ours to report."""
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(name).open("rb")  # noqa: SIM115 - closed by the "with" below; open errors need their own message
    except OSError as exc:
        raise CommandError(f"Cannot read {name}: {exc.strerror}.") from None
    with handle:
        yield handle
