"""The one way a request body or a form field is read as JSON: nesting is bounded.

`json.loads` recurses once per level: a body of 100,000 `[` (200 KB) raises
RecursionError, which no view expects, and a few hundred levels that do parse can still
overflow code that walks the result (the audit log's canonical JSON, PostgreSQL's jsonb).
No request of this tool nests deeper than a list of marks inside an object (3 levels);
`MAX_JSON_DEPTH` leaves ample room and refuses the rest with a sentence.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 20


class JSONTooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(
            f"The request is nested more than {MAX_JSON_DEPTH} levels deep, which this page "
            "never sends; reload the page and try again."
        )


def loads_bounded(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, or JSONTooDeep when objects/lists nest deeper than `max_depth`.
    Malformed JSON raises ValueError as json.loads does."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONTooDeep() from None
    if depth_exceeds(value, max_depth):
        raise JSONTooDeep()
    return value


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether containers nest deeper than `max_depth` (iterative: never recurses)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
