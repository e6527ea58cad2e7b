"""The policy step of a previewed message against one that was not previewed (issue 10:
"a previewed message adds no second analysis").

    .venv/bin/python bench/bench_policy_reuse.py [--repeat 15] [--json FILE]

In this process: a fresh SQLite database in a temporary folder, a real Redis (the
embedded one), the real analyzer. For each size (2 KB, 20 KB of support tickets from the
quality corpus, with names, cards and SSNs), a new conversation per sample; measured:
the preview (`preview_compute`), the send (`run_create`) and the policy step
(`run_judge`), with and without a preview before the send. Wall-clock milliseconds,
median and p95; the machine's load is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SIZES = {"2 KB": 2_000, "20 KB": 20_000}


def setup() -> Any:
    var_dir = Path(tempfile.mkdtemp(prefix="bench-reuse-", dir="/tmp"))
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{var_dir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["TESTING"] = "false"
    from config import embedded_redis

    socket_path = var_dir / "r.sock"
    redis_process = embedded_redis.start(socket_path)
    os.environ["REDIS_URL"] = f"unix://{socket_path}"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.REDIS_URL = os.environ["REDIS_URL"]
    call_command("migrate", verbosity=0)
    return redis_process


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    redis_process = setup()
    try:
        results = run(args.repeat)
    finally:
        redis_process.terminate()
    load = os.getloadavg()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"load (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for size, rows in results.items():
        for name, values in rows.items():
            print(
                f"{size:>6} {name:<32} median {statistics.median(values):8.1f} ms"
                f"   p95 {percentile(values, 0.95):8.1f} ms"
            )
    if args.json:
        args.json.write_text(json.dumps({"load": load, "results": results}, indent=2))


def run(repeat: int) -> dict[str, dict[str, list[float]]]:
    from accounts.models import User
    from bench.bench_policy_latency import sample_text
    from prompting import services
    from prompting.policy import warm_up
    from prompting.runs import dispatch, judging, preview
    from prompting.runs import services as run_services

    warm_up()
    user = User.objects.create(username="alice", email="alice@example.com", display_name="Alice")
    results: dict[str, dict[str, list[float]]] = {}
    with dispatch.sending_to(lambda _name, _args: None):
        for size, chars in SIZES.items():
            rows: dict[str, list[float]] = {
                "step, not previewed": [],
                "preview": [],
                "step, previewed (reused)": [],
            }
            for i in range(repeat + 1):  # the first round warms caches, not counted
                text = sample_text("tickets", chars, seed=100 + i)
                conversation = services.conversation_create(owner=user)
                run = run_services.run_create(user=user, conversation=conversation, text=text)
                started = time.perf_counter()
                judging.run_judge(run_id=run.pk)
                cold = (time.perf_counter() - started) * 1000

                conversation = services.conversation_create(owner=user)
                started = time.perf_counter()
                request_id = preview.preview_request(
                    user=user, text=text, conversation_id=conversation.pk
                )
                preview.preview_compute(
                    request_id=request_id, user_id=user.pk, conversation_id=conversation.pk
                )
                previewing = (time.perf_counter() - started) * 1000
                run = run_services.run_create(user=user, conversation=conversation, text=text)
                started = time.perf_counter()
                judging.run_judge(run_id=run.pk)
                warm = (time.perf_counter() - started) * 1000
                if i:
                    rows["step, not previewed"].append(cold)
                    rows["preview"].append(previewing)
                    rows["step, previewed (reused)"].append(warm)
            results[size] = rows
    return results


if __name__ == "__main__":
    main()
