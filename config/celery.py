"""The Celery app: Redis broker, JSON only, queues `interactive` and `cpu`, and the process
wiring every worker and beat share: logging through Django's LOGGING (JSON lines with the
request and run ids), a `published_at` header for queue-age metrics, worker presence for
readiness, and a metrics endpoint for workers on machines of their own.

Run the two pools in production:
  celery -A config worker -Q interactive --pool threads --concurrency 200
  celery -A config worker -Q cpu --pool prefork --concurrency <cores>
  celery -A config beat
"""

import logging.config
import os
import time
from typing import Any

from celery import Celery, signals

from config.logs import celery_headers_for_publish, task_context_enter, task_context_exit

# Handlers below import Django-dependent modules inside the function: `celery -A config`
# imports this module before Django is set up.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def __getattr__(name: str) -> Any:
    """`checked_settings`: Django's settings, or one line and exit 2 when a variable is bad
    or a DEBUG=false start is unsafe (config/startup.py), for the worker and beat as for
    the web server. Resolved when Celery first reads its configuration."""
    if name == "checked_settings":
        from django.conf import settings

        from config.startup import exit_on_config_error

        with exit_on_config_error():
            settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
        return settings
    raise AttributeError(name)


app = Celery("config")
app.config_from_object("config.celery:checked_settings", namespace="CELERY")
app.autodiscover_tasks(["config", "prompting", "audit", "accounts", "insights"])

# The worker's hostname, for its children (prefork) to name themselves in presence keys.
WORKER_HOSTNAME_ENV = "ASSISTANT_WORKER_HOSTNAME"
_presence_beat: Any = None
_task_tokens: dict[str, Any] = {}


@signals.setup_logging.connect
def _use_django_logging(**_kwargs: object) -> None:
    # Connected, Celery leaves logging alone: workers and beat log like the web process.
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@signals.before_task_publish.connect
def _stamp_message(headers: dict[str, Any] | None = None, **_kwargs: object) -> None:
    if headers is not None:
        headers.setdefault("published_at", time.time())
        celery_headers_for_publish(headers)


@signals.task_prerun.connect
def _task_context(
    task_id: str = "", task: Any = None, args: Any = (), kwargs: Any = None, **_: object
) -> None:
    if task is not None:
        _task_tokens[task_id] = task_context_enter(
            task=task, task_id=task_id, args=tuple(args or ()), kwargs=dict(kwargs or {})
        )


@signals.task_postrun.connect
def _task_context_end(task_id: str = "", **_kwargs: object) -> None:
    tokens = _task_tokens.pop(task_id, None)
    if tokens:
        task_context_exit(tokens)


@signals.task_prerun.connect
@signals.task_postrun.connect
def _give_back_database_connections(task: Any = None, **_kwargs: object) -> None:
    """Each task starts and ends without a database connection of its own, as with Celery's
    fixup, but a pooled connection goes back to the process's pool (CONN_MAX_AGE 0: every
    connection is "obsolete" at the end) instead of the pool being closed with it
    (settings.CELERY_DB_REUSE_MAX). An eager task runs inside its caller's transaction."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_init.connect
def _name_children(sender: Any = None, **_kwargs: object) -> None:
    if sender is not None and getattr(sender, "hostname", None):
        os.environ[WORKER_HOSTNAME_ENV] = sender.hostname


@signals.worker_ready.connect
def _announce(sender: Any = None, **_kwargs: object) -> None:
    from django.conf import settings

    from config import metrics, presence

    global _presence_beat
    hostname = getattr(sender, "hostname", None) or presence.default_hostname()
    _presence_beat = presence.PresenceBeat(
        hostname=hostname, queues=presence.consumed_queues(sender)
    )
    _presence_beat.start()
    if settings.WORKER_METRICS_PORT:
        metrics.worker_metrics_server(settings.WORKER_METRICS_PORT)


@signals.worker_shutdown.connect
def _leave(**_kwargs: object) -> None:
    if _presence_beat is not None:
        _presence_beat.stop()


@signals.worker_process_shutdown.connect
def _child_exited(pid: int | None = None, **_kwargs: object) -> None:
    from config import metrics

    metrics.process_exited(pid or os.getpid())
