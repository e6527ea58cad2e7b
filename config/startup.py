"""Entry points call `exit_on_config_error` so a bad variable is one line, not a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from config.env import ConfigError


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    try:
        yield
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
