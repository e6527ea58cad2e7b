"""Server-rendered SVG charts: no JavaScript, no CDN, readable in print and in greyscale.

Two shapes cover the page and the report: horizontal bars (categories, with the
previous period as a hatched bar under each current one) and columns (a time series).
Every chart has `role="img"`, a <title> and a <desc> that says what it shows, direct
value labels on the bars (no reading values off an axis), and a visible table beside it
on the page. Colours are a dark solid fill against white with grey hatching, so they stay
apart when printed in black and white. All text is escaped here: department names come
from the IdP and may hold markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 520
CURRENT_FILL = "#1d3557"  # dark blue: near black in greyscale
PREVIOUS_STROKE = "#5c6670"
LABEL_WIDTH = 160
BAR = 16
GAP = 12
MAX_LABEL_CHARS = 22


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def _number(value: Any) -> float:
    return float(value or 0)


def _defs(uid: str) -> str:
    return (
        f'<defs><pattern id="hatch-{uid}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{PREVIOUS_STROKE}" stroke-width="2"/>'
        "</pattern></defs>"
    )


def _open(uid: str, height: int, title: str, desc: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="chart-{uid}-title chart-{uid}-desc" '
        f'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">'
        f'<title id="chart-{uid}-title">{escape(title)}</title>'
        f'<desc id="chart-{uid}-desc">{escape(desc)}</desc>'
    )


def bar_chart(
    uid: str,
    title: str,
    labels: Sequence[Any],
    values: Sequence[Any],
    *,
    previous: Sequence[Any] | None = None,
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
    previous_label: str = "previous period",
) -> SafeString:
    """One row per label: a solid bar for this period, a hatched one for the previous."""
    rows = len(labels)
    per_row = BAR * (2 if previous is not None else 1) + GAP
    legend = 26 if previous is not None else 0
    height = max(rows * per_row + legend + 8, 40)
    top = max([_number(v) for v in values] + [_number(v) for v in previous or [] if v] + [0]) or 1
    span = WIDTH - LABEL_WIDTH - 90
    desc = "; ".join(
        f"{label}: {fmt(_number(value))}"
        + (
            f" ({previous_label}: {fmt(_number(previous[i]))})"
            if previous is not None and previous[i] is not None
            else ""
        )
        for i, (label, value) in enumerate(zip(labels, values, strict=True))
    )
    parts = [_open(uid, height, title, desc or "No data in this period."), _defs(uid)]
    if previous is not None:
        parts.append(
            f'<g aria-hidden="true"><rect x="{LABEL_WIDTH}" y="4" width="14" height="12" '
            f'fill="{CURRENT_FILL}"/><text x="{LABEL_WIDTH + 20}" y="14">this period</text>'
            f'<rect x="{LABEL_WIDTH + 120}" y="4" width="14" height="12" fill="url(#hatch-{uid})" '
            f'stroke="{PREVIOUS_STROKE}"/><text x="{LABEL_WIDTH + 140}" y="14">'
            f"{escape(previous_label)}</text></g>"
        )
    if not rows:
        parts.append(f'<text x="{LABEL_WIDTH}" y="{legend + 20}">No data in this period.</text>')
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = legend + i * per_row
        width = span * _number(value) / top
        parts.append(
            f"<g><title>{escape(label)}: {escape(fmt(_number(value)))}</title>"
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR - 4}" text-anchor="end">'
            f"{escape(_short(label))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR}" '
            f'fill="{CURRENT_FILL}"/>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + BAR - 4}">'
            f"{escape(fmt(_number(value)))}</text></g>"
        )
        if previous is not None and previous[i] is not None:
            before = span * _number(previous[i]) / top
            y2 = y + BAR
            parts.append(
                f'<g aria-hidden="true"><rect x="{LABEL_WIDTH}" y="{y2}" width="{before:.1f}" '
                f'height="{BAR - 2}" fill="url(#hatch-{uid})" stroke="{PREVIOUS_STROKE}"/>'
                f'<text x="{LABEL_WIDTH + before + 6:.1f}" y="{y2 + BAR - 5}" fill="#333333">'
                f"{escape(fmt(_number(previous[i])))}</text></g>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above went through escape)


def column_chart(
    uid: str,
    title: str,
    labels: Sequence[Any],
    values: Sequence[Any],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
) -> SafeString:
    """A time series as columns, the highest and the last value labelled on the chart."""
    height, bottom, left = 220, 30, 40
    count = len(values)
    top = max([_number(v) for v in values] or [0]) or 1
    step = (WIDTH - left - 10) / max(count, 1)
    desc = "; ".join(f"{label}: {fmt(_number(v))}" for label, v in zip(labels, values, strict=True))
    parts = [_open(uid, height, title, desc or "No data in this period.")]
    base = height - bottom
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="#333333"/>'
        f'<text x="{left - 6}" y="{base}" text-anchor="end">0</text>'
        f'<text x="{left - 6}" y="22" text-anchor="end">{escape(fmt(top))}</text>'
    )
    if not count:
        parts.append(f'<text x="{left + 10}" y="{base - 10}">No data in this period.</text>')
    peak = max(range(count), key=lambda i: _number(values[i])) if count else -1
    label_every = max(1, count // 6)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = (base - 30) * _number(value) / top
        x = left + i * step
        parts.append(
            f"<g><title>{escape(label)}: {escape(fmt(_number(value)))}</title>"
            f'<rect x="{x + step * 0.1:.1f}" y="{base - h:.1f}" width="{max(step * 0.8, 1):.1f}" '
            f'height="{h:.1f}" fill="{CURRENT_FILL}"/></g>'
        )
        if i in (peak, count - 1) and value:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle">'
                f"{escape(fmt(_number(value)))}</text>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{base + 16}" text-anchor="middle" '
                f'font-size="10">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above went through escape)
