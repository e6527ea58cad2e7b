"""Logs that can be followed: one JSON object per line, with the request and run it belongs to.

Every process (uvicorn, Celery workers, beat) logs through Django's LOGGING (settings), so
one formatter and one context filter serve them all. The ids travel in context variables:
- `request_id`: set by `RequestIdMiddleware` for each web request (taken from a well-formed
  `X-Request-ID` header, else new) and handed to Celery tasks in a message header, so a
  worker's lines carry the id of the request that queued the work;
- `run_id` (and `document_id`): set around each task from its arguments by name;
- `task_id` / `task`: the Celery task being run.

What is never logged: message content, titles, search text or any other user input. The
access log names the route pattern (`/chat/<int:conversation_id>/`), never the raw path or
query string (`?q=olga` is personal data). A test scans a full journey's logs for the values
it sent (tests/config/test_logs.py).
"""

from __future__ import annotations

import contextvars
import inspect
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
run_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="")
document_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("document_id", default="")
task_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="")
task_name_var: contextvars.ContextVar[str] = contextvars.ContextVar("task", default="")

CONTEXT_VARS = {
    "request_id": request_id_var,
    "run_id": run_id_var,
    "document_id": document_id_var,
    "task_id": task_id_var,
    "task": task_name_var,
}
REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only if it looks like an id: a header is user input too.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Attributes every LogRecord has; anything else passed with `extra=` is logged as a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Copies the current ids onto every record (as attributes, for any formatter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT_VARS.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name in CONTEXT_VARS:
            value = getattr(record, name, "")
            if value:
                entry[name] = value
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in CONTEXT_VARS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """Development: readable lines, with the ids when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(
            f"{name}={getattr(record, name)}"
            for name in ("request_id", "run_id", "task")
            if getattr(record, name, "")
        )
        line = super().format(record)
        return f"{line} [{ids}]" if ids else line


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for every process; uvicorn's loggers are routed through it too."""
    handler = {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {
            "json": {"()": JsonFormatter},
            "plain": {
                "()": PlainFormatter,
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            },
        },
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "presidio-analyzer": {"level": "ERROR"},
            # uvicorn configures these before Django loads; naming them here replaces its
            # plain handlers with ours. Its access log prints raw paths with query strings
            # (search text): production runs uvicorn with --no-access-log and
            # `config.access` below logs the route pattern instead.
            "uvicorn": {"handlers": ["console"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "celery": {"level": level},
        },
    }


def new_request_id(incoming: str | None) -> str:
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


# --- Celery: the request id travels in a message header; ids are set around each task ------

TASK_ID_ARGUMENTS = {"run_id": run_id_var, "parent_id": run_id_var, "document_id": document_id_var}


def celery_headers_for_publish(headers: dict[str, Any]) -> None:
    """`before_task_publish`: hand the current request id to the task."""
    request_id = request_id_var.get()
    if request_id and "request_id" not in headers:
        headers["request_id"] = request_id


def task_context_enter(
    *, task: Any, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[tuple[contextvars.ContextVar[str], contextvars.Token[str]]]:
    """`task_prerun`: set the ids for the task's lines; returns tokens for `task_context_exit`."""
    tokens = [
        (task_id_var, task_id_var.set(task_id or "")),
        (task_name_var, task_name_var.set(task.name)),
    ]
    request_id = getattr(task.request, "request_id", None) or (
        (getattr(task.request, "headers", None) or {}).get("request_id")
    )
    if request_id:
        tokens.append((request_id_var, request_id_var.set(str(request_id))))
    for name, value in _named_arguments(task, args, kwargs).items():
        var = TASK_ID_ARGUMENTS.get(name)
        if var is not None and value is not None:
            tokens.append((var, var.set(str(value))))
    return tokens


def task_context_exit(
    tokens: list[tuple[contextvars.ContextVar[str], contextvars.Token[str]]],
) -> None:
    for var, token in reversed(tokens):
        try:
            var.reset(token)
        except ValueError:
            var.set("")  # set in another context (thread pools): clear instead


def _named_arguments(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(inspect.signature(task.run).bind_partial(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return dict(kwargs)
