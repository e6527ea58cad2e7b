"""Export helpers: the async wrapper streams chunk by chunk; CSV neutralises formulas."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

from audit.export import _csv_cell, as_async, csv_chunks


def test_async_wrapper_pulls_one_chunk_at_a_time() -> None:
    """Under ASGI each chunk is fetched only when the previous one has been sent,
    so a year of events is never held in memory."""
    produced: list[int] = []

    def chunks() -> Iterator[str]:
        for n in range(3):
            produced.append(n)
            yield f"chunk {n}\n"

    async def consume() -> list[tuple[str, int]]:
        seen = []
        async for chunk in as_async(chunks()):
            seen.append((chunk, len(produced)))
        return seen

    # Its own thread and loop: a browser fixture may already run a loop in this one.
    results: list[list[tuple[str, int]]] = []
    runner = threading.Thread(target=lambda: results.append(asyncio.run(consume())))
    runner.start()
    runner.join(timeout=30)
    assert results[0] == [("chunk 0\n", 1), ("chunk 1\n", 2), ("chunk 2\n", 3)]


def test_csv_cells_that_spreadsheets_would_execute_are_prefixed() -> None:
    """=, +, -, @ at the start of a text cell get a leading quote; numbers do not."""
    assert _csv_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert _csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert _csv_cell("plain") == "plain"
    assert _csv_cell(-5) == -5
    assert _csv_cell(None) == ""


def test_csv_header_is_sent_even_for_an_empty_range() -> None:
    """An export with no matching events is a header line, not an empty file."""
    assert "".join(csv_chunks(iter([]), ("id", "action"))) == "id,action\r\n"
