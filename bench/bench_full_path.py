"""Full path vs direct boto3: what the gateway adds to Bedrock streaming, at 1, 50, 200 streams.

    .venv/bin/python bench/bench_full_path.py [--streams 1 50 200] [--json out.json]

In one run, against one emulator process (time to first token 300 ms, 20 ms per token):

(a) the baseline: N threads stream ConverseStream straight through one boto3 client
    (bench/bench_bedrock_baseline.py's functions, its "warm" round);
(b) the full path, in the browser's place: N clients each POST /chat/send (a new
    conversation), then read the run's SSE endpoint until `done`. The message goes
    web → cpu worker (policy) → interactive worker (Bedrock) → Redis Stream → web → SSE.

Production topology, in processes started here: one uvicorn web process; an `interactive`
worker (`--pool threads --concurrency 200`); a `cpu` worker (prefork, 2 processes) for the
policy; PostgreSQL (database `bench_gateway`, recreated each run); Redis (the system one on
127.0.0.1:6379, database 7, flushed each run; `--redis-url` to change). DEBUG is off.

Reported per level: time to first token p50/p95 of both paths and the difference ("added"),
relay delay per token (SSE arrival minus the worker's write time, the entry's `at` field,
read back from Redis after the level; ms resolution),
token gaps, errors, streams with lost or duplicated tokens, and peak RSS of the web process
and the interactive worker. Streams in a level start together (a barrier), as in the
baseline; `--spread-ms` spreads the starts instead (users do not all press Enter in the same
millisecond).
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from audit.signing import generate_private_key_text  # noqa: E402
from bench.bench_bedrock_baseline import (  # noqa: E402
    EMULATOR_TOKEN_DELAY_MS,
    EMULATOR_TTFT_MS,
    MODEL_ID,
    PROMPT_WORDS,
    boto3_token_stream,
    free_port,
    machine_description,
    percentile,
    run_concurrent,
    start_emulator_process,
    summarize,
)
from config.supervisor import Service, Supervisor  # noqa: E402
from tests.support.sse import SseParser  # noqa: E402

DEFAULT_DATABASE = "bench_gateway"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
INTERACTIVE_CONCURRENCY = 200
CPU_PROCESSES = 2
STREAM_TIMEOUT_S = 60.0
SINGLE_REPEATS = 10
WARM_UP_STREAMS = 4


# The answer's length in words (~tokens): the baseline's 48 words by default; longer
# answers keep more streams open at once (`--words`).
words_per_prompt = PROMPT_WORDS


def prompt_for(index: int) -> str:
    return f"stream{index} " + " ".join(f"w{n}" for n in range(words_per_prompt - 1))


def expected_echo(index: int) -> str:
    return f"You said: {prompt_for(index)}"


# -- the stack ---------------------------------------------------------------------------


def stack_env(*, database_url: str, redis_url: str, emulator_url: str, var_dir: Path) -> dict:
    """Production settings (DEBUG off) with throwaway secrets; plain HTTP on loopback."""
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "TESTING": "false",  # refused with DEBUG=false (config/startup.py)
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            # Production refuses to start without SSO; the bench signs in through sessions.
            "SSO_OIDC_SERVER_URL": "http://127.0.0.1:9/oidc",
            "SSO_OIDC_CLIENT_ID": "bench",
            "SSO_ALLOWED_EMAIL_DOMAINS": "example.com",
            "PSEUDONYM_KEY": Fernet.generate_key().decode(),
            "AUDIT_SIGNING_KEY": generate_private_key_text(),
            "AUDIT_CHECKPOINT_STORE": str(ROOT / "var" / "bench" / "audit-checkpoints"),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "BEDROCK_ENDPOINT_URL": emulator_url,
            "BEDROCK_EMULATOR": "true",
            "BEDROCK_READ_TIMEOUT": "30",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "LOG_LEVEL": "WARNING",
            "VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def recreate_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


class Stack:
    """uvicorn, the interactive worker and the cpu worker (config/supervisor.py: each in its
    own process group, stopped newest first)."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        web_processes: int = 1,
        cpu_processes: int = CPU_PROCESSES,
    ) -> None:
        self.env = env
        self.web_processes = web_processes
        self.cpu_processes = cpu_processes
        self.log_dir = log_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.supervisor = Supervisor()

    def start(self) -> None:
        level = self.env["LOG_LEVEL"]
        celery = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", level]
        self._spawn(
            "interactive",
            [
                *celery, "-Q", "interactive", "--pool", "threads",
                "--concurrency", str(INTERACTIVE_CONCURRENCY), "--hostname", "interactive@%h",
            ],
        )  # fmt: skip
        self._spawn(
            "cpu",
            [
                *celery, "-Q", "cpu", "--pool", "prefork",
                "--concurrency", str(self.cpu_processes), "--hostname", "cpu@%h",
            ],
        )  # fmt: skip
        web = self._spawn(
            "web",
            [
                sys.executable, "-m", "uvicorn", "config.asgi:application",
                "--host", "127.0.0.1", "--port", str(self.port),
                "--log-level", "warning", "--no-access-log",
                # docs/operations.md: one web process per core behind the load balancer;
                # uvicorn's --workers shares one socket between them (the kernel balances).
                *(["--workers", str(self.web_processes)] if self.web_processes > 1 else []),
            ],
        )  # fmt: skip
        for service in self.supervisor.services:
            if service.exited() is not None:
                raise RuntimeError(f"{service.name} exited; see {service.log_path}")
        web.wait_until(lambda: _answers(f"{self.url}/healthz"), timeout=60)

    def _spawn(self, name: str, command: list[str]) -> Service:
        return self.supervisor.start(
            name, command, env=self.env, log_path=self.log_dir / f"{name}.log"
        )

    def stop(self) -> None:
        self.supervisor.stop_all(timeout=20)

    def pids(self) -> dict[str, int]:
        return {service.name: service.pid for service in self.supervisor.services}


