"""`manage.py policy_check`: plain and JSON Lines modes, and bad input of every kind."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("policy_check", *args, stdout=out)
    return out.getvalue()


def jsonl(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "input.jsonl"
    path.write_bytes(content)
    return path


def test_plain_mode_summarises_without_values(tmp_path: Path) -> None:
    """The summary names decision, types and offsets; only the sanitized text is shown."""
    path = tmp_path / "ticket.txt"
    path.write_text("Customer: Dana Whitfield\nEmail dana.w@example.com about the refund.")
    output = run(str(path))
    assert "Decision: pseudonymize (policy version 1)" in output
    assert "1 EMAIL_ADDRESS, 1 PERSON" in output
    assert (
        "Would be sent:\nCustomer: <PERSON_1>\nEmail <EMAIL_ADDRESS_1> about the refund." in output
    )
    assert output.count("Dana Whitfield") == 0 and "dana.w@" not in output


def test_plain_mode_blocked(tmp_path: Path) -> None:
    """A blocked text says why and that nothing would be sent."""
    path = tmp_path / "secret.txt"
    path.write_text("token=a8f5f167f44f4964e6c998dee827110c")
    output = run(str(path))
    assert "Decision: block" in output
    assert "Blocked because of: API_TOKEN" in output
    assert "Nothing would be sent." in output


def test_plain_mode_redacted(tmp_path: Path) -> None:
    """A redacted value is shown as its typed placeholder in what would be sent."""
    path = tmp_path / "ssn.txt"
    path.write_text("SSN 536-90-4399")
    output = run(str(path))
    assert "Decision: redact" in output
    assert "Would be sent:\nSSN <US_SSN_1>" in output
    assert "536-90-4399" not in output


def test_plain_mode_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a file argument the text comes from standard input."""
    fake_stdin = io.TextIOWrapper(io.BytesIO(b"Call (415) 555-0132"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", fake_stdin)
    assert "Would be sent:\nCall <PHONE_NUMBER_1>" in run()


def test_plain_mode_invalid_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """A file that is not UTF-8 fails with the byte and offset, not a traceback."""
    path = tmp_path / "latin1.txt"
    path.write_bytes("Café Dana".encode("latin-1"))
    with pytest.raises(CommandError, match=r"latin1.txt is not valid UTF-8: byte 0xe9 at offset 3"):
        run(str(path))


def test_plain_mode_too_long_names_the_limit(tmp_path: Path) -> None:
    """Over the size limit: the error names the limit."""
    path = tmp_path / "long.txt"
    path.write_text("a" * 101)
    with pytest.raises(CommandError, match="the limit is 100 characters"):
        run(str(path), "--max-chars", "100")


def test_missing_file_is_a_clear_error() -> None:
    """A path that cannot be read is reported as such."""
    with pytest.raises(CommandError, match=r"Cannot read /nonexistent/x\.txt"):
        run("/nonexistent/x.txt")


def test_jsonl_one_result_per_line_with_ids(tmp_path: Path) -> None:
    """Each input line gets one output line in the documented shape, id echoed."""
    lines = [
        {"id": "a1", "text": "Email dana.w@example.com"},
        {"text": "password=hunter2!x"},
        {"id": 7, "text": "Revenue grew 12% in Denver."},
    ]
    path = jsonl(tmp_path, "\n".join(json.dumps(x) for x in lines).encode() + b"\n\n")
    results = [json.loads(line) for line in run(str(path), "--jsonl").splitlines()]
    assert [r["id"] for r in results] == ["a1", None, 7]
    assert [r["decision"] for r in results] == ["pseudonymize", "block", "allow"]
    assert results[0] == {
        "id": "a1",
        "decision": "pseudonymize",
        "sanitized_text": "Email <EMAIL_ADDRESS_1>",
        "findings": [
            {
                "entity_type": "EMAIL_ADDRESS",
                "start": 6,
                "end": 24,
                "score": 1.0,
                "action": "pseudonymize",
            }
        ],
        "policy_version": 1,
    }
    assert results[1]["sanitized_text"] is None


def test_jsonl_bad_lines_get_error_objects_and_the_rest_still_run(tmp_path: Path) -> None:
    """Invalid UTF-8, bad JSON, a missing text and an over-long text each produce an
    error line; good lines around them are still checked; the command then fails."""
    content = b"\n".join(
        [
            b'{"id": 1, "text": "call 415-555-0132"}',
            b'{"id": 2, "text": "caf\xe9"}',
            b"{not json",
            b'{"id": 4, "txt": "typo"}',
            b'["text"]',
            json.dumps({"id": 6, "text": "a" * 50}).encode(),
            b'{"id": 7, "text": ""}',
        ]
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match="5 line"):
        call_command(
            "policy_check",
            str(jsonl(tmp_path, content)),
            "--jsonl",
            "--max-chars",
            "40",
            stdout=out,
        )
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r.get("line"), r.get("error")) for r in results] == [
        (None, None),
        (2, "invalid_utf8"),
        (3, "invalid_json"),
        (4, "invalid_request"),
        (5, "invalid_request"),
        (6, "text_too_long"),
        (None, None),
    ]
    assert results[0]["sanitized_text"] == "call <PHONE_NUMBER_1>"
    assert results[3]["id"] == 4 and results[5]["id"] == 6
    assert results[6] == {
        "id": 7,
        "decision": "allow",
        "sanitized_text": "",
        "findings": [],
        "policy_version": 1,
    }


@pytest.mark.django_db(transaction=True)
def test_command_exit_status_in_a_real_process(tmp_path: Path, live_env: dict[str, str]) -> None:
    """Run as a script: exit 0 for a clean input, 1 when a line could not be checked."""
    good = jsonl(tmp_path, b'{"text": "hello"}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"{oops\n")
    root = Path(__file__).resolve().parents[2]
    base = [sys.executable, str(root / "manage.py"), "policy_check", "--jsonl"]
    # live_env points the child process at the test database (the policy lives there).
    run = {"capture_output": True, "text": True, "cwd": root, "timeout": 120, "env": live_env}
    ok = subprocess.run([*base, str(good)], **run)  # type: ignore[call-overload]
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["decision"] == "allow"
    failed = subprocess.run([*base, str(bad)], **run)  # type: ignore[call-overload]
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["error"] == "invalid_json"
