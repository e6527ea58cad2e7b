"""Latency of judging a prompt, on one core after warm-up, and the worker's memory.

    .venv/bin/python bench/bench_policy_latency.py [--repeat 31] [--json out.json]

Pins itself to one CPU and one BLAS thread (a prefork worker process gets one core),
builds the engine, warms it up, then times `judge()` with the default policy on texts of
2 KB, 20 KB and 100 KB of two kinds: pasted texts full of personal data (tickets, fraud
reviews, onboarding notes... from bench/policy_corpus.py) and ordinary business prose.
Reports wall-clock median (p50) and p90, the CPU-time median (what the process itself
used: on a busy shared machine that is the fairer number), the CPU time of the spaCy NER
pass alone over the same chunks (the floor), what each step added in issue 10 costs on
the same text (analysis view, truecasing, name rules), and, in the same run, out-of-the-
box Presidio with the same spaCy model (`AnalyzerEngine` defaults, one call) as the
baseline. Memory: process RSS once the engine is loaded and at the end.

Targets (issue 10): p50 2 KB <= 25 ms, 20 KB <= 250 ms, 100 KB <= 1.0 s; RSS <= 350 MB.
"""

from __future__ import annotations

import os

# Before numpy/thinc load: one thread, like a worker process sharing the machine.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, cast  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_policy_quality import presidio_out_of_the_box  # noqa: E402
from bench.policy_corpus import Corpus  # noqa: E402
from prompting.policy import PseudonymMap, default_policy, get_analyzer, judge  # noqa: E402
from prompting.policy.analyzer import BATCH_SIZE  # noqa: E402
from prompting.policy.chunking import split_into_chunks  # noqa: E402
from prompting.policy.engine import LeanSpacyNlpEngine  # noqa: E402
from prompting.policy.lexicon import name_lexicon  # noqa: E402
from prompting.policy.names import find_names, truecase  # noqa: E402
from prompting.policy.normalise import analysis_view  # noqa: E402

SIZES = {"2 KB": 2_000, "20 KB": 20_000, "100 KB": 100_000}
TARGETS_MS = {"2 KB": 25.0, "20 KB": 250.0, "100 KB": 1000.0}
RSS_TARGET_MB = 350.0


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


def measure_steps(text: str, repeat: int) -> dict[str, float]:
    """CPU milliseconds (median) of the steps issue 10 added, over the same chunks."""
    lexicon = name_lexicon()
    chunks = [c.text for c in split_into_chunks(analysis_view(text).text)]
    steps = {
        "view": lambda: analysis_view(text),
        "truecase": lambda: [truecase(c, lexicon=lexicon) for c in chunks],
        "names": lambda: [find_names(c, lexicon=lexicon) for c in chunks],
    }
    out = {}
    for name, step in steps.items():
        cpu = []
        for _ in range(repeat):
            started = time.process_time()
            step()
            cpu.append((time.process_time() - started) * 1000)
        out[name] = round(statistics.median(cpu), 2)
    return out


@functools.cache
def baseline_sender() -> Any:
    return presidio_out_of_the_box()


def measure_baseline(text: str, repeat: int) -> float:
    """Wall milliseconds (median) of out-of-the-box Presidio on the same text. Its engine
    is built after the RSS of ours was taken, so our memory figures stay our own."""
    send = baseline_sender()
    send(text)
    wall = []
    for _ in range(repeat):
        started = time.perf_counter()
        send(text)
        wall.append((time.perf_counter() - started) * 1000)
    return statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=31, help="runs per 2 KB text")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0, help="the CPU to pin to")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-baseline", action="store_true", help="skip out-of-the-box Presidio")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})

    rss_before = rss_mb()
    started = time.perf_counter()
    analyzer = get_analyzer()
    build_s = time.perf_counter() - started
    rss_engine = rss_mb()
    started = time.perf_counter()
    name_lexicon()
    lexicon_s = time.perf_counter() - started
    rss_lexicon = rss_mb()
    started = time.perf_counter()
    analyzer.warm_up()
    warm_s = time.perf_counter() - started
    rss_loaded = rss_mb()

    results: dict[str, dict[str, Any]] = {}
    print(f"engine build {build_s:.2f} s, warm-up {warm_s * 1000:.0f} ms, "
          f"RSS {rss_before:.0f} MB before, {rss_loaded:.0f} MB loaded")  # fmt: skip
    print(f"name lexicon: {lexicon_s * 1000:.0f} ms to load, "
          f"+{rss_lexicon - rss_engine:.0f} MB RSS")  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'text':<18}{'p50 ms':>9}{'p90 ms':>9}{'cpu p50':>9}{'NER cpu':>9}{'target':>9}  ok"
          f"   steps cpu ms (view/truecase/names)")  # fmt: skip
    texts = {
        f"{kind} {label}": (
            label, sample_text(kind, size, args.seed), max(7, args.repeat * 2_000 // size)
        )
        for kind in ("tickets", "business")
        for label, size in SIZES.items()
    }  # fmt: skip
    for name, (label, text, repeat) in texts.items():
        measure(text, 2)  # this text's first run: regex and spaCy buffers
        wall, cpu = measure(text, repeat)
        p50 = statistics.median(wall)
        p90 = statistics.quantiles(wall, n=10)[-1] if len(wall) >= 10 else max(wall)
        cpu50 = statistics.median(cpu)
        ner50 = statistics.median(measure_ner(text, repeat))
        steps = measure_steps(text, repeat)
        target = TARGETS_MS[label]
        results[name] = {
            "p50_ms": round(p50, 1),
            "p90_ms": round(p90, 1),
            "cpu_p50_ms": round(cpu50, 1),
            "ner_cpu_p50_ms": round(ner50, 1),
            "runs": repeat,
            "target_ms": target,
            "steps_cpu_ms": steps,
            "load_average": round(os.getloadavg()[0], 2),
        }
        ok = "yes" if p50 <= target else "NO"
        step_text = "/".join(f"{v:.1f}" for v in steps.values())
        print(f"{name:<18}{p50:>9.1f}{p90:>9.1f}{cpu50:>9.1f}{ner50:>9.1f}{target:>9.0f}  {ok:<3}"
              f"  {step_text:<20}  (load {os.getloadavg()[0]:.1f})")  # fmt: skip
    rss_end = rss_mb()
    print(f"RSS with engine loaded {rss_loaded:.0f} MB, after the runs {rss_end:.0f} MB "
          f"(target <= {RSS_TARGET_MB:.0f} MB)")  # fmt: skip
    if not args.no_baseline:
        print("out-of-the-box Presidio, same spaCy model, same texts (p50 wall ms):")
        for name, (_label, text, repeat) in texts.items():
            baseline = measure_baseline(text, max(3, repeat // 3))
            results[name]["presidio_ootb_p50_ms"] = round(baseline, 1)
            ours = results[name]["p50_ms"]
            print(f"{name:<18}{baseline:>9.1f}   ours {ours:.1f} ({ours / baseline:.0%})"
                  f"  (load {os.getloadavg()[0]:.1f})")  # fmt: skip
    if args.json:
        payload = {"build_s": build_s, "warm_up_ms": warm_s * 1000, "rss_loaded_mb": rss_loaded,
                   "rss_end_mb": rss_end, "results": results}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
