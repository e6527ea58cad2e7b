"""verify_audit_log as an operator runs it: one line, exit 0 intact / 1 tampered /
2 cannot check, a JSON report, and the database's protection checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.checkpoints import checkpoint_create
from audit.verify import verify_log
from tests.audit.conftest import record_many
from tests.support.audit_db import owner_cursor, tampering
from tests.support.live import _test_database_url
from tests.support.processes import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def test_intact_log_verifies_with_one_line(store_dir: Path) -> None:
    record_many(20)
    checkpoint_create()
    record_many(5)
    out = StringIO()
    call_command("verify_audit_log", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("audit log intact:")
    assert "1 checkpoints verified (5 events after the newest)" in lines[0]
    assert f"store directory {store_dir} matches" in lines[0]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "manage.py", "verify_audit_log", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)


def test_exit_codes_and_json_report_in_a_real_process(store_dir: Path, tmp_path: Path) -> None:
    """0 and one line when intact; 1 naming the event once edited; 2 when the store is
    missing; each with a JSON report for the compliance team's records."""
    events = record_many(5)
    checkpoint_create()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "AUDIT_CHECKPOINT_STORE": str(store_dir),
    }
    report = tmp_path / "report.json"
    intact = _run(env, "--json", str(report))
    assert intact.returncode == 0, intact.stderr
    assert len(intact.stdout.strip().splitlines()) == 1
    assert json.loads(report.read_text())["status"] == "intact"
    with tampering() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor_label = 'x' WHERE id = %s", [events[2].id]
        )
    broken = _run(env, "--json", str(report))
    assert broken.returncode == 1
    assert f"event #{events[2].id}: edited" in broken.stderr
    data = json.loads(report.read_text())
    assert data["status"] == "tampered" and data["problem"]["event_id"] == events[2].id
    missing = _run({**env, "AUDIT_CHECKPOINT_STORE": str(tmp_path / "nowhere")})
    assert missing.returncode == 2
    assert "cannot be checked" in missing.stderr and "does not exist" in missing.stderr


def test_disabled_trigger_is_a_failure(store_dir: Path) -> None:
    record_many(3)
    checkpoint_create()
    with owner_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only"
            )
        else:
            cursor.execute("DROP TRIGGER audit_auditevent_no_update")
    result = verify_log()
    assert result.exit_code == 1 and result.problem is not None
    assert result.problem.kind == "protection"
    assert "audit_auditevent_" in result.problem.message


def test_missing_table_cannot_be_checked() -> None:
    record_many(3)
    with owner_cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditdailytotal RENAME TO audit_hidden")
    try:
        with pytest.raises(CommandError) as failure:
            call_command("verify_audit_log")
        assert failure.value.returncode == 2
        assert "cannot be checked: the audit tables cannot be read" in str(failure.value)
    finally:
        connection.close()
        with owner_cursor() as cursor:
            cursor.execute("ALTER TABLE audit_hidden RENAME TO audit_auditdailytotal")


def test_a_role_allowed_to_change_rows_is_a_failure(settings: Any) -> None:
    """PostgreSQL: a grant letting anyone but the owner UPDATE audit rows is reported.
    SQLite has no grants: the same check finds nothing to report."""
    record_many(2)
    with owner_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("GRANT UPDATE ON audit_auditevent TO PUBLIC")
    try:
        result = verify_log(store=None)
        if connection.vendor == "postgresql":
            assert result.problem is not None and result.problem.kind == "protection"
            assert "role PUBLIC may UPDATE on audit_auditevent" in result.problem.message
        else:
            assert result.ok, result.summary()
    finally:
        with owner_cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("REVOKE UPDATE ON audit_auditevent FROM PUBLIC")
