"""Latency of judging a prompt, on one core after warm-up, and the worker's memory.

    .venv/bin/python bench/bench_policy_latency.py [--repeat 31] [--json out.json]

Pins itself to one CPU and one BLAS thread (a prefork worker process gets one core),
builds the engine, warms it up, then times `judge()` with the default policy on texts of
2 KB, 20 KB and 100 KB of two kinds: pasted support tickets full of personal data (the
generator of bench_policy_quality.py) and ordinary business prose. Reports wall-clock
median (p50) and p90, the CPU-time median (what the process itself used: on a busy shared
machine that is the fairer number), the CPU time of the spaCy NER pass alone over the
same chunks (the floor), and the process RSS once the engine is loaded and at the end.

Targets (issue 5): p50 2 KB <= 25 ms, 20 KB <= 250 ms, 100 KB <= 1.0 s; RSS <= 300 MB.
"""

from __future__ import annotations

import os

# Before numpy/thinc load: one thread, like a worker process sharing the machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import cast  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_policy_quality import Corpus  # noqa: E402
from prompting.policy import PseudonymMap, default_policy, get_analyzer, judge  # noqa: E402
from prompting.policy.analyzer import BATCH_SIZE  # noqa: E402
from prompting.policy.chunking import split_into_chunks  # noqa: E402
from prompting.policy.engine import LeanSpacyNlpEngine  # noqa: E402

SIZES = {"2 KB": 2_000, "20 KB": 20_000, "100 KB": 100_000}
TARGETS_MS = {"2 KB": 25.0, "20 KB": 250.0, "100 KB": 1000.0}
RSS_TARGET_MB = 300.0


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def sample_text(kind: str, size: int, seed: int) -> str:
    """Whole documents joined by blank lines, cut at a paragraph end near `size`."""
    corpus = Corpus(seed)
    make = corpus.pii_doc if kind == "tickets" else corpus.clean_doc
    parts: list[str] = []
    length = 0
    while length < size:
        text = make().text
        parts.append(text)
        length += len(text) + 2
    return "\n\n".join(parts)[:size]


def measure(text: str, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per run. CPU time is what the process itself used:
    on a shared machine it shows the cost without waiting for the core."""
    policy = default_policy()
    analyzer = get_analyzer()
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        judge(text, policy=policy, mapping=PseudonymMap(), analyzer=analyzer)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def measure_ner(text: str, repeat: int) -> list[float]:
    """CPU milliseconds of the spaCy NER pass alone over the same chunks: the floor."""
    analyzer = get_analyzer()
    chunks = [c.text for c in split_into_chunks(text)]
    nlp = cast(LeanSpacyNlpEngine, analyzer.engine.nlp_engine).get_nlp("en")
    cpu = []
    for _ in range(repeat):
        started = time.process_time()
        list(nlp.pipe(chunks, batch_size=BATCH_SIZE))
        cpu.append((time.process_time() - started) * 1000)
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=31, help="runs per 2 KB text")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0, help="the CPU to pin to")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})

    rss_before = rss_mb()
    started = time.perf_counter()
    analyzer = get_analyzer()
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    analyzer.warm_up()
    warm_s = time.perf_counter() - started
    rss_loaded = rss_mb()

    results: dict[str, dict[str, float]] = {}
    print(f"engine build {build_s:.2f} s, warm-up {warm_s * 1000:.0f} ms, "
          f"RSS {rss_before:.0f} MB before, {rss_loaded:.0f} MB loaded")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'text':<18}{'p50 ms':>9}{'p90 ms':>9}{'cpu p50':>9}{'NER cpu':>9}{'target':>9}  ok")
    for kind in ("tickets", "business"):
        for label, size in SIZES.items():
            text = sample_text(kind, size, args.seed)
            repeat = max(7, args.repeat * 2_000 // size)
            measure(text, 2)  # this text's first run: regex and spaCy buffers
            wall, cpu = measure(text, repeat)
            p50 = statistics.median(wall)
            p90 = statistics.quantiles(wall, n=10)[-1] if len(wall) >= 10 else max(wall)
            cpu50 = statistics.median(cpu)
            ner50 = statistics.median(measure_ner(text, repeat))
            target = TARGETS_MS[label]
            results[f"{kind} {label}"] = {
                "p50_ms": round(p50, 1),
                "p90_ms": round(p90, 1),
                "cpu_p50_ms": round(cpu50, 1),
                "ner_cpu_p50_ms": round(ner50, 1),
                "runs": repeat,
                "target_ms": target,
            }
            ok = "yes" if p50 <= target else "NO"
            name = f"{kind} {label}"
            print(f"{name:<18}{p50:>9.1f}{p90:>9.1f}{cpu50:>9.1f}{ner50:>9.1f}{target:>9.0f}  {ok}")
    rss_end = rss_mb()
    print(f"RSS with engine loaded {rss_loaded:.0f} MB, after the runs {rss_end:.0f} MB "
          f"(target <= {RSS_TARGET_MB:.0f} MB)")  # fmt: skip
    if args.json:
        payload = {"build_s": build_s, "warm_up_ms": warm_s * 1000, "rss_loaded_mb": rss_loaded,
                   "rss_end_mb": rss_end, "results": results}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
