"""Tables: what every chart is made from, what the page and the report show under it,
and what its CSV download holds (the same rows, unformatted)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from audit.export import csv_chunks

# How a column's values are written: plain text, a count, US dollars, a share (0 to 1),
# milliseconds, or a change against the previous period (count, dollars, points).
KINDS = ("text", "int", "usd", "share", "ms", "change", "change_usd", "change_points")


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "int"


@dataclass
class Table:
    slug: str  # unique on the page: the anchor and the CSV's name
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str = ""
    chart: SafeString | None = None

    def body_html(self) -> SafeString:
        """The <tbody> rows, built here rather than in a template loop: a year's daily
        table is thousands of cells, which template nodes render ten times slower."""
        if not self.rows:
            return mark_safe(  # noqa: S308 (a number and fixed text)
                f'<tr><td colspan="{len(self.columns)}">Nothing in this period.</td></tr>'
            )
        kinds = [column.kind for column in self.columns]
        lines = []
        for row in self.rows:
            cells = [f'<th scope="row">{escape(format_cell(row[0], kinds[0]))}</th>']
            cells += [
                f'<td class="kind-{kind}">{escape(format_cell(value, kind))}</td>'
                for value, kind in zip(row[1:], kinds[1:], strict=True)
            ]
            lines.append(f"<tr>{''.join(cells)}</tr>")
        return mark_safe("\n".join(lines))  # noqa: S308 (every value went through escape)

    def csv(self) -> str:
        labels = tuple(c.label for c in self.columns)
        rows = [dict(zip(labels, map(csv_value, row), strict=True)) for row in self.rows]
        return "".join(csv_chunks(iter([rows]), labels))


def csv_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    if isinstance(value, float):
        return round(value, 4)
    return value


def share(part: float | Decimal, whole: float | Decimal) -> float | None:
    return float(part) / float(whole) if whole else None


def change(current: Any, previous: Any) -> Any:
    """current - previous, or None when either is unknown (shown as "—")."""
    if current is None or previous is None:
        return None
    return current - previous


def format_cell(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "text":
        return str(value)
    if kind == "usd":
        return f"${Decimal(value):,.2f}"
    if kind == "share":
        return f"{float(value) * 100:.1f} %"
    if kind == "ms":
        return f"{int(value):,} ms"
    if kind == "change":
        if isinstance(value, float):
            return f"{value:+,.1f}"
        return f"{int(value):+,}" if value else "0"
    if kind == "change_usd":
        amount = Decimal(value)
        return f"{'+' if amount >= 0 else '-'}${abs(amount):,.2f}"
    if kind == "change_points":
        return f"{float(value) * 100:+.1f} pts"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{int(value):,}"


@dataclass
class Section:
    slug: str
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    # Short facts above the tables: (label, formatted value).
    facts: list[tuple[str, str]] = field(default_factory=list)