def wait_until_warm(timeout_s: float) -> None:
    """Until every worker has loaded the policy engine (the interactive worker too, which
    judges short messages itself: prompting/runs/inline_judging.py); before that, short
    messages take the cpu queue and the first levels would measure the other path."""
    from config import presence

    deadline = time.monotonic() + timeout_s
    while True:
        workers = presence.workers_present()
        if workers and all(worker.warm for worker in workers):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers not warm after {timeout_s:g} s: {workers}")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - our local server
            return bool(reply.status < 500)
    except OSError:
        return False


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (every core, all processes)."""
    import psutil

    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class RssSampler:
    """Peak RSS per service while a level runs (the cpu worker: parent plus children), and
    the CPU each used (busy share of one core over the level: 1.0 = a whole core)."""

    def __init__(self, pids: dict[str, int], interval_s: float = 0.1) -> None:
        self.pids = pids
        self.interval_s = interval_s
        self.peak_mb: dict[str, float] = {}
        self.cpu_cores: dict[str, float] = {}
        self._cpu_start: dict[str, float] = {}
        self._machine_start = 0.0
        self._started = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._cpu_start = self._cpu_seconds()
        self._machine_start = _machine_busy_seconds()
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        elapsed = time.perf_counter() - self._started
        for name, seconds in self._cpu_seconds().items():
            used = seconds - self._cpu_start.get(name, seconds)
            self.cpu_cores[name] = round(used / elapsed, 2)
        # The whole machine too (PostgreSQL, Redis, the emulator, this client, anything
        # else running): how close to the 2 cores the level came.
        self.cpu_cores["machine"] = round(
            (_machine_busy_seconds() - self._machine_start) / elapsed, 2
        )

    def _cpu_seconds(self) -> dict[str, float]:
        import psutil

        seconds: dict[str, float] = {}
        for name, pid in self.pids.items():
            try:
                process = psutil.Process(pid)
                # The prefork cpu worker's and uvicorn --workers' children do their work;
                # this script's children (the whole stack) are counted under their names.
                family = [process]
                if name in ("cpu", "web"):
                    family += process.children(recursive=True)
                seconds[name] = sum(sum(p.cpu_times()[:2]) for p in family)
            except psutil.Error:
                continue
        return seconds

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(self.interval_s):
            for name, pid in self.pids.items():
                try:
                    process = psutil.Process(pid)
                    rss = process.memory_info().rss
                    largest = rss
                    if name in ("cpu", "web"):
                        children = [c.memory_info().rss for c in process.children(recursive=True)]
                        rss += sum(children)
                        largest = max([largest, *children])
                except psutil.Error:
                    continue
                self.peak_mb[name] = max(self.peak_mb.get(name, 0.0), rss / 2**20)
                if name == "web":
                    # The RSS target is per web process: with --web-processes 2 also the
                    # largest one alone (the sum includes uvicorn's supervisor).
                    key = "web_largest_process"
                    self.peak_mb[key] = max(self.peak_mb.get(key, 0.0), largest / 2**20)


# -- the browser's side --------------------------------------------------------------------


@dataclass
class FullSample:
    """One message through the full path, as the browser saw it."""

    index: int
    started: float = 0.0  # perf_counter before the POST
    started_wall: float = 0.0  # time.time() before the POST (the rows' clock)
    posted: float = 0.0  # perf_counter when the POST answered
    deltas: list[tuple[float, float, str, str]] = field(
        default_factory=list
    )  # perf, wall, id, text
    final: str = ""  # done | error
    final_text: str = ""
    error: str | None = None
    run_id: str = ""
    written_ms: dict[str, int] = field(default_factory=dict)  # entry id -> worker's write

    @property
    def ttft_ms(self) -> float | None:
        return (self.deltas[0][0] - self.started) * 1000 if self.deltas else None

    @property
    def text(self) -> str:
        return "".join(delta[3] for delta in self.deltas)

    @property
    def duplicated(self) -> bool:
        ids = [delta[2] for delta in self.deltas]
        return len(ids) != len(set(ids))


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed before the response")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def _post_form(
    host: str, port: int, path: str, cookie: str, form: dict[str, str]
) -> tuple[int, bytes]:
    body = urllib.parse.urlencode(form).encode()
    csrf = "b" * 32  # any 32-character token: Django compares the cookie with the header
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        f"Cookie: {cookie}; csrftoken={csrf}\r\nX-CSRFToken: {csrf}\r\n"
        "Accept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        status, headers = await _read_head(reader)
        if "content-length" in headers:
            payload = await reader.readexactly(int(headers["content-length"]))
        else:
            payload = await _read_chunked_all(reader)
        return status, payload
    finally:
        writer.close()


async def _read_chunked_all(reader: asyncio.StreamReader) -> bytes:
    parts = []
    async for chunk in _chunks(reader):
        parts.append(chunk)
    return b"".join(parts)


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """HTTP/1.1 chunked transfer coding, chunk by chunk as it arrives."""
    while True:
        size_line = await reader.readline()
        if not size_line:
            return
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readline()
            return
        data = await reader.readexactly(size)
        await reader.readexactly(2)  # CRLF
        yield data


async def _follow(sample: FullSample, host: str, port: int, path: str, cookie: str) -> None:
    """Read one run's SSE stream as EventSource does, until `done` or `error`."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
                "Accept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status, _headers = await _read_head(reader)
        if status != 200:
            raise RuntimeError(f"SSE answered {status}")
        parser = SseParser()
        decoder = codecs.getincrementaldecoder("utf-8")()  # a character may span two chunks
        async for chunk in _chunks(reader):
            now, wall = time.perf_counter(), time.time()
            for event in parser.feed(decoder.decode(chunk)):
                if event.event == "delta":
                    sample.deltas.append((now, wall, event.id or "", event.data.get("text", "")))
                elif event.event in ("done", "error"):
                    sample.final = event.event
                    sample.final_text = event.data.get("text", "")
                    if event.event == "error":
                        sample.error = (
                            f"error event: {event.data.get('code')}: {event.data.get('message')}"
                        )
                    return
        raise ConnectionError("the SSE response ended without done/error")
    finally:
        writer.close()


