"""Audit log benchmark on PostgreSQL: write latency, verification rate, list page at 1M.

    .venv/bin/python bench/bench_audit.py [--events 1000000] [--writes 2000] [--keep]
        [--checkpoint-every 1000] [--only verify,pages,export,writes,checkpoint]

Drops and recreates the database named by BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/bench_audit), migrates it, bulk-loads
--events events with a precomputed hash chain through COPY, then measures:
1. audit_record's cost inside a request's transaction (alone, and with 4
   concurrent writers contending for the chain head),
2. verify_audit_log's rate over the whole chain,
3. the reviewer list page (Django test client, full middleware, including the
   page's own audit.viewed write) for several filter sets,
4. CSV export throughput,
5. a checkpoint with off-box delivery (directory; S3 with Object Lock on moto's server).
Signed checkpoints every --checkpoint-every events are loaded with the events (and
copied to a directory store), so verification includes signatures, the store and
the daily totals; writes and verification connect as the application's restricted
role (BENCH_APP_ROLE, created if missing; bench/audit_integrity.py).
Prints a Markdown table and writes bench/results/audit.json (not committed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_audit")

DEPARTMENTS = [
    "Support", "Support", "Support", "Driver Ops", "Rider Ops", "Finance", "Legal", "Marketing",
    "Engineering", "Data", "Safety", "Payments", "HR", "Sales", "Partnerships", "Trust",
    "Insurance", "Fleet", "Growth", "COO office", "Security", "Procurement",
]  # fmt: skip
MODELS = [
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
]
ENTITIES = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "LOCATION"]
SANITIZED = (
    "Please summarise the complaint from <PERSON_1> (<EMAIL_ADDRESS_1>) about trip "
    "TR-<ID>: the driver took a longer route and the fare was higher than quoted. "
    "Draft a polite reply offering a partial refund and explaining the fare policy. "
)


def recreate_database() -> None:
    import psycopg

    name = BENCH_URL.rsplit("/", 1)[1]
    admin = BENCH_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["TESTING"] = "false"
    os.environ.setdefault("DEBUG", "true")  # development secrets (DEBUG defaults to false)
    Path(os.environ["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log growing over a million calls
    settings.ALLOWED_HOSTS = ["localhost"]


def make_users(count: int) -> list[Any]:
    from accounts.models import User

    users = [
        User(
            username=f"user{i}",
            email=f"user{i}@company.example",
            display_name=f"User {i}",
            department=DEPARTMENTS[i % len(DEPARTMENTS)],
        )
        for i in range(count)
    ]
    User.objects.bulk_create(users, batch_size=1000)
    return list(User.objects.order_by("id"))


def generate_events(
    total: int, users: list[Any], rng: random.Random, after_id: int, prev: str
) -> Any:
    """Yields row tuples in COPY column order with the chain computed here, continuing
    the chain after event `after_id` (migrations may have written a few)."""
    from audit import actions
    from audit.chain import content_sha256, event_hash, format_timestamp

    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / total
    end = after_id + total
    i = after_id
    while i < end:
        user = rng.choice(users)
        tool = rng.choices(["chat", "rewrite", "summarize"], [6, 3, 1])[0]
        model = rng.choices(MODELS, [3, 6, 1])[0]
        roll = rng.random()
        decision = "block" if roll < 0.08 else ("allow" if roll < 0.55 else "pseudonymize")
        findings = {e: rng.randint(1, 3) for e in rng.sample(ENTITIES, rng.randint(0, 2))}
        if decision == "block":
            findings["US_SSN"] = 1
        batch: list[tuple[str, str, dict[str, Any], str]] = []
        if rng.random() < 0.04:
            batch.append((actions.ACCOUNT_SIGN_IN, "ok", {"method": "oidc"}, ""))
        text = SANITIZED.replace("<ID>", str(i))
        batch.append(
            (
                actions.PROMPT_SUBMITTED,
                "ok",
                {
                    "tool": tool, "model": model, "region": "us-east-1", "policy_version": 4,
                    "decision": decision, "findings": findings, "input_chars": len(text) + 40,
                    "sanitized_sha256": hashlib.sha256(text.encode()).hexdigest(),
                },
                text,
            )
        )  # fmt: skip
        if decision == "block":
            batch.append(
                (
                    actions.PROMPT_BLOCKED,
                    "blocked",
                    {
                        "tool": tool, "model": model, "policy_version": 4,
                        "blocked_types": ["US_SSN"], "findings": findings,
                        "reason": "US_SSN is not allowed",
                    },
                    "",
                )
            )  # fmt: skip
        else:
            outcome = rng.choices(["done", "failed", "interrupted", "cancelled"], [95, 3, 1, 1])[0]
            tokens_in, tokens_out = rng.randint(50, 4000), rng.randint(20, 1500)
            cost = (Decimal(tokens_in) * 3 + Decimal(tokens_out) * 15) / Decimal(1_000_000)
            batch.append(
                (
                    actions.GENERATION_FINISHED,
                    outcome,
                    {
                        "tool": tool, "model": model, "input_tokens": tokens_in,
                        "output_tokens": tokens_out, "cost_usd": f"{cost:.6f}",
                        "ttft_ms": rng.randint(400, 2000), "latency_ms": rng.randint(800, 30000),
                        "error_code": "" if outcome == "done" else outcome,
                    },
                    "",
                )
            )  # fmt: skip
        for action, outcome, details, content in batch:
            if i >= end:
                break
            i += 1
            created = start + step * (i - after_id)
            cost_text = details.get("cost_usd")
            fields = {
                "id": i,
                "created_at": format_timestamp(created),
                "actor_id": user.id,
                "actor_label": user.email,
                "actor_department": user.department,
                "action": action,
                "target_type": "prompting.run" if action.startswith(("prompt", "gen")) else "",
                "target_id": "",
                "outcome": outcome,
                "tool": details.get("tool", ""),
                "model": details.get("model", ""),
                "decision": details.get("decision", ""),
                "input_tokens": details.get("input_tokens"),
                "output_tokens": details.get("output_tokens"),
                "cost_usd": cost_text,
                "details": details,
                "content_sha256": content_sha256(content),
                "prev_hash": prev,
            }
            digest = event_hash(fields)
            yield (
                i, created, user.id, user.email, user.department, action, fields["target_type"],
                "", outcome, fields["tool"], fields["model"], fields["decision"],
                fields["input_tokens"], fields["output_tokens"], cost_text,
                json.dumps(details), content, fields["content_sha256"], prev, digest,
            )  # fmt: skip
            prev = digest


COPY_COLUMNS = (
    "id, created_at, actor_id, actor_label, actor_department, action, target_type, target_id, "
    "outcome, tool, model, decision, input_tokens, output_tokens, cost_usd, details, content, "
    "content_sha256, prev_hash, hash"
)


def bulk_load(total: int, users: list[Any]) -> dict[str, float]:
    from django.db import connection

    from audit.chain import GENESIS

    rng = random.Random(20261127)
    started = time.perf_counter()
    last: tuple[Any, ...] = ()
    with connection.cursor() as cursor:
        # A bulk load is the owner's job: the append trigger checks rows one by one.
        # The year of events starts a year ago, so the few events migrate wrote today
        # go first (times must not go back along the chain).
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("TRUNCATE audit_auditevent, audit_auditchainhead")
        existing = (0, GENESIS)
        raw = cursor.cursor
        with raw.copy(f"COPY audit_auditevent ({COPY_COLUMNS}) FROM STDIN") as copy:
            for row in generate_events(total, users, rng, existing[0], existing[1]):
                copy.write_row(row)
                last = row
        cursor.execute(
            "INSERT INTO audit_auditchainhead (id, seq, hash) VALUES (1, %s, %s)",
            [last[0], last[-1]],
        )
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
        loaded = time.perf_counter() - started
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    from audit.totals import daily_totals_rebuild

    started = time.perf_counter()
    rollup_rows = daily_totals_rebuild()
    rebuilt = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditdailytotal")
    return {
        "load_seconds": round(loaded, 1),
        "events": total,
        "daily_total_rows": rollup_rows,
        "rebuild_totals_seconds": round(rebuilt, 1),
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "p50": round(statistics.median(values_ms), 3),
        "p95": round(percentile(values_ms, 95), 3),
        "p99": round(percentile(values_ms, 99), 3),
    }


def measure_writes(count: int, users: list[Any]) -> dict[str, Any]:
    """A request-like transaction (update a row) with and without audit_record."""
    from django.db import transaction

    from accounts.models import User
    from audit import actions
    from audit.services import audit_record

    user = users[0]
    details = {
        "tool": "chat", "model": MODELS[1], "region": "us-east-1", "policy_version": 4,
        "decision": "pseudonymize", "findings": {"PERSON": 1}, "input_chars": 300,
        "sanitized_sha256": "0" * 64,
    }  # fmt: skip

    def baseline() -> None:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(last_login=datetime.now(UTC))

    def with_audit() -> None:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(last_login=datetime.now(UTC))
            audit_record(
                actor=user, action=actions.PROMPT_SUBMITTED, details=details, content=SANITIZED
            )

    def alone() -> None:
        audit_record(
            actor=user, action=actions.PROMPT_SUBMITTED, details=details, content=SANITIZED
        )

    results: dict[str, Any] = {}
    for name, func in (
        ("baseline_tx", baseline),
        ("tx_with_audit", with_audit),
        ("audit_record_alone", alone),
    ):
        for _ in range(50):
            func()
        samples = []
        for _ in range(count):
            t0 = time.perf_counter()
            func()
            samples.append((time.perf_counter() - t0) * 1000)
        results[name] = summary(samples)
    results["added_p95_ms"] = round(
        results["tx_with_audit"]["p95"] - results["baseline_tx"]["p95"], 3
    )
    results["added_p50_ms"] = round(
        results["tx_with_audit"]["p50"] - results["baseline_tx"]["p50"], 3
    )
    results["concurrent_4_writers"] = _concurrent(4, count // 4, alone)
    return results


def _concurrent(threads: int, each: int, func: Any) -> dict[str, float]:
    from django.db import connection

    samples: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        local = []
        for _ in range(each):
            t0 = time.perf_counter()
            func()
            local.append((time.perf_counter() - t0) * 1000)
        connection.close()
        with lock:
            samples.extend(local)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    return {**summary(samples), "events_per_s": round(len(samples) / elapsed)}


def measure_verify() -> dict[str, Any]:
    """Two runs each with one process and with one per CPU; the better run counts
    (the first run of the day also pays for reading the table into the cache). The
    whole of verify_audit_log: chain, signatures, store, purges, totals, protection."""
    from audit.verify import verify_log

    results: dict[str, Any] = {}
    for jobs in (1, os.cpu_count() or 1):
        runs = []
        for _ in range(2):
            result = verify_log(jobs=jobs, min_segment=10_000)
            assert result.ok, result.summary()
            runs.append(result.events / result.seconds)
        results[f"jobs={jobs}"] = {
            "events": result.events,
            "events_per_s": [round(rate) for rate in runs],
            "summary": result.summary(),
        }
    return results


def measure_pages(repeats: int) -> dict[str, Any]:
    from django.test import Client

    from accounts.models import User
    from accounts.roles import COMPLIANCE_REVIEWER
    from accounts.services import user_roles_sync

    reviewer, _ = User.objects.get_or_create(
        username="rita", defaults={"email": "rita@company.example", "department": "COO office"}
    )
    user_roles_sync(user=reviewer, roles={COMPLIANCE_REVIEWER}, source="bench")
    client = Client(HTTP_HOST="localhost")
    client.force_login(reviewer)
    some_user = User.objects.get(username="user7")
    cases = {
        "unfiltered, first page": {},
        "last month + Support + blocked": {
            "period": "last_month",
            "department": "Support",
            "outcome": "blocked",
        },
        "last 30 days + entity PERSON": {"period": "last_30_days", "entity_type": "PERSON"},
        "one user, whole year": {"user": some_user.email},
        "Legal + decision block + rare model": {
            "department": "Legal",
            "decision": "block",
            "model": MODELS[2],
        },
        "Support, deep page (before=#300000)": {"department": "Support", "before": "300000"},
        "tool summarize + outcome failed": {"tool": "summarize", "outcome": "failed"},
    }
    results = {}
    for name, params in cases.items():
        for _ in range(3):
            assert client.get("/audit/", params).status_code == 200
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            response = client.get("/audit/", params)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        results[name] = {**summary(samples), "rows": response.content.count(b'aria-label="Event ')}
    return results


def measure_export() -> dict[str, Any]:
    from django.test import Client

    from accounts.models import User
    from accounts.roles import COMPLIANCE_REVIEWER
    from accounts.services import user_roles_sync

    reviewer, _ = User.objects.get_or_create(username="rita", defaults={"department": "COO office"})
    user_roles_sync(user=reviewer, roles={COMPLIANCE_REVIEWER}, source="bench")
    client = Client(HTTP_HOST="localhost")
    client.force_login(reviewer)
    t0 = time.perf_counter()
    response = client.get("/audit/export.csv", {"department": "Support", "period": "last_30_days"})
    size = rows = 0
    for chunk in response.streaming_content:  # type: ignore[attr-defined]
        size += len(chunk)
        rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - t0
    return {
        "rows": rows - 1,
        "bytes": size,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(rows / elapsed),
    }


def machine() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} vCPU",
        "ram": f"{mem_kb // 1024 // 1024} GB",
        "postgresql": pg,
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--page-repeats", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database")
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--checkpoints", type=int, default=100, help="timed checkpoints")
    parser.add_argument(
        "--only",
        default="verify,pages,export,writes,checkpoint",
        help="comma-separated phases to run (default: all)",
    )
    args = parser.parse_args()
    if not args.keep:
        recreate_database()
    setup_django()
    from django.core.management import call_command

    from accounts.models import User
    from bench import audit_integrity

    results: dict[str, Any] = {}
    if not args.keep:
        call_command("migrate", verbosity=0)
        users = make_users(500)
        results["load"] = bulk_load(args.events, users)
        results["load"]["checkpoints"] = audit_integrity.load_checkpoints(args.checkpoint_every)
        print("loaded", results["load"], flush=True)
    else:
        from django.conf import settings

        settings.AUDIT_CHECKPOINT_STORE = str(audit_integrity.STORE_DIR)
    audit_integrity.restricted_role()
    users = list(User.objects.filter(username__startswith="user").order_by("id"))
    results["machine"] = machine()
    phases = {
        "verify": measure_verify,
        "pages": lambda: measure_pages(args.page_repeats),
        "export": measure_export,
        "writes": lambda: measure_writes(args.writes, users),
        "checkpoint": lambda: audit_integrity.measure_checkpoint(args.checkpoints),
    }
    for name in args.only.split(","):
        # The load average says how busy the (shared) machine was during the phase.
        before = os.getloadavg()[0]
        results[name] = phases[name]()
        results[name + "_load_avg"] = [round(before, 2), round(os.getloadavg()[0], 2)]
        print(name, json.dumps(results[name], indent=1), results[name + "_load_avg"], flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"audit-{int(time.time())}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
