"""What redacting on arrival costs (docs/policy.md, "Wave 3"): `redact_for_storage` with
the web process's pattern-only analyzer and the default policy, on one core.

    .venv/bin/python bench/bench_redact_on_arrival.py [--repeat 101] [--cpu 0]

This runs in the chat/rewrite POST for a message that was not previewed as it is (issue
13: keep it under ~2 ms for 2 KB) and in the web process for a pasted document (up to
2,000,000 characters). Texts: the latency benchmark's tickets (full of personal data)
and business prose, 2 KB to 1 MB. Reports wall p50/p90 and CPU p50, the engine's build
time and the process RSS with the pattern-only engine loaded (no NER model).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_policy_latency import rss_mb, sample_text  # noqa: E402
from prompting.policy import default_policy, get_pattern_analyzer, redact_for_storage  # noqa: E402

SIZES = {"2 KB": 2_000, "20 KB": 20_000, "100 KB": 100_000, "1 MB": 1_000_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=101, help="runs per 2 KB text")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    policy = default_policy()
    rss_before = rss_mb()
    started = time.perf_counter()
    analyzer = get_pattern_analyzer()
    redact_for_storage("card 4111 1111 1111 1111", policy=policy, analyzer=analyzer)
    build_s = time.perf_counter() - started
    load = os.getloadavg()[0]
    print(f"pattern-only engine: {build_s:.2f} s to build and warm, RSS {rss_before:.0f} -> "
          f"{rss_mb():.0f} MB; load average {load:.2f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'text':<18}{'p50 ms':>9}{'p90 ms':>9}{'cpu p50':>9}{'marks':>7}")
    for kind in ("tickets", "business"):
        for label, size in SIZES.items():
            text = sample_text(kind, size, args.seed)
            repeat = max(5, args.repeat * 2_000 // size)
            marks = redact_for_storage(text, policy=policy, analyzer=analyzer, max_chars=size)[1]
            wall, cpu = [], []
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                redact_for_storage(text, policy=policy, analyzer=analyzer, max_chars=size)
                wall.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            p90 = statistics.quantiles(wall, n=10)[-1] if len(wall) >= 10 else max(wall)
            load = os.getloadavg()[0]
            print(f"{kind + ' ' + label:<18}{statistics.median(wall):>9.2f}{p90:>9.2f}"
                  f"{statistics.median(cpu):>9.2f}{len(marks):>7}  (load {load:.1f})")  # fmt: skip
    print(f"RSS at the end {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