async def _one_message(
    sample: FullSample, base_url: str, cookie: str, text: str, start_at: float
) -> None:
    parts = urllib.parse.urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    delay = start_at - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
    sample.started, sample.started_wall = time.perf_counter(), time.time()
    try:
        async with asyncio.timeout(STREAM_TIMEOUT_S):
            status, payload = await _post_form(host, port, "/chat/send", cookie, {"text": text})
            sample.posted = time.perf_counter()
            if status != 201:
                raise RuntimeError(f"POST /chat/send answered {status}: {payload[:200]!r}")
            run = json.loads(payload)["run"]
            sample.run_id, events_url = run["id"], run["events_url"]
            await _follow(sample, host, port, events_url, cookie)
    except Exception as exc:  # every failure is counted, none hides the others
        sample.error = sample.error or f"{type(exc).__name__}: {exc}"


def run_full_level(
    base_url: str, cookies: list[str], count: int, *, spread_ms: float, text_for: Callable
) -> list[FullSample]:
    """`count` messages from `count` users; all start together unless spread."""

    async def main() -> list[FullSample]:
        samples = [FullSample(index=i) for i in range(count)]
        zero = time.perf_counter() + 0.05
        step = spread_ms / 1000 / max(1, count - 1) if spread_ms else 0.0
        await asyncio.gather(
            *(
                _one_message(samples[i], base_url, cookies[i], text_for(i), zero + i * step)
                for i in range(count)
            )
        )
        return samples

    return asyncio.run(main())


