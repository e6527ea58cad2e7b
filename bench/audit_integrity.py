"""Issue 11's parts of the audit benchmark (used by bench/bench_audit.py):

- signed checkpoints for the bulk-loaded chain, one every --checkpoint-every events,
  chained and Ed25519-signed like checkpoint_create's, copied to a directory store,
  so verification includes signature checks and the store comparison;
- the application's restricted role (SELECT/INSERT on the audit tables), which the
  write and verify phases connect as;
- a checkpoint with off-box delivery: checkpoint_create() timed against a directory
  store and against S3 with Object Lock served by moto's server in its own process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP_ROLE = os.environ.get("BENCH_APP_ROLE", "bench_audit_app")
STORE_DIR = ROOT / "var" / "bench" / "audit-checkpoints"


def load_checkpoints(every: int) -> dict[str, Any]:
    """Checkpoints covering the loaded events in steps of `every`, in the database
    (triggers off: a bulk load by the owner) and in a fresh directory store."""
    from django.conf import settings
    from django.db import connection

    from audit import signing
    from audit.checkpoints import record_body, signed_payload
    from audit.models import AuditCheckpoint, AuditEvent
    from audit.store import DirectoryStore

    shutil.rmtree(STORE_DIR, ignore_errors=True)
    store = DirectoryStore(STORE_DIR)
    key = signing.private_key(settings.AUDIT_SIGNING_KEY)
    public = signing.public_key_text(key)
    store.put_key(signing.key_id(public), public)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ends = list(range(every, last + 1, every))
    hashes = dict(AuditEvent.objects.filter(id__in=ends).values_list("id", "hash"))
    times = dict(AuditEvent.objects.filter(id__in=ends).values_list("id", "created_at"))
    started = time.perf_counter()
    rows, previous, first = [], "", 1
    for seq, end in enumerate(ends, start=1):
        checkpoint = AuditCheckpoint(
            seq=seq, created_at=times[end], first_event_id=first, last_event_id=end,
            last_hash=hashes[end], event_count=end, retention_days=settings.AUDIT_RETENTION_DAYS,
            key_id=signing.key_id(public), next_public_key="", prev_signature=previous,
        )  # fmt: skip
        from audit.checkpoints import checkpoint_record

        checkpoint.signature = signing.sign(key, signed_payload(checkpoint_record(checkpoint)))
        store.put(seq, record_body(checkpoint_record(checkpoint)))
        rows.append(checkpoint)
        previous, first = checkpoint.signature, end + 1
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER USER")
        AuditCheckpoint.objects.bulk_create(rows, batch_size=2000)
        cursor.execute("ALTER TABLE audit_auditcheckpoint ENABLE TRIGGER USER")
    settings.AUDIT_CHECKPOINT_STORE = str(STORE_DIR)
    return {"checkpoints": len(rows), "seconds": round(time.perf_counter() - started, 1)}


def restricted_role() -> None:
    """From here on the benchmark connects as the application's role."""
    from django.db import connection

    from audit.roles import grants_apply, switch_credentials

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN')
    grants_apply(connection, APP_ROLE)
    switch_credentials(connection, {**connection.settings_dict, "USER": APP_ROLE, "PASSWORD": ""})
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == APP_ROLE


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's S3 server in its own process (as a real S3 would be: not sharing our GIL)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def measure_checkpoint(count: int) -> dict[str, Any]:
    """checkpoint_create() after each new event: sign, insert, deliver (directory, then
    S3 with COMPLIANCE-mode Object Lock)."""
    import boto3
    from django.conf import settings

    from audit import actions
    from audit.checkpoints import checkpoint_create
    from audit.services import audit_record
    from audit.store import DirectoryStore, S3Store
    from bench.bench_audit import summary

    def timed(store: Any) -> dict[str, float]:
        samples = []
        for i in range(count + 5):
            audit_record(actor="system:bench", action=actions.AUDIT_VIEWED, details={"i": i})
            t0 = time.perf_counter()
            assert checkpoint_create(store=store) is not None
            if i >= 5:  # the first ones pay for clients and key files
                samples.append((time.perf_counter() - t0) * 1000)
        return summary(samples)

    results = {"directory": timed(DirectoryStore(STORE_DIR))}
    with moto_s3() as endpoint:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        boto3.client("s3", endpoint_url=endpoint).create_bucket(
            Bucket="bench-audit", ObjectLockEnabledForBucket=True
        )
        settings.AUDIT_CHECKPOINT_STORE_ENDPOINT_URL = endpoint
        store = S3Store("bench-audit", "audit")
        # The S3 store starts empty: deliver the backlog first (not timed).
        from audit.checkpoints import deliver_pending

        started = time.perf_counter()
        backlog = deliver_pending(store)
        results["s3_backlog"] = {
            "checkpoints": backlog,
            "seconds": round(time.perf_counter() - started, 1),
        }
        results["s3_object_lock"] = timed(store)
    return results
