"""Streaming export of a filtered range as CSV or JSON Lines.

Rows are read in keyset chunks (id > last, LIMIT 2000) rather than one
server-side cursor: constant memory, nothing held open between chunks, and
each chunk is a short query that is safe to run from sync_to_async calls.

Under ASGI a StreamingHttpResponse must be given an async iterator, or Django
consumes a sync one whole before sending a byte; `as_async` hands each chunk
over from the request's thread (same DB connection) with sync_to_async.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async

from audit.chain import format_cost, format_timestamp
from audit.filters import Filters
from audit.selectors import event_queryset

CHUNK_SIZE = 2000
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}

COLUMNS = (
    "id", "created_at", "actor_label", "actor_department", "action", "outcome",
    "target_type", "target_id", "tool", "model", "decision", "input_tokens",
    "output_tokens", "cost_usd", "details", "content_sha256", "prev_hash", "hash",
)  # fmt: skip
# Spreadsheet apps execute cells starting with these (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_columns(*, include_content: bool) -> tuple[str, ...]:
    return (*COLUMNS, "content") if include_content else COLUMNS


def export_rows(
    filters: Filters, *, through_id: int, include_content: bool
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of plain rows, oldest first, up to and including `through_id`."""
    columns = export_columns(include_content=include_content)
    queryset = event_queryset(filters).filter(id__lte=through_id).order_by("id")
    after = 0
    while True:
        rows = list(queryset.filter(id__gt=after).values(*columns)[:CHUNK_SIZE])
        if not rows:
            return
        for row in rows:
            row["created_at"] = format_timestamp(row["created_at"])
            row["cost_usd"] = format_cost(row["cost_usd"])
        yield rows
        if len(rows) < CHUNK_SIZE:
            return
        after = rows[-1]["id"]


def csv_chunks(chunks: Iterator[list[dict[str, Any]]], columns: tuple[str, ...]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for rows in chunks:
        for row in rows:
            writer.writerow([_csv_cell(row[column]) for column in columns])
        yield _drain(buffer)
    yield _drain(buffer)


def jsonl_chunks(chunks: Iterator[list[dict[str, Any]]]) -> Iterator[str]:
    for rows in chunks:
        yield "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _next_chunk(chunks: Iterator[str]) -> str | None:
    return next(chunks, None)


async def as_async(chunks: Iterator[str]) -> AsyncIterator[str]:
    fetch = sync_to_async(_next_chunk, thread_sensitive=True)
    while True:
        chunk = await fetch(chunks)
        if chunk is None:
            return
        if chunk:
            yield chunk