def _read_write_times(samples: list[FullSample]) -> None:
    """The worker's write time of every entry the browser got (the relay's `at` field:
    entry ids are positions, not times), read back from Redis after the level."""
    from config.redis_client import redis_client
    from prompting.runs.relay import stream_key

    for sample in samples:
        if sample.run_id and not sample.written_ms:
            entries: Any = redis_client().xrange(stream_key(sample.run_id))
            sample.written_ms = {i: int(f["at"]) for i, f in entries if "at" in f}


def summarize_full(samples: list[FullSample], expected: Callable[[int], str]) -> dict[str, Any]:
    ok = [s for s in samples if s.error is None]
    ttfts = [s.ttft_ms for s in ok if s.ttft_ms is not None]
    _read_write_times(ok)
    # Relay delay: the browser's arrival minus the worker's write (one machine, one clock).
    relay = [
        (wall - s.written_ms[entry_id] / 1000) * 1000
        for s in ok
        for _p, wall, entry_id, _t in s.deltas
        if entry_id in s.written_ms
    ]
    # The same, only for entries written once the browser was following the stream (after
    # its first delivery): the relay's own delay. Entries written before that waited for
    # the POST and the SSE connect, which the time to first token already counts.
    following = [
        (wall - s.written_ms[entry_id] / 1000) * 1000
        for s in ok
        if s.deltas
        for _p, wall, entry_id, _t in s.deltas
        if entry_id in s.written_ms and s.written_ms[entry_id] / 1000 > s.deltas[0][1]
    ]
    gaps = [
        (later[0] - earlier[0]) * 1000
        for s in ok
        for earlier, later in zip(s.deltas, s.deltas[1:], strict=False)
    ]
    posts = [(s.posted - s.started) * 1000 for s in ok if s.posted]
    bad = [
        s.index
        for s in ok
        if s.duplicated or s.text != expected(s.index) or s.final_text != expected(s.index)
    ]
    errors = [s.error for s in samples if s.error is not None]

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "streams": len(samples),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "streams_with_lost_or_duplicated_tokens": len(bad),
        "ttft_ms_p50": r(percentile(ttfts, 0.5)),
        "ttft_ms_p95": r(percentile(ttfts, 0.95)),
        "ttft_ms_max": r(max(ttfts) if ttfts else None),
        "post_ms_p50": r(percentile(posts, 0.5)),
        "post_ms_p95": r(percentile(posts, 0.95)),
        "relay_delay_ms_p50": r(percentile(relay, 0.5)),
        "relay_delay_ms_p95": r(percentile(relay, 0.95)),
        "relay_delay_ms_max": r(max(relay) if relay else None),
        "relay_delay_following_ms_p50": r(percentile(following, 0.5)),
        "relay_delay_following_ms_p95": r(percentile(following, 0.95)),
        "tokens_written_before_following": len(relay) - len(following),
        "inter_arrival_ms_p50": r(percentile(gaps, 0.5)),
        "inter_arrival_ms_p95": r(percentile(gaps, 0.95)),
        "tokens": sum(len(s.deltas) for s in samples),
    }


