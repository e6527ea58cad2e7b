"""Insights benchmark on PostgreSQL: 2,000 users, 12 months, 5 million audit events.

    .venv/bin/python bench/bench_insights.py [--events 5000000] [--users 2000] [--keep]

Drops and recreates the database named by BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/prompting_insights), migrates it and bulk-loads the
events through COPY with the hash chain computed here (audit_record writes ~1,000
events/s: 5 million would take hours). Usage grows over the year (400 people in the
first month, all 2,000 in the last), with every action insights reads: prompts with
findings and per-type actions, Rewrite presets, blocks, answers with tokens, cost and
time to first token, sign-ins, overrides, template uses and ratings. Then:
1. `rebuild_insights` over the whole log (what a bulk load or a zone change needs);
2. the /insights/ page for each of the 12 months and for the whole year, through the
   Django test client (full middleware, the page's refresh and its own audit event),
   with a plain page (/templates/) timed in the same run as the baseline;
3. the monthly report (HTML + PDF) for the last complete month.
Prints JSON per phase with the load average; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/prompting_insights")

from bench import bench_audit  # noqa: E402 (after the path and the database URL)

bench_audit.BENCH_URL = os.environ["BENCH_DATABASE_URL"]
PRESETS = ["shorter", "formal", "friendly", "grammar", "bullets", "plain", "custom"]
ACTIONS = ["pseudonymize", "redact", "allow"]
TARGETS_MS = {"month_p95": 300.0, "year_p95": 1000.0, "report_s": 15.0}


def generate_events(
    total: int, users: list[Any], rng: random.Random, after_id: int, prev: str
) -> Any:
    """Row tuples in COPY column order, the chain computed as audit_record would."""
    from audit import actions
    from audit.chain import content_sha256, event_hash, format_timestamp

    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (start - timedelta(days=1)).replace(day=1) - timedelta(days=334)  # ~12 months
    span = datetime.now(UTC).replace(day=1) - start
    step = span / total
    empty = content_sha256("")
    end = after_id + total
    i = after_id
    while i < end:
        progress = (i - after_id) / total
        # Adoption grows: the first fifth of the staff in month one, everyone by the end.
        reach = max(1, int(len(users) * (0.2 + 0.8 * progress)))
        user = users[
            min(int(rng.paretovariate(1.2)) - 1, reach - 1)
            if rng.random() < 0.5
            else rng.randrange(reach)
        ]
        tool = rng.choices(["chat", "rewrite", "summarize"], [6, 3, 1])[0]
        model = rng.choices(bench_audit.MODELS, [3, 6, 1])[0]
        roll = rng.random()
        decision = "block" if roll < 0.05 else ("allow" if roll < 0.55 else "pseudonymize")
        found = rng.sample(bench_audit.ENTITIES, rng.randint(0, 2))
        findings = {e: rng.randint(1, 3) for e in found}
        taken = {e: rng.choice(ACTIONS) for e in found}
        if decision == "block":
            findings["US_SSN"], taken["US_SSN"] = 1, "block"
        common: dict[str, Any] = {
            "tool": tool,
            "model": model,
            "decision": decision,
            "findings": findings,
            "actions": taken,
            "policy_version": 4,
        }
        if tool == "rewrite":
            common["preset"] = rng.choice(PRESETS)
        batch: list[tuple[str, str, dict[str, Any]]] = []
        if rng.random() < 0.03:
            batch.append((actions.ACCOUNT_SIGN_IN, "ok", {"method": "oidc"}))
        if rng.random() < 0.05:
            template = rng.randint(1, 40)
            batch.append(
                (
                    actions.TEMPLATE_USED,
                    "ok",
                    {"tool": tool, "template_id": template, "shared": template <= 10},
                )
            )
        if decision == "block":
            batch.append(
                (actions.PROMPT_BLOCKED, "blocked", {**common, "blocked_types": ["US_SSN"]})
            )
        else:
            if rng.random() < 0.02:
                batch.append(
                    (
                        actions.POLICY_OVERRIDE,
                        "ok",
                        {"entity_type": rng.choice(bench_audit.ENTITIES), "reason": "x"},
                    )
                )
            text = f"sanitized {i}"
            batch.append(
                (
                    actions.PROMPT_SUBMITTED,
                    "ok",
                    {**common, "sanitized_sha256": hashlib.sha256(text.encode()).hexdigest()},
                )
            )
            outcome = rng.choices(["done", "failed", "interrupted", "cancelled"], [95, 3, 1, 1])[0]
            tokens_in, tokens_out = rng.randint(50, 4000), rng.randint(20, 1500)
            cost = (Decimal(tokens_in) * 3 + Decimal(tokens_out) * 15) / Decimal(1_000_000)
            batch.append(
                (
                    actions.GENERATION_FINISHED,
                    outcome,
                    {
                        "tool": tool,
                        "model": model,
                        "input_tokens": tokens_in,
                        "output_tokens": tokens_out,
                        "cost_usd": f"{cost:.6f}",
                        "ttft_ms": int(rng.lognormvariate(6.6, 0.4)),
                        "error_code": "",
                        **({"preset": common["preset"]} if "preset" in common else {}),
                    },
                )
            )
            if rng.random() < 0.08:
                batch.append(
                    (
                        actions.FEEDBACK_GIVEN,
                        "ok",
                        {"tool": tool, "rating": rng.choice(["up", "up", "up", "down"])},
                    )
                )
        for action, outcome, details in batch:
            if i >= end:
                break
            i += 1
            created = start + step * (i - after_id)
            fields = {
                "id": i,
                "created_at": format_timestamp(created),
                "actor_id": user.id,
                "actor_label": user.email,
                "actor_department": user.department,
                "action": action,
                "target_type": "",
                "target_id": "",
                "outcome": outcome,
                "tool": details.get("tool", ""),
                "model": details.get("model", ""),
                "decision": details.get("decision", ""),
                "input_tokens": details.get("input_tokens"),
                "output_tokens": details.get("output_tokens"),
                "cost_usd": details.get("cost_usd"),
                "details": details,
                "content_sha256": empty,
                "prev_hash": prev,
            }
            digest = event_hash(fields)
            yield (
                i,
                created,
                user.id,
                user.email,
                user.department,
                action,
                "",
                "",
                outcome,
                fields["tool"],
                fields["model"],
                fields["decision"],
                fields["input_tokens"],
                fields["output_tokens"],
                fields["cost_usd"],
                json.dumps(details),
                "",
                empty,
                prev,
                digest,
            )
            prev = digest


def bulk_load(total: int, users: list[Any]) -> dict[str, Any]:
    from django.db import connection

    from audit.chain import GENESIS
    from audit.models import AuditChainHead, AuditEvent

    rng = random.Random(20261130)
    existing = AuditEvent.objects.order_by("-id").values_list("id", "hash").first() or (0, GENESIS)
    AuditChainHead.objects.all().delete()
    started = time.perf_counter()
    last: tuple[Any, ...] = ()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY audit_auditevent ({bench_audit.COPY_COLUMNS}) FROM STDIN"
        ) as copy:
            for row in generate_events(total, users, rng, existing[0], existing[1]):
                copy.write_row(row)
                last = row
        cursor.execute(
            "INSERT INTO audit_auditchainhead (id, seq, hash) VALUES (1, %s, %s)",
            [last[0], last[-1]],
        )
        loaded = time.perf_counter() - started
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    return {"events": total, "load_seconds": round(loaded, 1)}


def measure_rebuild() -> dict[str, Any]:
    from django.db import connection

    from insights.models import ActiveDay, CountRollup, UsageRollup
    from insights.rollup import rollups_rebuild

    started = time.perf_counter()
    result = rollups_rebuild()
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "seconds": round(elapsed, 1),
        "events_folded": result.events,
        "events_per_s": round(result.events / elapsed),
        "active_day_rows": ActiveDay.objects.count(),
        "usage_rows": UsageRollup.objects.count(),
        "count_rows": CountRollup.objects.count(),
    }


def _timed(client: Any, url: str, repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return bench_audit.summary(times)


def measure_pages(repeats: int) -> dict[str, Any]:
    from django.test import Client

    from accounts.models import User
    from accounts.roles import INSIGHTS_VIEWER
    from accounts.services import user_roles_sync
    from insights.periods import add_months, company_today

    viewer, _ = User.objects.get_or_create(
        username="bench-viewer", defaults={"department": "Strategy"}
    )
    user_roles_sync(user=viewer, roles={INSIGHTS_VIEWER}, source="bench")
    client = Client(HTTP_HOST="localhost")
    client.force_login(viewer)
    last = company_today().replace(day=1)
    months = [add_months(last, -k) for k in range(12, 0, -1)]
    client.get("/templates/")
    client.get(f"/insights/?period=month&month={months[-1]:%Y-%m}")  # warm
    results: dict[str, Any] = {"baseline /templates/": _timed(client, "/templates/", repeats)}
    all_months: list[float] = []
    for month in months:
        timing = _timed(client, f"/insights/?period=month&month={month:%Y-%m}", repeats)
        results[f"{month:%Y-%m}"] = timing
        all_months.append(timing["p95"])
    results["month_p95_worst"] = max(all_months)
    year = (
        f"/insights/?period=custom&from={months[0]:%Y-%m-%d}&to={last - timedelta(days=1):%Y-%m-%d}"
    )
    results["year"] = _timed(client, year, max(3, repeats // 2))
    return results


def measure_report() -> dict[str, Any]:
    from insights.periods import add_months, company_today
    from insights.services import adoption_report_create

    month = add_months(company_today().replace(day=1), -1)
    started = time.perf_counter()
    report = adoption_report_create(month=month)
    elapsed = time.perf_counter() - started
    return {
        "month": f"{month:%Y-%m}",
        "seconds": round(elapsed, 2),
        "pdf_bytes": len(bytes(report.pdf)),
        "html_bytes": len(report.html),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database")
    parser.add_argument(
        "--rebuild", action="store_true", help="with --keep: migrate and rebuild the rollups"
    )
    args = parser.parse_args()
    if not args.keep:
        bench_audit.recreate_database()
    bench_audit.setup_django()
    from django.core.management import call_command

    from accounts.models import User

    results: dict[str, Any] = {}
    phases: list[tuple[str, Any]] = [
        ("rebuild", measure_rebuild),
        ("pages", lambda: measure_pages(args.repeats)),
        ("report", measure_report),
    ]
    if not args.keep:
        call_command("migrate", verbosity=0)
        bench_audit.make_users(args.users)
        users = list(User.objects.filter(username__startswith="user").order_by("id"))
        phases.insert(0, ("load", lambda: bulk_load(args.events, users)))
    elif args.rebuild:
        call_command("migrate", verbosity=0)
    else:
        phases = phases[1:]  # the rollups of the kept database are current
    results["machine"] = bench_audit.machine()
    for name, phase in phases:
        before = os.getloadavg()
        results[name] = phase()
        results[name + "_load_avg"] = [round(before[0], 2), round(os.getloadavg()[0], 2)]
        print(name, json.dumps(results[name], indent=1), results[name + "_load_avg"], flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"insights-{int(time.time())}.json").write_text(json.dumps(results, indent=2))
    missed = []
    if "pages" in results and results["pages"]["month_p95_worst"] > TARGETS_MS["month_p95"]:
        missed.append("month page p95")
    if "pages" in results and results["pages"]["year"]["p95"] > TARGETS_MS["year_p95"]:
        missed.append("year page p95")
    if "report" in results and results["report"]["seconds"] > TARGETS_MS["report_s"]:
        missed.append("report")
    print("targets missed:" if missed else "targets met", ", ".join(missed), flush=True)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
