"""Direct boto3 baseline: ConverseStream against the emulator at 1, 50 and 200 streams.

    .venv/bin/python bench/bench_bedrock_baseline.py [--streams 1 50 200] [--json out.json]

Starts the emulator as a separate process (time to first token 300 ms, 20 ms per token, as
in the issue's benchmark), then opens N concurrent streams from N threads sharing one boto3
client, all released at once by a barrier. Per level it reports time to first token
(p50/p95, and what is added over the emulator's 300 ms), the inter-arrival time of tokens
(p50/p95/max, against the emulator's 20 ms), errors, and lost/duplicated tokens (each stream's
text must equal the expected echo exactly).

The measuring functions are importable so that the full-path benchmark (HTTP POST -> policy ->
Celery -> Bedrock -> Redis -> SSE) can reuse them: `start_emulator_process`, `measure_stream`,
`run_concurrent`, `summarize`, `boto3_token_stream`, `llm_token_stream`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from config.supervisor import Service  # noqa: E402
from prompting.llm.client import bedrock_client, stream_converse  # noqa: E402
from prompting.llm.events import TextDelta  # noqa: E402
from prompting.llm.models import ModelSpec  # noqa: E402

EMULATOR_TTFT_MS = 300
EMULATOR_TOKEN_DELAY_MS = 20
MODEL_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
# 48 words -> 50 tokens in the echo ("You said: " + the words): ~1.3 s per stream.
PROMPT_WORDS = 48


@dataclass
class StreamSample:
    """One stream as seen by its consumer. Times are time.perf_counter() seconds."""

    started: float
    token_times: list[float] = field(default_factory=list)
    text: str = ""
    error: str | None = None

    @property
    def ttft_ms(self) -> float | None:
        return (self.token_times[0] - self.started) * 1000 if self.token_times else None

    @property
    def inter_arrival_ms(self) -> list[float]:
        times = self.token_times
        return [(later - earlier) * 1000 for earlier, later in itertools.pairwise(times)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_emulator_process(
    *,
    ttft_ms: int = EMULATOR_TTFT_MS,
    token_delay_ms: int = EMULATOR_TOKEN_DELAY_MS,
    port: int | None = None,
) -> tuple[Service, str]:
    """The emulator in its own process (so it does not share our GIL), started by
    config/supervisor.py; returns (service, url) once it listens. Stop the service when done."""
    port = port or free_port()
    log = Path(tempfile.mkdtemp(prefix="bench-emulator-")) / "emulator.log"
    emulator = Service(
        "Bedrock emulator",
        [
            sys.executable, "-m", "prompting.llm.emulator", "--port", str(port),
            "--ttft-ms", str(ttft_ms), "--token-delay-ms", str(token_delay_ms),
        ],
        log_path=log,
    )  # fmt: skip
    emulator.wait_until(lambda: "Bedrock emulator listening on " in emulator.tail(), timeout=60)
    return emulator, f"http://127.0.0.1:{port}"


def boto3_token_stream(
    client: Any, *, model_id: str, text: str, max_tokens: int = 1024
) -> Iterator[str]:
    """Plain boto3 ConverseStream, yielding the text of each delta: the baseline."""
    response = client.converse_stream(
        modelId=model_id,
        messages=[{"role": "user", "content": [{"text": text}]}],
        inferenceConfig={"maxTokens": max_tokens},
    )
    for event in response["stream"]:
        delta = event.get("contentBlockDelta")
        if delta and delta["delta"].get("text"):
            yield delta["delta"]["text"]


def llm_token_stream(
    client: Any, *, model_id: str, text: str, max_tokens: int = 1024
) -> Iterator[str]:
    """The same through `prompting.llm.client.stream_converse` (typed events, error
    translation, cancel polling), to see what our wrapper adds over plain boto3."""
    model = ModelSpec(model_id, model_id, Decimal(3), Decimal(15), 200_000, max_tokens)
    stream = stream_converse(
        client,
        model=model,
        messages=[{"role": "user", "content": [{"text": text}]}],
        should_stop=lambda: False,
    )
    for event in stream:
        if isinstance(event, TextDelta):
            yield event.text


def measure_stream(open_stream: Callable[[], Iterator[str]]) -> StreamSample:
    """Consume one stream, timestamping each token on arrival. Errors are recorded, not
    raised, so one failure does not hide the others."""
    sample = StreamSample(started=time.perf_counter())
    parts: list[str] = []
    try:
        for token in open_stream():
            sample.token_times.append(time.perf_counter())
            parts.append(token)
    except Exception as exc:  # the benchmark counts errors of any kind
        sample.error = f"{type(exc).__name__}: {exc}"
    sample.text = "".join(parts)
    return sample


def run_concurrent(
    count: int, open_stream_for: Callable[[int], Callable[[], Iterator[str]]]
) -> list[StreamSample]:
    """`count` streams in `count` threads, released together by a barrier.
    `open_stream_for(i)` returns the opener for stream i."""
    barrier = threading.Barrier(count)
    samples: list[StreamSample | None] = [None] * count

    def worker(index: int) -> None:
        opener = open_stream_for(index)
        barrier.wait()
        samples[index] = measure_stream(opener)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [sample for sample in samples if sample is not None]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summarize(
    samples: Sequence[StreamSample], *, expected_text: Callable[[int], str] | None = None
) -> dict[str, Any]:
    """Aggregate one level: ttft and inter-arrival percentiles (ms), errors, token checks."""
    ttfts = [s.ttft_ms for s in samples if s.ttft_ms is not None and s.error is None]
    gaps = [gap for s in samples if s.error is None for gap in s.inter_arrival_ms]
    mismatched = 0
    if expected_text is not None:
        mismatched = sum(
            1 for i, s in enumerate(samples) if s.error is None and s.text != expected_text(i)
        )
    errors = [s.error for s in samples if s.error is not None]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "streams": len(samples),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "streams_with_lost_or_duplicated_tokens": mismatched,
        "ttft_ms_p50": rounded(percentile(ttfts, 0.50)),
        "ttft_ms_p95": rounded(percentile(ttfts, 0.95)),
        "ttft_ms_max": rounded(max(ttfts) if ttfts else None),
        "inter_arrival_ms_p50": rounded(percentile(gaps, 0.50)),
        "inter_arrival_ms_p95": rounded(percentile(gaps, 0.95)),
        "inter_arrival_ms_max": rounded(max(gaps) if gaps else None),
        "tokens": sum(len(s.token_times) for s in samples),
    }


def prompt_for(index: int) -> str:
    return f"stream{index} " + " ".join(f"w{n}" for n in range(PROMPT_WORDS - 1))


def expected_echo(index: int) -> str:
    return f"You said: {prompt_for(index)}"


def run_baseline(levels: Sequence[int], *, via: str = "boto3") -> dict[str, Any]:
    """`via="boto3"`: plain boto3 (the baseline); `via="llm"`: through stream_converse."""
    token_stream = boto3_token_stream if via == "boto3" else llm_token_stream
    emulator, url = start_emulator_process()
    try:
        client = bedrock_client(
            region="us-east-1",
            endpoint_url=url,
            read_timeout=30,
            use_dummy_credentials=True,
            max_pool_connections=max(levels) + 10,
        )
        # Warm up: the first call pays for loading the service model and opening a connection.
        for _ in token_stream(client, model_id=MODEL_ID, text="warm up"):
            pass
        results: dict[str, Any] = {}
        for count in levels:

            def opener(index: int) -> Callable[[], Iterator[str]]:
                return lambda: token_stream(client, model_id=MODEL_ID, text=prompt_for(index))

            # Round 1 opens `count` new connections ("cold"); round 2 reuses the pooled ones,
            # as a long-running worker does ("warm").
            for round_name in ("cold", "warm"):
                wall_started = time.perf_counter()
                samples = run_concurrent(count, opener)
                summary = summarize(samples, expected_text=expected_echo)
                summary["wall_s"] = round(time.perf_counter() - wall_started, 2)
                summary["ttft_added_ms_p50"] = _minus(summary["ttft_ms_p50"], EMULATOR_TTFT_MS)
                summary["ttft_added_ms_p95"] = _minus(summary["ttft_ms_p95"], EMULATOR_TTFT_MS)
                results[f"{count} streams, {round_name}"] = summary
        return results
    finally:
        emulator.stop(timeout=10)


def _minus(value: float | None, base: float) -> float | None:
    return None if value is None else round(value - base, 1)


def machine_description() -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "emulator": {"ttft_ms": EMULATOR_TTFT_MS, "token_delay_ms": EMULATOR_TOKEN_DELAY_MS},
        "tokens_per_stream": len(expected_echo(0).split()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--via",
        choices=["boto3", "llm"],
        default="boto3",
        help="boto3: plain client (baseline); llm: through prompting.llm.client.stream_converse",
    )
    args = parser.parse_args(argv)
    report = {
        "machine": machine_description(),
        "via": args.via,
        "baseline": run_baseline(args.streams, via=args.via),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
