"""Soak: concurrent streams for a while with a random fault every N seconds (issue 12).

    .venv/bin/python bench/bench_soak.py [--minutes 30] [--streams 20] [--fault-every 30]
        [--faults worker_kill,redis_stall,redis_restart,bedrock_throttle,bedrock_stall,
                  bedrock_hang,cpu_kill,pg_restart] [--json out.json] [--seed 1]
        [--port-base 7400]

The production process layout, started here: uvicorn; an interactive thread worker; a
prefork cpu worker; the watchdog worker; beat; a Redis server of its own (TCP port
base + 12, so it can be stalled with DEBUG SLEEP and restarted); a PostgreSQL cluster of
its own (port base + 10, initdb'd under /tmp as the `postgres` user, so it can be restarted; or
`--pg URL` for an existing server, without the pg_restart fault); the Bedrock emulator in
its own process (its request counter is read over HTTP, port base + 1); uvicorn listens
on port base. `--port-base` (default 7400) keeps every port in one range.

`--streams` employees each send a message (distinct words, so a lost or repeated token
shows), follow its SSE stream as EventSource does (reconnect after `retry:` with
Last-Event-ID; after 5 failed connections poll /runs/<id>/), and send the next one. Every
`--fault-every` seconds one fault from `--faults` is injected at random; the bench plays
supervisor (a killed worker is restarted after 2 s, Redis and PostgreSQL come back after
a few seconds). Bedrock faults are carried by the next messages' markers.

Reported: runs by final status; runs left non-final; runs whose shown text is not exactly
the expected answer (done) or a prefix of it (ended early) — lost or repeated tokens;
time from fault to the employee seeing a final state for every run the fault ended
(p50/p95/max; every miss over 30 s listed); Bedrock calls per run against 1 + recorded
retries. Machine load (`uptime`) at start and end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench.bench_bedrock_baseline import free_port, percentile  # noqa: E402
from bench.bench_full_path import stack_env  # noqa: E402
from config.supervisor import Service, Supervisor  # noqa: E402
from tests.support.sse import TERMINAL, SseEvent, SseParser  # noqa: E402

PORT_BASE = 7400
PROMISE_S = 30.0
ALL_FAULTS = (
    "worker_kill", "redis_stall", "redis_restart", "bedrock_throttle", "bedrock_stall",
    "bedrock_hang", "cpu_kill", "pg_restart",
)  # fmt: skip
# A Bedrock fault rides on the next few messages (markers the emulator understands).
BEDROCK_MARKERS = {
    "bedrock_throttle": "[[emulator:throttle]]",
    "bedrock_stall": "[[emulator:stall=6]]",
    "bedrock_hang": "[[emulator:hang]]",
}
MESSAGES_PER_BEDROCK_FAULT = 3


def uptime() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


# -- the parts ----------------------------------------------------------------------------


class OwnPostgres:
    """A PostgreSQL cluster of the bench's own, so it can be restarted (run as `postgres`)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="soak-pg-"))
        shutil.chown(self.directory, "postgres")
        self.data = self.directory / "data"
        self._as_postgres(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres"])
        self.start()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _as_postgres(self, command: list[str]) -> None:
        line = " ".join(command)
        subprocess.run(
            ["su", "postgres", "-c", line], check=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def start(self) -> None:
        options = f"'-p {self.port} -k /tmp -c max_connections=300 -c fsync=off'"
        log = self.directory / "pg.log"
        self._as_postgres(
            ["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start"]
        )

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_postgres(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self, down_s: float) -> None:
        self.stop("immediate")
        time.sleep(down_s)
        self.start()

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class OwnRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--bind", "127.0.0.1", "--enable-debug-command", "local"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(port=self.port).ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stall(self, seconds: int) -> None:
        import redis

        with contextlib.suppress(redis.RedisError):
            redis.Redis(port=self.port, socket_timeout=seconds + 5).execute_command(
                "DEBUG", "SLEEP", str(seconds)
            )

    def restart(self, down_s: float) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class Stack:
    """uvicorn, interactive, cpu and watchdog workers, beat: one process group each."""

    def __init__(self, env: dict[str, str], log_dir: Path, port: int | None = None) -> None:
        self.env, self.log_dir = env, log_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.supervisor = Supervisor()
        self.services: dict[str, Service] = {}

    def command(self, name: str) -> list[str]:
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        worker = [*celery, "worker", "--loglevel", "WARNING", "--without-mingle"]
        pools = {
            "interactive": ["threads", "100"],
            "cpu": ["prefork", "1"],
            "watchdog": ["threads", "2"],
        }
        if name in pools:
            pool, concurrency = pools[name]
            return [
                *worker, "-Q", name, "--pool", pool, "--concurrency", concurrency,
                "--hostname", f"{name}@%h", "--without-gossip",
            ]  # fmt: skip
        if name == "beat":
            schedule = str(self.log_dir / "beat-schedule")
            return [*celery, "beat", "--loglevel", "WARNING", "--schedule", schedule]
        return [
            sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
            "--port", str(self.port), "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip

    def start(self, name: str) -> Service:
        service = self.supervisor.start(
            name, self.command(name), env=self.env, log_path=self.log_dir / f"{name}.log"
        )
        self.services[name] = service
        return service

    def kill(self, name: str) -> None:
        service = self.services[name]
        service.kill(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.process.wait(timeout=10)

    def stop(self) -> None:
        self.supervisor.stop_all(timeout=20)


def emulator_calls(emulator_url: str, tag: str) -> int:
    query = urllib.parse.urlencode({"contains": tag})
    with urllib.request.urlopen(f"{emulator_url}/_emulator/requests?{query}", timeout=10) as r:  # noqa: S310
        return int(json.loads(r.read())["count"])


# -- an employee ------------------------------------------------------------------------------


@dataclass
class Sample:
    tag: str
    expected: str
    sent_at: float
    run_id: str = ""
    send_status: int = 0
    send_took: float = 0.0  # seconds the POST took
    events: list[SseEvent] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # time.monotonic() of each event
    final_at: float | None = None
    final_kind: str = ""
    final_status: str = ""
    final_code: str = ""
    polled: bool = False
    connections: int = 0

    @property
    def shown(self) -> str:
        return "".join(e.data.get("text", "") for e in self.events if e.event == "delta")

    @property
    def final_text(self) -> str:
        final = [e for e in self.events if e.event in TERMINAL]
        return str(final[-1].data.get("text", "")) if final else ""

    def duplicated_ids(self) -> bool:
        ids = [e.id for e in self.events if e.id]
        return len(ids) != len(set(ids))


def _request(
    url: str, method: str, path: str, cookie: str, body: str = "", timeout: float = 30
) -> tuple[int, Any]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=timeout
    )
    token = "a" * 32
    headers = {
        "Cookie": f"{cookie}; csrftoken={token}", "X-CSRFToken": token,
        "Content-Type": "application/json", "Accept": "application/json", "Referer": f"{url}/",
    }  # fmt: skip
    try:
        connection.request(method, path, body=body or None, headers=headers)
        reply = connection.getresponse()
        data = reply.read()
        try:
            return reply.status, json.loads(data)
        except ValueError:
            return reply.status, data.decode(errors="replace")
    finally:
        connection.close()


def follow(url: str, sample: Sample, cookie: str, deadline: float) -> None:
    """EventSource: reconnect with Last-Event-ID; after 5 failed connections, poll."""
    last_id: str | None = None
    failures = 0
    retry_s = 1.5
    while time.monotonic() < deadline:
        if failures >= 5:
            sample.polled = True
            status, state = _request(url, "GET", f"/runs/{sample.run_id}/", cookie)
            if status == 200 and isinstance(state, dict) and state.get("final"):
                sample.final_at = time.monotonic()
                sample.final_kind = "done" if state["status"] == "done" else "error"
                sample.final_status, sample.final_code = (
                    state["status"],
                    state.get("error_code", ""),
                )
                sample.events.append(SseEvent(None, "final-poll", {"text": ""}))
                return
            time.sleep(1.5)
            continue
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=40
        )
        try:
            headers = {"Cookie": cookie, "Accept": "text/event-stream"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            connection.request("GET", f"/runs/{sample.run_id}/events", headers=headers)
            response = connection.getresponse()
            if response.status != 200:
                failures += 1
                time.sleep(retry_s)
                continue
            sample.connections += 1
            failures = 0
            parser = SseParser()
            while raw := response.readline():
                text = raw.decode()
                if text.startswith("retry:"):
                    with contextlib.suppress(ValueError):
                        retry_s = int(text.split(":", 1)[1]) / 1000
                for event in parser.feed(text):
                    sample.events.append(event)
                    sample.arrived.append(time.monotonic())
                    last_id = event.id or last_id
                    if event.event in TERMINAL:
                        sample.final_at = time.monotonic()
                        sample.final_kind = event.event
                        sample.final_status = str(event.data.get("status", event.event))
                        sample.final_code = str(event.data.get("code", ""))
                        return
        except (OSError, http.client.HTTPException):
            failures += 1
        finally:
            connection.close()
        time.sleep(retry_s)


class Employee(threading.Thread):
    def __init__(self, index: int, soak: Soak) -> None:
        super().__init__(daemon=True, name=f"employee-{index}")
        self.index, self.soak = index, soak
        self.samples: list[Sample] = []

    def run(self) -> None:
        cookie = self.soak.cookies[self.index]
        while not self.soak.stopping.is_set():
            tag = f"s{uuid.uuid4().hex[:10]}"
            body = " ".join(f"{tag}w{n}" for n in range(self.soak.words))
            marker = self.soak.take_bedrock_marker()
            sample = Sample(tag, f"You said: {body}", time.monotonic())
            self.samples.append(sample)
            status, data = _request(
                self.soak.url,
                "POST",
                "/chat/send",
                cookie,
                json.dumps({"text": f"{marker} {body}".strip()}),
            )
            sample.send_status = status
            sample.send_took = time.monotonic() - sample.sent_at
            if status != 201 or not isinstance(data, dict):
                sample.final_at, sample.final_kind = time.monotonic(), f"send-{status}"
                time.sleep(2)  # a 503 tells the employee to wait a moment
                continue
            sample.run_id = data["run"]["id"]
            follow(self.soak.url, sample, cookie, time.monotonic() + 180)
            time.sleep(random.uniform(0.2, 1.0))


# -- the soak ----------------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str
    at: float


class Soak:
    def __init__(self, url: str, cookies: list[str], words: int) -> None:
        self.url, self.cookies, self.words = url, cookies, words
        self.stopping = threading.Event()
        self._markers: list[str] = []
        self._lock = threading.Lock()

    def take_bedrock_marker(self) -> str:
        with self._lock:
            return self._markers.pop() if self._markers else ""

    def queue_bedrock_fault(self, kind: str) -> None:
        with self._lock:
            self._markers.extend([BEDROCK_MARKERS[kind]] * MESSAGES_PER_BEDROCK_FAULT)


def inject(
    kind: str, stack: Stack, own_redis: OwnRedis, own_pg: OwnPostgres | None, soak: Soak
) -> None:
    if kind == "worker_kill":
        stack.kill("interactive")
        time.sleep(2)
        stack.start("interactive")
    elif kind == "cpu_kill":
        stack.kill("cpu")
        time.sleep(2)
        stack.start("cpu")
    elif kind == "redis_stall":
        threading.Thread(target=own_redis.stall, args=(7,), daemon=True).start()
    elif kind == "redis_restart":
        own_redis.restart(down_s=3)
    elif kind == "pg_restart" and own_pg is not None:
        own_pg.restart(down_s=3)
    elif kind in BEDROCK_MARKERS:
        soak.queue_bedrock_fault(kind)


def analyse(
    samples: list[Sample], faults: list[Fault], attempts: dict[str, int], calls: dict[str, int]
) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    non_final, bad_text, dup, fault_to_final, misses, call_misses = [], [], [], [], [], []
    by_fault: dict[str, list[dict[str, Any]]] = {}
    for s in samples:
        if s.send_status != 201:
            by_status[f"send {s.send_status}"] = by_status.get(f"send {s.send_status}", 0) + 1
            continue
        key = s.final_status or "not final"
        by_status[key] = by_status.get(key, 0) + 1
        if s.final_at is None:
            non_final.append(s.run_id)
            continue
        if s.duplicated_ids():
            dup.append(s.run_id)
        shown = s.shown
        wrong = (s.final_status == "done" and shown != s.expected) or not s.expected.startswith(
            shown
        )
        if wrong and not s.polled:  # a polled final carries no deltas to compare
            near = [f for f in faults if s.sent_at - PROMISE_S < f.at <= (s.final_at or 0)]
            bad_text.append(
                {
                    **_where_text_went_wrong(s, faults),
                    "run": s.run_id,
                    "status": s.final_status,
                    "shown_chars": len(shown),
                    "expected_chars": len(s.expected),
                    # What the page shows in the end: the final event's text.
                    "final_text_exact": s.final_text == s.expected
                    if s.final_status == "done"
                    else s.expected.startswith(s.final_text),
                    "faults_nearby": [f.kind for f in near],
                }
            )
        if s.final_status != "done":
            # Conservative: from the EARLIEST fault that could have ended it (one injected
            # after it was sent, or up to 30 s before), or from its sending if later.
            candidates = [f for f in faults if s.sent_at - PROMISE_S < f.at <= s.final_at]
            cause = min(candidates, key=lambda f: f.at) if candidates else None
            start = max(s.sent_at, cause.at) if cause else s.sent_at
            took = s.final_at - start
            fault_to_final.append(took)
            by_fault.setdefault(cause.kind if cause else "none", []).append(
                {
                    "code": s.final_code or s.final_status,
                    "seconds": round(took, 1),
                    # When it was sent relative to the fault (negative: before it).
                    "sent_vs_fault_s": round(s.sent_at - cause.at, 1) if cause else None,
                    "send_took_s": round(s.send_took, 1),
                    "connections": s.connections,
                    "polled": s.polled,
                }
            )
            if took > PROMISE_S:
                misses.append(
                    {
                        "run": s.run_id,
                        "status": s.final_status,
                        "code": s.final_code,
                        "seconds": round(took, 1),
                        "fault": cause.kind if cause else None,
                    }
                )
        allowed = max(1, attempts.get(s.run_id, 0))
        if calls.get(s.run_id, 0) > allowed:
            call_misses.append(
                {
                    "run": s.run_id,
                    "calls": calls[s.run_id],
                    "recorded_attempts": attempts.get(s.run_id, 0),
                }
            )
    fault_to_final.sort()
    return {
        "runs": sum(1 for s in samples if s.send_status == 201),
        "sends_refused": sum(1 for s in samples if s.send_status != 201),
        "by_final_status": by_status,
        "non_final_runs": non_final,
        "lost_or_wrong_text": bad_text,
        "duplicated_entries": dup,
        "fault_to_visible_s": {
            "count": len(fault_to_final),
            "p50": _rounded(percentile(fault_to_final, 0.5)),
            "p95": _rounded(percentile(fault_to_final, 0.95)),
            "max": round(fault_to_final[-1], 1) if fault_to_final else None,
        },
        "misses_over_30s": misses,
        "fault_to_visible_by_fault": {
            kind: _by_fault_summary(rows) for kind, rows in sorted(by_fault.items())
        },
        "bedrock_calls_over_recorded": call_misses,
    }


def _by_fault_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = sorted(r["seconds"] for r in rows)
    codes: dict[str, int] = {}
    for row in rows:
        codes[row["code"]] = codes.get(row["code"], 0) + 1
    return {
        "count": len(rows),
        "p50": _rounded(percentile(seconds, 0.5)),
        "p95": _rounded(percentile(seconds, 0.95)),
        "max": seconds[-1],
        "codes": codes,
        "slowest": sorted(rows, key=lambda r: -r["seconds"])[:5],
    }


def _where_text_went_wrong(s: Sample, faults: list[Fault]) -> dict[str, Any]:
    """For a run whose live text is wrong: the words missing or repeated, the entry ids
    around the first difference, and when it happened relative to each nearby fault."""
    shown_words, expected_words = s.shown.split(), s.expected.split()
    missing = [w for w in expected_words if w not in shown_words]
    repeated = sorted({w for w in shown_words if shown_words.count(w) > 1})
    deltas = [(e, t) for e, t in zip(s.events, s.arrived, strict=False) if e.event == "delta"]
    text, gap_at, around = "", None, []
    for index, (event, arrived) in enumerate(deltas):
        after = text + event.data.get("text", "")
        if not s.expected.startswith(after):
            gap_at = arrived
            around = [e.id for e, _t in deltas[max(0, index - 2) : index + 2]]
            break
        text = after
    faults_near = [f for f in faults if s.sent_at - PROMISE_S < f.at <= (s.final_at or 0)]
    last_delta_at = deltas[-1][1] if deltas else None
    return {
        # The last entries the employee got (a shortened answer: where the deltas stopped).
        "last_events": [[e.id, e.event] for e in s.events[-3:]],
        "last_delta_vs_faults_s": [
            [f.kind, round(last_delta_at - f.at, 2)]
            for f in faults_near
            if last_delta_at is not None
        ],
        "final_after_last_delta_s": round((s.final_at or 0) - last_delta_at, 2)
        if last_delta_at is not None
        else None,
        "missing_words": missing,
        "repeated_words": repeated,
        "entry_ids_around_gap": around,
        "connections": s.connections,
        # Seconds from each nearby fault to the first wrong delta's arrival.
        "gap_vs_faults_s": [
            [f.kind, round(gap_at - f.at, 2)] for f in faults_near if gap_at is not None
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--fault-every", type=float, default=30.0)
    parser.add_argument("--faults", default=",".join(ALL_FAULTS))
    parser.add_argument("--words", type=int, default=60, help="answer length in words")
    parser.add_argument("--pg", default="", help="an existing server URL (no pg_restart)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--port-base", type=int, default=PORT_BASE)
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    args = parser.parse_args(argv)
    random.seed(args.seed)
    faults_wanted = [f for f in args.faults.split(",") if f]
    load_start = uptime()

    from bench.bench_bedrock_baseline import start_emulator_process

    var_dir = Path(tempfile.mkdtemp(prefix="soak-"))
    own_pg = None if args.pg else OwnPostgres(args.port_base + 10)
    pg_url = args.pg or (own_pg.url if own_pg else "")
    if own_pg is None:
        faults_wanted = [f for f in faults_wanted if f != "pg_restart"]
    own_redis = OwnRedis(args.port_base + 12)
    emulator, emulator_url = start_emulator_process(
        ttft_ms=300, token_delay_ms=40, port=args.port_base + 1
    )
    env = stack_env(
        database_url=f"{pg_url}/soak",
        redis_url=own_redis.url,
        emulator_url=emulator_url,
        var_dir=var_dir,
    )
    env.pop("BEDROCK_READ_TIMEOUT", None)  # the product's default (first byte / stall + 5 s)
    os.environ.update(env)
    stack = Stack(env, var_dir, port=args.port_base)
    samples: list[Sample] = []
    faults: list[Fault] = []
    try:
        import psycopg

        with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as connection:
            connection.execute('DROP DATABASE IF EXISTS "soak" WITH (FORCE)')
            connection.execute('CREATE DATABASE "soak"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
        import django

        django.setup()
        from bench.bench_full_path import make_sessions

        cookies = make_sessions(args.streams)
        for name in ("interactive", "cpu", "watchdog", "beat", "web"):
            stack.start(name)
        stack.services["web"].wait_until(lambda: _answers(f"{stack.url}/healthz"), timeout=120)
        time.sleep(5)  # workers ready, the policy engine warm
        soak = Soak(stack.url, cookies, args.words)
        employees = [Employee(i, soak) for i in range(args.streams)]
        for employee in employees:
            employee.start()
            time.sleep(0.1)
        ends = time.monotonic() + args.minutes * 60
        next_fault = time.monotonic() + args.fault_every
        while time.monotonic() < ends:
            time.sleep(0.5)
            if time.monotonic() >= next_fault and faults_wanted:
                kind = random.choice(faults_wanted)
                faults.append(Fault(kind, time.monotonic()))
                print(f"[{time.strftime('%H:%M:%S')}] fault: {kind}", flush=True)
                inject(kind, stack, own_redis, own_pg, soak)
                next_fault += args.fault_every
        soak.stopping.set()
        for employee in employees:
            employee.join(timeout=200)
        samples = [s for e in employees for s in e.samples]
        ids = [s.run_id for s in samples if s.run_id]
        attempts, statuses = read_runs(ids)
        calls = {s.run_id: emulator_calls(emulator_url, s.tag) for s in samples if s.run_id}
        result = analyse(samples, faults, attempts, calls)
        result["database_non_final"] = [
            str(pk) for pk, st in statuses.items() if st in ("queued", "running", "streaming")
        ]
        report = {
            "machine": {
                "cpus": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "load_start": load_start,
                "load_end": uptime(),
            },
            "settings": {
                "minutes": args.minutes,
                "streams": args.streams,
                "fault_every_s": args.fault_every,
                "faults": faults_wanted,
                "words": args.words,
                "seed": args.seed,
            },
            "faults": {k: sum(1 for f in faults if f.kind == k) for k in faults_wanted},
            "result": result,
        }
        print(json.dumps(report, indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        return 0
    finally:
        stack.stop()
        emulator.stop(timeout=10)
        own_redis.stop()
        if own_pg is not None:
            own_pg.close()
        if args.keep_logs:
            print(f"logs kept in {var_dir}", flush=True)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


def read_runs(ids: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Recorded attempts and status of each run, retried: the bench's own database
    connection may predate a PostgreSQL restart."""
    from django.db import DatabaseError, connection

    from prompting.models import Run

    for attempt in range(5):
        connection.close()
        try:
            rows = list(Run.objects.filter(pk__in=ids).values_list("pk", "attempts", "status"))
            break
        except DatabaseError:
            if attempt == 4:
                raise
            time.sleep(2)
    attempts = {str(pk): len(tried) for pk, tried, _status in rows}
    statuses = {str(pk): status for pk, _tried, status in rows}
    return attempts, statuses


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - our local server
            return bool(reply.status < 500)
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