# -- setup and the two measurements ----------------------------------------------------------


def stage_breakdown(samples: list[FullSample]) -> dict[str, Any]:
    """Where the time to first token goes, from the rows and stream entries the path wrote
    and the browser's clock (one machine, one clock; ms, p50/p95), in order:
    POST sent → run row created (the POST's work before it) → judged (queue hop + policy;
    the `prompt.submitted` event) → generation claimed → first token written to the relay
    (the worker's preparation + Bedrock's own time to first token, also shown alone) →
    first token in the browser (relay + SSE)."""
    from audit.models import AuditEvent
    from prompting.models import Run

    by_id = {s.run_id: s for s in samples if s.error is None and s.run_id and s.deltas}
    _read_write_times(list(by_id.values()))
    runs = list(
        Run.objects.filter(pk__in=list(by_id)).values(
            "pk", "created_at", "started_at", "time_to_first_token_ms"
        )
    )
    judged = dict(
        AuditEvent.objects.filter(
            action="prompt.submitted", target_id__in=[str(r["pk"]) for r in runs]
        ).values_list("target_id", "created_at")
    )
    names = ("to_run_row", "policy", "to_worker", "to_first_write", "bedrock_ttft", "to_browser")
    stages: dict[str, list[float]] = {name: [] for name in names}
    for run in runs:
        sample = by_id[str(run["pk"])]
        at = judged.get(str(run["pk"]))
        first_written = sample.written_ms.get(sample.deltas[0][2])
        if at is None or run["started_at"] is None or first_written is None:
            continue
        stages["to_run_row"].append((run["created_at"].timestamp() - sample.started_wall) * 1000)
        stages["policy"].append((at - run["created_at"]).total_seconds() * 1000)
        stages["to_worker"].append((run["started_at"] - at).total_seconds() * 1000)
        stages["to_first_write"].append(first_written - run["started_at"].timestamp() * 1000)
        if run["time_to_first_token_ms"] is not None:
            stages["bedrock_ttft"].append(run["time_to_first_token_ms"])
        stages["to_browser"].append(sample.deltas[0][1] * 1000 - first_written)
    return {
        f"{name}_ms_{label}": None if not values else round(percentile(values, q) or 0, 1)
        for name, values in stages.items()
        for label, q in (("p50", 0.5), ("p95", 0.95))
    }


