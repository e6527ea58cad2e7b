"""Prometheus metrics: what to autoscale on and what to alert on (docs/operations.md).

Recorded where things happen (the one place each event occurs):
- request latency by route pattern: `config.middleware.RequestIdMiddleware`;
- time to first token, Bedrock calls by outcome: the generation step;
- policy analysis time: the judging step (and previews);
- active SSE streams: the stream view;
- runs by final state: the run lifecycle;
- limit refusals: the limits module.
Read from the shared stores when scraped (so any web process tells the same story):
queue depth and age of the oldest message per Celery queue (Redis), live workers per queue
(config/presence.py) and the age of the newest audit checkpoint (database).

Several processes per machine (uvicorn workers, the prefork cpu pool) share counters
through prometheus_client's multiprocess mode: set `PROMETHEUS_MULTIPROC_DIR` to an empty
directory per machine before the processes start (`make run` does, under var/). The web
process serves `/metrics`; a worker on its own machine serves the same on
`WORKER_METRICS_PORT`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any, cast

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config import presence
from config.redis_client import redis_client

logger = logging.getLogger(__name__)

MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

REQUEST_SECONDS = Histogram(
    "assistant_http_request_duration_seconds",
    "Time to produce a response (for SSE: until the stream starts), by route pattern.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TIME_TO_FIRST_TOKEN_SECONDS = Histogram(
    "assistant_time_to_first_token_seconds",
    "From the Bedrock call to the first text delta, by model.",
    ["model"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30),
)
POLICY_ANALYSIS_SECONDS = Histogram(
    "assistant_policy_analysis_seconds",
    "Time the policy layer took to judge one text (kind: message, summary, preview).",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POLICY_FAILURES = Counter(
    "assistant_policy_failures_total",
    "Texts the policy layer could not analyse (each one blocked: fail closed).",
    ["kind"],
)
ACTIVE_STREAMS = Gauge(
    "assistant_active_streams",
    "Open SSE connections (summed over live web processes).",
    multiprocess_mode="livesum",
)
BEDROCK_CALLS = Counter(
    "assistant_bedrock_calls_total",
    "Bedrock ConverseStream calls by outcome (ok, throttled, error code, …).",
    ["model", "outcome"],
)
RUNS_FINISHED = Counter(
    "assistant_runs_finished_total", "Runs that reached a final state.", ["tool", "status"]
)
LIMIT_REFUSALS = Counter(
    "assistant_limit_refusals_total",
    "Requests refused by a limit (which limit, and whose: user or department).",
    ["limit", "scope"],
)


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)


def monitored_queues() -> list[str]:
    """Every queue the routes send to, plus the default one."""
    # Routes may carry a priority as well as a queue (config/settings.py), so the values
    # are not all strings: read "queue" from each as a mapping.
    routes = cast("dict[str, dict[str, Any]]", settings.CELERY_TASK_ROUTES)
    queues = {str(route["queue"]) for route in routes.values()}
    return sorted(queues | {settings.CELERY_TASK_DEFAULT_QUEUE})


# kombu's Redis transport keeps a queue as a list per priority step; an unprioritised queue
# is the plain key. Messages are LPUSHed and BRPOPed: the oldest is at index -1.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_depth_and_age(client: redis.Redis, queue: str, *, now: float) -> tuple[int, float]:
    depth, oldest = 0, now
    for suffix in _PRIORITY_SUFFIXES:
        key = queue + suffix
        length = int(client.llen(key))  # type: ignore[arg-type]
        if not length:
            continue
        depth += length
        published = _published_at(client.lindex(key, -1))
        if published is not None:
            oldest = min(oldest, published)
    return depth, max(0.0, now - oldest) if depth else 0.0


def _published_at(raw: Any) -> float | None:
    try:
        value = json.loads(raw)["headers"]["published_at"]
        return float(value)
    except (TypeError, ValueError, KeyError):
        return None


def checkpoint_age_seconds() -> float | None:
    # Imported here: this module is loaded by the middleware stack and the worker signals,
    # some of which run before the app registry is ready.
    from audit.models import AuditCheckpoint

    newest = AuditCheckpoint.objects.order_by("-id").values_list("created_at", flat=True).first()
    return None if newest is None else max(0.0, time.time() - newest.timestamp())


class SharedStateCollector(Collector):
    """Queue depth/age, workers per queue and checkpoint age, read at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "assistant_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "assistant_queue_oldest_age_seconds",
            "Age of the oldest message waiting in a Celery queue (0 when empty).",
            labels=["queue"],
        )
        workers = GaugeMetricFamily(
            "assistant_workers", "Live Celery workers consuming a queue.", labels=["queue"]
        )
        up = GaugeMetricFamily("assistant_redis_up", "1 when Redis answered this scrape.")
        try:
            client = redis_client()
            now = time.time()
            present = presence.workers_present()
            for queue in monitored_queues():
                count, oldest = queue_depth_and_age(client, queue, now=now)
                depth.add_metric([queue], count)
                age.add_metric([queue], oldest)
                workers.add_metric([queue], sum(1 for w in present if queue in w.queues))
            up.add_metric([], 1)
        except redis.RedisError:
            logger.warning("metrics: Redis did not answer", exc_info=True)
            up.add_metric([], 0)
        yield from (depth, age, workers, up)
        checkpoint = GaugeMetricFamily(
            "assistant_audit_checkpoint_age_seconds",
            "Seconds since the newest signed audit checkpoint (absent: none yet).",
        )
        try:
            seconds = checkpoint_age_seconds()
        except Exception:
            logger.warning("metrics: could not read the newest checkpoint", exc_info=True)
            seconds = None
        if seconds is not None:
            checkpoint.add_metric([], seconds)
        yield checkpoint


SHARED_STATE = CollectorRegistry()
SHARED_STATE.register(SharedStateCollector())


def local_registry() -> CollectorRegistry:
    """This machine's metrics: every process's (multiprocess mode) or this process's."""
    if not MULTIPROCESS_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=MULTIPROCESS_DIR)
    return registry


def exposition() -> bytes:
    return generate_latest(local_registry()) + generate_latest(SHARED_STATE)


def metrics_request_allowed(request: HttpRequest) -> bool:
    """A bearer token (METRICS_TOKEN) or, without one, a peer address in
    METRICS_ALLOWED_NETWORKS (default: loopback). The peer is the TCP peer, never a
    forwarded-for header, which any client can write."""
    token = settings.METRICS_TOKEN
    if token:
        return request.headers.get("Authorization", "") == f"Bearer {token}"
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in settings.METRICS_ALLOWED_NETWORKS)


@login_not_required
@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_request_allowed(request):
        return HttpResponse("Not allowed.\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def worker_metrics_server(port: int) -> None:
    """A worker's own exposition (workers on machines without a web process)."""
    start_http_server(port, addr=settings.WORKER_METRICS_ADDRESS, registry=local_registry())


def process_exited(pid: int) -> None:
    """A prefork child ended: its live gauges must stop counting."""
    if MULTIPROCESS_DIR:
        multiprocess.mark_process_dead(pid, path=MULTIPROCESS_DIR)
