"""Open-loop and fairness modes of bench/bench_full_path.py (issue 13).

- open loop: messages arrive at a fixed rate whatever the answers do (users do not wait
  for the previous answer), from `users` employees, ~2 KB prompts with personal data.
  The baseline is the same arrival schedule straight through boto3.
- fairness: one employee submits `heavy` long answers at once while `victims` others
  chat (one message each, a second apart); reported: the others' added time to first
  token, and what happened to the heavy user's requests (admitted or refused).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.bench_bedrock_baseline import (
    MODEL_ID,
    StreamSample,
    boto3_token_stream,
    measure_stream,
    summarize,
)
from bench.bench_full_path import (
    FullSample,
    RssSampler,
    Stack,
    _minus,
    _one_message,
    stage_breakdown,
    summarize_full,
)

# Personal data the policy pseudonymizes (and the answer restores): names, emails, phones.
PEOPLE = (
    ("Maria Gonzalez", "maria.gonzalez@example.com", "(415) 555-0132"),
    ("John Smith", "john.smith@example.org", "(212) 555-0187"),
    ("Aisha Khan", "aisha.khan@example.net", "(646) 555-0110"),
    ("Pierre Dubois", "pierre.dubois@example.com", "(718) 555-0199"),
)
FILLER = (
    "The rider reported that the pickup point was moved twice and the driver waited at "
    "the wrong corner, so the trip was cancelled and a fee was charged by mistake. "
)


def pii_prompt(index: int, size: int = 2048) -> str:
    """About `size` characters: a ticket with two customers' names, emails and phones."""
    a, b = PEOPLE[index % len(PEOPLE)], PEOPLE[(index + 1) % len(PEOPLE)]
    head = (
        f"Ticket {index}. Customer {a[0]} ({a[1]}, {a[2]}) wrote about a refund; "
        f"{b[0]} can be reached at {b[1]} or {b[2]}. "
    )
    body = FILLER * (1 + max(0, size - len(head)) // len(FILLER))
    return (head + body)[:size].rsplit(" ", 1)[0]


def long_prompt(index: int, words: int = 400) -> str:
    return f"heavy{index} " + " ".join(f"w{n}" for n in range(words - 1))


def short_prompt(index: int) -> str:
    return f"victim{index} please answer in one line"


def echo(text_for: Callable[[int], str]) -> Callable[[int], str]:
    return lambda index: f"You said: {text_for(index)}"


def run_full_scheduled(
    base_url: str, plan: list[tuple[float, str, str]]
) -> tuple[list[FullSample], float]:
    """Send each (offset_s, cookie, text) at its time, concurrently; returns the samples
    and the wall time."""

    async def main() -> list[FullSample]:
        samples = [FullSample(index=i) for i in range(len(plan))]
        zero = time.perf_counter() + 0.1
        await asyncio.gather(
            *(
                _one_message(samples[i], base_url, cookie, text, zero + offset)
                for i, (offset, cookie, text) in enumerate(plan)
            )
        )
        return samples

    started = time.perf_counter()
    samples = asyncio.run(main())
    return samples, time.perf_counter() - started


def run_baseline_scheduled(client: Any, plan: list[tuple[float, str]]) -> list[StreamSample]:
    """The same schedule of (offset_s, text) straight through boto3, a thread per stream."""
    samples: list[StreamSample | None] = [None] * len(plan)
    zero = time.perf_counter() + 0.1

    def worker(index: int, offset: float, text: str) -> None:
        delay = zero + offset - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        samples[index] = measure_stream(
            lambda: boto3_token_stream(client, model_id=MODEL_ID, text=text)
        )

    threads = [
        threading.Thread(target=worker, args=(i, offset, text), daemon=True)
        for i, (offset, text) in enumerate(plan)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [s for s in samples if s is not None]


def measure_open_loop(
    stack: Stack, client: Any, cookies: list[str], *, rate: float, duration_s: float, users: int
) -> dict[str, Any]:
    count = int(rate * duration_s)
    offsets = [i / rate for i in range(count)]
    load_before = os.getloadavg()[0]
    baseline = summarize(
        run_baseline_scheduled(client, [(o, pii_prompt(i)) for i, o in enumerate(offsets)]),
        expected_text=echo(pii_prompt),
    )
    plan = [(o, cookies[i % users], pii_prompt(i)) for i, o in enumerate(offsets)]
    with RssSampler(stack.pids()) as rss:
        samples, wall = run_full_scheduled(stack.url, plan)
    full = summarize_full(samples, echo(pii_prompt))
    full["wall_s"] = round(wall, 2)
    return {
        "mode": f"open loop: {rate:g} messages/s for {duration_s:g} s, {users} users, "
        "~2 KB prompts with names, emails and phones",
        "baseline": baseline,
        "full_path": full,
        "added_ttft_ms_p50": _minus(full["ttft_ms_p50"], baseline["ttft_ms_p50"]),
        "added_ttft_ms_p95": _minus(full["ttft_ms_p95"], baseline["ttft_ms_p95"]),
        "peak_rss_mb": {name: round(mb, 1) for name, mb in rss.peak_mb.items()},
        "stages": stage_breakdown(samples),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def measure_fairness(
    stack: Stack, client: Any, cookies: list[str], *, heavy: int, victims: int
) -> dict[str, Any]:
    """cookies[0] is the heavy user; cookies[1..victims] chat, each a second apart,
    starting while the heavy user's answers are being generated."""

    victim_plan = [(0.5 + i, short_prompt(i)) for i in range(victims * 2)]
    load_before = os.getloadavg()[0]
    # Baseline: the victims' schedule, with the heavy answers streaming beside them.
    heavy_direct = [(0.0, long_prompt(i)) for i in range(heavy)]
    direct = run_baseline_scheduled(client, victim_plan + heavy_direct)
    baseline = summarize(direct[: len(victim_plan)], expected_text=echo(short_prompt))
    plan = [(o, cookies[1 + i % victims], text) for i, (o, text) in enumerate(victim_plan)]
    plan += [(o, cookies[0], text) for o, text in heavy_direct]
    with RssSampler(stack.pids()) as rss:
        samples, wall = run_full_scheduled(stack.url, plan)
    others = samples[: len(victim_plan)]
    full = summarize_full(others, echo(short_prompt))
    full["wall_s"] = round(wall, 2)
    heavy_samples = samples[len(victim_plan) :]
    refused = [s for s in heavy_samples if s.error and "answered 429" in s.error]
    return {
        "mode": f"fairness: 1 user sends {heavy} long answers (~400 tokens) at once, "
        f"{victims} others send {len(victim_plan)} one-line messages a second apart",
        "baseline_others": baseline,
        "full_path_others": full,
        "added_ttft_ms_p50_others": _minus(full["ttft_ms_p50"], baseline["ttft_ms_p50"]),
        "added_ttft_ms_p95_others": _minus(full["ttft_ms_p95"], baseline["ttft_ms_p95"]),
        "heavy_user": {
            "admitted": sum(1 for s in heavy_samples if s.posted and not s.error),
            "refused_429": len(refused),
            "other_errors": [s.error for s in heavy_samples if s.error and s not in refused][:3],
        },
        "peak_rss_mb": {name: round(mb, 1) for name, mb in rss.peak_mb.items()},
        "stages": stage_breakdown(samples),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