def make_sessions(count: int) -> list[str]:
    """`count` employees, each signed in: the Cookie header of each session."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from accounts.roles import EMPLOYEE
    from accounts.services import user_roles_sync

    cookies = []
    for i in range(count):
        user, _ = User.objects.get_or_create(
            username=f"bench{i}",
            defaults={"email": f"bench{i}@example.com", "sso_subject": f"bench-{i}"},
        )
        user_roles_sync(user=user, roles={EMPLOYEE}, source="bench")
        client = Client()
        client.force_login(user)
        cookies.append(
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
    return cookies


def run_baseline_level(client: Any, count: int, *, repeats: int = 1) -> dict[str, Any]:
    def opener(index: int) -> Callable[[], Iterator[str]]:
        return lambda: boto3_token_stream(client, model_id=MODEL_ID, text=prompt_for(index))

    run_concurrent(count, opener)  # cold: opens the connections a long-lived worker keeps
    started = time.perf_counter()
    samples = [sample for _ in range(repeats) for sample in run_concurrent(count, opener)]
    # Repeats are concatenated: sample i answered prompt i % count.
    summary = summarize(samples, expected_text=lambda i: expected_echo(i % count))
    summary["wall_s"] = round(time.perf_counter() - started, 2)
    return summary


def pool_settings_module(var_dir: Path, max_size: int) -> str:
    """A settings overlay with Django's psycopg connection pool (needs psycopg-pool), to
    measure what pooling would change; the product settings have none yet."""
    (var_dir / "bench_pool_settings.py").write_text(
        "from config.settings import *  # noqa: F403\n"
        "DATABASES['default'].setdefault('OPTIONS', {})['pool'] = "
        f"{{'min_size': 2, 'max_size': {max_size}, 'timeout': 30}}\n"
    )
    return "bench_pool_settings"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument(
        "--spread-ms", type=float, default=0.0, help="spread each level's starts over this long"
    )
    parser.add_argument(
        "--db-pool",
        type=int,
        default=0,
        help="experiment: a psycopg pool of this size per process (0: the product's settings)",
    )
    parser.add_argument(
        "--words", type=int, default=PROMPT_WORDS, help="words per prompt (answer ~ words + 2)"
    )
    parser.add_argument(
        "--log-level", default="WARNING", help="INFO logs each task's duration (var dir logs)"
    )
    parser.add_argument(
        "--mode",
        choices=("closed", "open", "fairness"),
        default="closed",
        help="closed: --streams levels; open: --rate for --duration; fairness: heavy user",
    )
    parser.add_argument("--rate", type=float, default=10.0, help="open loop: messages/s")
    parser.add_argument("--duration", type=float, default=60.0, help="open loop: seconds")
    parser.add_argument("--users", type=int, default=10, help="open loop: employees")
    parser.add_argument("--heavy", type=int, default=40, help="fairness: the heavy user's")
    parser.add_argument("--victims", type=int, default=5, help="fairness: other employees")
    parser.add_argument(
        "--web-processes",
        type=int,
        default=1,
        help="uvicorn processes (1: the issue's layout; on this 2-core machine, shared with "
        "the workers, 2 measured no better: docs/capacity.md)",
    )
    parser.add_argument(
        "--cpu-processes", type=int, default=CPU_PROCESSES, help="prefork processes (policy)"
    )
    args = parser.parse_args(argv)
    global words_per_prompt  # a script setting, read by prompt_for
    words_per_prompt = args.words

    var_dir = Path(tempfile.mkdtemp(prefix="bench-full-"))
    emulator, emulator_url = start_emulator_process()
    env = stack_env(
        database_url=f"{args.pg}/{args.database}",
        redis_url=args.redis_url,
        emulator_url=emulator_url,
        var_dir=var_dir,
    )
    env["LOG_LEVEL"] = args.log_level
    if args.mode == "open":
        # 10 employees at 10 messages/s is 60 requests a minute each: past the default 20.
        # The limits are still checked on every message; only the numbers are raised.
        env["LIMITS_USER_DEFAULTS"] = json.dumps({"active_runs": 20, "requests_per_minute": 600})
    if args.db_pool:
        env["DJANGO_SETTINGS_MODULE"] = pool_settings_module(var_dir, args.db_pool)
        env["PYTHONPATH"] = os.pathsep.join([str(var_dir), str(ROOT)])
        sys.path.insert(0, str(var_dir))
    os.environ.update(env)  # this process creates users and sessions with the same settings
    stack: Stack | None = None
    try:
        recreate_database(f"{args.pg}/postgres", args.database)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        import django
        import redis

        django.setup()
        redis.Redis.from_url(args.redis_url).flushdb()
        cookies = make_sessions(max(*args.streams, WARM_UP_STREAMS, args.users, args.victims + 1))

        from prompting.llm.client import bedrock_client

        client = bedrock_client(
            region="us-east-1", endpoint_url=emulator_url, read_timeout=30,
            use_dummy_credentials=True, max_pool_connections=max(args.streams) + 10,
        )  # fmt: skip
        for _ in boto3_token_stream(client, model_id=MODEL_ID, text="warm up"):
            pass

        stack = Stack(
            env, var_dir, web_processes=args.web_processes, cpu_processes=args.cpu_processes
        )
        stack.start()
        wait_until_warm(timeout_s=120)
        # Warm-up: the policy engine, the Bedrock client, connections in every process.
        run_full_level(stack.url, cookies, WARM_UP_STREAMS, spread_ms=0, text_for=prompt_for)

        if args.mode == "closed":
            results = {
                f"{count} streams": measure_level(stack, client, cookies, count, args.spread_ms)
                for count in args.streams
            }
        else:
            from bench import full_path_modes

            if args.mode == "open":
                results = {
                    "open loop": full_path_modes.measure_open_loop(
                        stack, client, cookies, rate=args.rate, duration_s=args.duration,
                        users=args.users,
                    )
                }  # fmt: skip
            else:
                results = {
                    "fairness": full_path_modes.measure_fairness(
                        stack, client, cookies, heavy=args.heavy, victims=args.victims
                    )
                }
            print(json.dumps(results), flush=True)
        report = {
            "machine": machine_description(),
            "topology": {
                "web": f"uvicorn, {args.web_processes} process(es)",
                "interactive": f"celery --pool threads --concurrency {INTERACTIVE_CONCURRENCY}",
                "cpu": f"celery --pool prefork --concurrency {args.cpu_processes}",
                "database": f"PostgreSQL (local), pool per process: {args.db_pool or 'none'}",
                "redis": args.redis_url,
                "spread_ms": args.spread_ms,
                "words_per_prompt": args.words,
            },
            "emulator": {"ttft_ms": EMULATOR_TTFT_MS, "token_delay_ms": EMULATOR_TOKEN_DELAY_MS},
            "results": results,
        }
        print(json.dumps(report, indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        return 0
    finally:
        if stack is not None:
            stack.stop()
        emulator.stop(timeout=10)


def measure_level(
    stack: Stack, client: Any, cookies: list[str], count: int, spread_ms: float
) -> dict[str, Any]:
    """Baseline, then the full path, at `count` concurrent streams. One stream is measured
    SINGLE_REPEATS times in a row, so its percentiles mean something."""

    repeats = SINGLE_REPEATS if count == 1 else 1
    load_before = os.getloadavg()[0]
    baseline = run_baseline_level(client, count, repeats=repeats)
    samples: list[FullSample] = []
    # The browsers' side is this process: its CPU shows whether the reader kept up.
    with RssSampler({**stack.pids(), "bench_client": os.getpid()}) as rss:
        started = time.perf_counter()
        for _ in range(repeats):
            samples += run_full_level(
                stack.url, cookies, count, spread_ms=spread_ms, text_for=prompt_for
            )
        full = summarize_full(samples, expected_echo)
        full["wall_s"] = round(time.perf_counter() - started, 2)
    result = {
        "baseline": baseline,
        "full_path": full,
        "added_ttft_ms_p50": _minus(full["ttft_ms_p50"], baseline["ttft_ms_p50"]),
        "added_ttft_ms_p95": _minus(full["ttft_ms_p95"], baseline["ttft_ms_p95"]),
        "peak_rss_mb": {name: round(mb, 1) for name, mb in rss.peak_mb.items()},
        "cpu_cores": rss.cpu_cores,
        "stages": stage_breakdown(samples),
        # Other work on the machine shows here (the 1-minute load average, 2 cores).
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps({f"{count} streams": result}), flush=True)
    return result


def _minus(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else round(value - base, 1)


if __name__ == "__main__":
    raise SystemExit(main())
