"""Checkpoints from celery beat, through the real processes: one shortly after beat
starts (sent to a worker), and one in beat's own process as it stops cleanly, both
in the store — so a fresh `make run` fills var/audit-checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit.models import AuditCheckpoint
from audit.store import DirectoryStore
from audit.verify import verify_log
from tests.audit.conftest import record_many
from tests.support.processes import start_beat
from tests.support.waiting import wait_for

pytestmark = pytest.mark.worker


def test_beat_checkpoints_after_start_and_at_clean_stop(
    transactional_db: None, live_env: dict[str, str], celery_worker_process: Any, tmp_path: Path
) -> None:
    record_many(3)
    store = tmp_path / "store"
    env = {**live_env, "AUDIT_CHECKPOINT_STORE": str(store)}
    beat = start_beat(env, name="audit-beat", schedule=tmp_path / "beat-schedule")
    try:
        wait_for(lambda: AuditCheckpoint.objects.filter(seq=1).exists(), timeout=60)
        record_many(2)
    finally:
        beat.stop()  # SIGTERM: a clean stop
    assert AuditCheckpoint.objects.filter(seq=2).exists(), beat.tail()
    assert sorted(p.name for p in (store / "checkpoints").iterdir()) == [
        "000000000001.json",
        "000000000002.json",
    ]
    result = verify_log(store=DirectoryStore(store))
    assert result.ok, result.summary()
