"""Malformed limit defaults stop start-up with one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.test_startup import clean_env, manage


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LIMITS_USER_DEFAULTS", '{"active_runs": -1}'),
        ("LIMITS_USER_DEFAULTS", '{"requests_per_minute": "lots"}'),
        ("LIMITS_USER_DEFAULTS", '{"runs_per_hour": 5}'),
        ("LIMITS_DEPARTMENT_DEFAULTS", '{"usd_per_month": 1e40}'),
        ("LIMITS_DEPARTMENT_DEFAULTS", "[3]"),
        ("LIMITS_TIME_ZONE", "Mars/Olympus"),
        ("LIMITS_MAX_OPEN_STREAMS", "0"),
    ],
)
def test_bad_limit_settings_stop_startup_with_one_line(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = manage("check", env=clean_env(tmp_path, **{variable: value}))
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert variable in lines[0] or (variable == "LIMITS_TIME_ZONE" and "TIME_ZONE" in lines[0])
