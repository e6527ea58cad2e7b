"""Audit actions are a StrEnum, and `audit_record(action=...)` is typed with it: mypy
rejects a bare string, so an action cannot be misspelled past `make lint`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from audit.actions import ALL_ACTIONS, Action

ROOT = Path(__file__).resolve().parents[2]


def test_actions_are_their_own_names() -> None:
    """Each member compares equal to the string stored in the database."""
    assert Action.PROMPT_SUBMITTED == "prompt.submitted"
    assert set(ALL_ACTIONS) == set(Action)
    assert len({a.value for a in Action}) == len(Action)


def _mypy(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    module = tmp_path / "uses_audit_record.py"
    module.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--follow-imports", "silent", "--no-incremental", str(module)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_mypy_rejects_a_string_and_accepts_a_member(tmp_path: Path) -> None:
    """The same call type-checks with Action.PROMPT_SUBMITTED and fails with its string."""
    header = "from audit.actions import Action\nfrom audit.services import audit_record\n"
    bad = _mypy(header + 'audit_record(actor=None, action="prompt.submitted")\n', tmp_path)
    assert bad.returncode == 1, bad.stdout
    assert 'incompatible type "str"' in bad.stdout and '"Action"' in bad.stdout
    good = _mypy(header + "audit_record(actor=None, action=Action.PROMPT_SUBMITTED)\n", tmp_path)
    assert good.returncode == 0, good.stdout
