"""In CI (CI=true) a test that would be skipped for a missing dependency fails instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT

SKIPPING_TEST = """
import pytest

def test_needs_something_missing():
    pytest.skip("chromium is not installed")
"""


def run_pytest_on(path: Path, *, ci: str) -> subprocess.CompletedProcess[str]:
    # TESTING=false: the inner run must not flush the Redis the outer run is using.
    env = {**os.environ, "CI": ci, "TESTING": "false"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:randomly"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_skip_becomes_failure_in_ci() -> None:
    """The same skipping test passes locally as a skip and fails with CI=true."""
    path = ROOT / "tests" / "config" / "_generated_skip_probe_test.py"
    path.write_text(SKIPPING_TEST)
    try:
        local = run_pytest_on(path, ci="")
        ci = run_pytest_on(path, ci="true")
    finally:
        path.unlink()
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout
    assert ci.returncode == 1 and "1 failed" in ci.stdout, ci.stdout
    assert "skipped in CI" in ci.stdout
