"""The daily totals are evidence too: recomputed from the events during the walk
and compared with AuditDailyTotal, naming the first day and column that differ."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction

from audit.models import AuditDailyTotal, AuditEvent
from audit.totals import TOTAL_KEY, TOTALED_ACTIONS
from audit.verify.report import Problem
from audit.verify.walk import Totals

_COLUMNS = ("events", "input_tokens", "output_tokens", "cost_usd")


def check_totals(recomputed: Totals, upto: int) -> tuple[int, Problem | None]:
    """(rows compared, first difference). Events appended after the walk's end
    (`upto`) are added first, read in the same snapshot as the table, so a busy log
    gives no false alarm."""
    expected = {key: list(sums) for key, sums in recomputed.items()}
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        stored = {
            tuple(_text(v) for v in row[:7]): [row[7], row[8], row[9], _micro(row[10])]
            for row in AuditDailyTotal.objects.values_list(*TOTAL_KEY, *_COLUMNS)
        }
        later = AuditEvent.objects.filter(id__gt=upto, action__in=TOTALED_ACTIONS).values_list(
            "created_at", *TOTAL_KEY[1:], "input_tokens", "output_tokens", "cost_usd"
        )
        for created, *key, tokens_in, tokens_out, cost in later:
            sums = expected.setdefault((created.date().isoformat(), *key), [0, 0, 0, 0])
            for i, value in enumerate((1, tokens_in or 0, tokens_out or 0, _micro(cost))):
                sums[i] += value
    # SQLite adds decimals as floats: a micro-dollar of rounding is not tampering.
    tolerance = 1 if connection.vendor == "sqlite" else 0
    for key in sorted(set(expected) | set(stored)):
        mine, theirs = expected.get(key, [0, 0, 0, 0]), stored.get(key, [0, 0, 0, 0])
        for index, column in enumerate(_COLUMNS):
            slack = tolerance if column == "cost_usd" else 0
            if abs(mine[index] - theirs[index]) > slack:
                return len(stored), Problem(
                    "totals",
                    f"{' / '.join(key[1:])}: {column} is {_show(column, theirs[index])} in the "
                    f"table but {_show(column, mine[index])} from the events",
                    day=key[0],
                )
    return len(stored), None


def _text(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _micro(value: object) -> int:
    return int((Decimal(str(value or 0)) * 1_000_000).to_integral_value())


def _show(column: str, value: int) -> str:
    return f"{Decimal(value) / 1_000_000:.6f}" if column == "cost_usd" else str(value)
