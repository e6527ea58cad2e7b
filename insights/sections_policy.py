"""Policy impact, quality, and "for the decision" (the report's closing section)."""

from __future__ import annotations

import calendar
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings

from insights import charts
from insights.figures import Figures, PeriodFigures
from insights.privacy import OTHER
from insights.rollup import (
    METRIC_ENTITY,
    METRIC_FAILURE,
    METRIC_OVERRIDE,
    METRIC_RATING,
    METRIC_TTFT,
    TTFT_EDGES_MS,
)
from insights.sections import (
    TOOL_LABELS,
    cost,
    department_rows,
    previous_users,
    requests,
    usage_total,
)
from insights.tables import Column, Section, Table, change, format_cell, share

ACTION_COLUMNS = (
    ("pseudonymize", "Pseudonymized"),
    ("redact", "Redacted"),
    ("block", "Blocked"),
    ("allow", "Allowed"),
    ("unrecorded", "Action not recorded"),
)
FAILURE_LABELS = {
    "failed": "Failed",
    "interrupted": "Interrupted (worker stopped)",
    "cancelled": "Stopped by the employee",
    "blocked": "Blocked",
}
AVERAGE_MONTH_DAYS = Decimal("30.4375")
TOP = 5


def _metric(figures: PeriodFigures, metric: str) -> dict[tuple[str, str, str], int]:
    return {(tool, key, sub): n for (m, tool, key, sub), n in figures.counts.items() if m == metric}


def _by_entity(figures: PeriodFigures, metric: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_tool, entity, sub), n in _metric(figures, metric).items():
        out[entity][sub] += n
        out[entity]["total"] += n
    return out


def personal_data_share(figures: PeriodFigures) -> float | None:
    return share(usage_total(figures, 2), requests(figures))


def policy_section(figures: Figures) -> Section:
    cur, prev = figures.current, figures.previous
    entities = _by_entity(cur, METRIC_ENTITY)
    before = _by_entity(prev, METRIC_ENTITY)
    order = sorted(entities, key=lambda e: (-entities[e]["total"], e))
    rows = [
        [entity, entities[entity]["total"], share(entities[entity]["total"], requests(cur))]
        + [entities[entity].get(action, 0) for action, _label in ACTION_COLUMNS]
        for entity in order
    ]
    table = Table(
        "entities",
        "Personal data found, by entity type and what the policy did",
        [
            Column("Entity type", "text"),
            Column("Requests where found"),
            Column("Share of requests", "share"),
        ]
        + [Column(label) for _a, label in ACTION_COLUMNS],
        rows,
        note=(
            "One request counts once per entity type found in it. Events from before the "
            "policy recorded each type's action show the request's decision instead, or "
            "“Action not recorded”."
        ),
    )
    table.chart = charts.bar_chart(
        "entities",
        "Requests with each entity type found",
        order,
        [r[1] for r in rows],
        previous=[before.get(e, {}).get("total", 0) for e in order],
    )
    overrides = _by_entity(cur, METRIC_OVERRIDE)
    names = sorted(overrides, key=lambda e: (-overrides[e]["total"], e))
    override_rows = [
        [e, overrides[e]["total"], overrides[e].get("ok", 0), overrides[e].get("rejected", 0)]
        for e in names
    ]
    override_table = Table(
        "overrides",
        "“Not personal data” reports (overrides), by entity type",
        [
            Column("Entity type", "text"),
            Column("Reports"),
            Column("Accepted"),
            Column("Rejected by the policy"),
        ],
        override_rows,
        note="An employee marked a finding as not personal data before sending.",
    )
    override_table.chart = charts.bar_chart(
        "overrides", override_table.title, names, [r[1] for r in override_rows]
    )
    blocked, blocked_before = int(usage_total(cur, 1)), int(usage_total(prev, 1))
    return Section(
        "policy",
        "Policy impact",
        "The input to the six-month policy refresh: how often personal data is found, "
        "what the policy does with it, and where employees disagree with it.",
        [table, override_table],
        facts=[
            ("Requests with personal data", format_cell(personal_data_share(cur), "share")),
            ("Previous period", format_cell(personal_data_share(prev), "share")),
            (
                "Blocked requests",
                f"{blocked:,} ({format_cell(change(blocked, blocked_before), 'change')})",
            ),
        ],
    )


def _percentile(buckets: dict[int, int], fraction: float) -> int | None:
    """The upper edge of the bucket holding the fraction-th answer (within 10 %)."""
    total = sum(buckets.values())
    if not total:
        return None
    seen = 0
    for bucket in sorted(buckets):
        seen += buckets[bucket]
        if seen >= fraction * total:
            return TTFT_EDGES_MS[min(bucket, len(TTFT_EDGES_MS) - 1)]
    return None


def quality_section(figures: Figures) -> Section:
    cur, prev = figures.current, figures.previous
    tools = sorted(
        {t for (m, t, _k, _s) in cur.counts if m in (METRIC_RATING, METRIC_TTFT)}
        | {t for (_d, t, _p, _m) in cur.usage}
    )

    def ratings(period: PeriodFigures, tool: str) -> tuple[int, int]:
        rated = _metric(period, METRIC_RATING)
        up = max(sum(n for (t, k, _s), n in rated.items() if t == tool and k == "up"), 0)
        down = max(sum(n for (t, k, _s), n in rated.items() if t == tool and k == "down"), 0)
        return up, down

    rating_rows = []
    for tool in tools:
        up, down = ratings(cur, tool)
        up_before, down_before = ratings(prev, tool)
        rating_rows.append(
            [
                TOOL_LABELS.get(tool, tool or "Other"),
                up,
                down,
                share(up, up + down),
                change(share(up, up + down), share(up_before, up_before + down_before)),
            ]
        )
    rating_table = Table(
        "ratings",
        "Helpful and not helpful answers, by tool",
        [
            Column("Tool", "text"),
            Column("Helpful"),
            Column("Not helpful"),
            Column("Helpful share", "share"),
            Column("Change", "change_points"),
        ],
        rating_rows,
        note="Ratings employees gave answers (thumbs up or down); a changed rating counts once.",
    )
    rating_table.chart = charts.bar_chart(
        "ratings",
        "Helpful share of rated answers, by tool",
        [r[0] for r in rating_rows],
        [(r[3] or 0) * 100 for r in rating_rows],
        fmt=lambda v: f"{v:.0f} %",
    )
    answers = int(usage_total(cur, 3))
    failures = _metric(cur, METRIC_FAILURE)
    kinds: dict[str, int] = defaultdict(int)
    for (_tool, outcome, code), n in failures.items():
        label = FAILURE_LABELS.get(outcome, outcome.capitalize() or "Unknown")
        kinds[f"{label} · {code}" if code and code != outcome else label] += n
    failure_names = sorted(kinds, key=lambda k: (-kinds[k], k))
    failure_rows = [[k, kinds[k], share(kinds[k], answers)] for k in failure_names]
    failure_table = Table(
        "failures",
        "Answers that did not finish, by kind",
        [Column("Kind", "text"), Column("Answers"), Column("Share of answers", "share")],
        failure_rows,
    )
    failure_table.chart = charts.bar_chart(
        "failures", failure_table.title, failure_names, [r[1] for r in failure_rows]
    )
    latency_rows = []
    for tool in tools:
        buckets = {
            int(k): n for (t, k, _s), n in _metric(cur, METRIC_TTFT).items() if t == tool and n
        }
        before = {
            int(k): n for (t, k, _s), n in _metric(prev, METRIC_TTFT).items() if t == tool and n
        }
        latency_rows.append(
            [
                TOOL_LABELS.get(tool, tool or "Other"),
                sum(buckets.values()),
                _percentile(buckets, 0.5),
                _percentile(buckets, 0.95),
                _percentile(before, 0.95),
            ]
        )
    latency_table = Table(
        "latency",
        "Time to first token, by tool",
        [
            Column("Tool", "text"),
            Column("Answers timed"),
            Column("p50", "ms"),
            Column("p95", "ms"),
            Column("p95, previous period", "ms"),
        ],
        latency_rows,
        note="From a histogram with buckets 10 % wide: each percentile is within 10 %.",
    )
    latency_table.chart = charts.bar_chart(
        "latency",
        "Time to first token p95 (ms), by tool",
        [r[0] for r in latency_rows],
        [r[3] or 0 for r in latency_rows],
        previous=[r[4] for r in latency_rows],
        fmt=lambda v: f"{v:,.0f} ms",
    )
    return Section("quality", "Quality", tables=[rating_table, failure_table, latency_table])


# --- for the decision ------------------------------------------------------------------------


def run_rate(spent: Decimal, figures: Figures) -> Decimal:
    """Cost per month at the pace of the period so far."""
    days = figures.current.span.days
    if not days:
        return Decimal(0)
    start = figures.period.start
    month_days = (
        Decimal(calendar.monthrange(start.year, start.month)[1])
        if figures.period.kind == "month"
        else AVERAGE_MONTH_DAYS
    )
    return (Decimal(spent) / days * month_days).quantize(Decimal("0.01"))


def decision_section(figures: Figures) -> Section:
    rows: list[list[Any]] = []
    total_budget = settings.INSIGHTS_MONTHLY_BUDGET_USD
    spent = cost(figures.current)
    rows.append(["Whole company", spent, run_rate(spent, figures), total_budget or None])
    departments = department_rows(figures.current)
    budgets: dict[str, Decimal] = defaultdict(Decimal)
    labels = {label for label in departments}
    for department, amount in settings.INSIGHTS_DEPARTMENT_BUDGETS_USD.items():
        budgets[department if department in labels else OTHER] += amount
    for label in sorted(budgets, key=lambda b: (b == OTHER, b)):
        dept_cost = departments.get(label, [0, 0, 0, 0, Decimal(0)])[4].quantize(Decimal("0.01"))
        rows.append([label, dept_cost, run_rate(dept_cost, figures), budgets[label]])
    for row in rows:
        row.append(share(row[2], row[3]) if row[3] else None)
    budget_table = Table(
        "budgets",
        "Run-rate cost against the monthly budgets",
        [
            Column("Budget", "text"),
            Column("Cost in the period", "usd"),
            Column("Monthly run-rate", "usd"),
            Column("Monthly budget", "usd"),
            Column("Run-rate ÷ budget", "share"),
        ],
        rows,
        note=(
            "Budgets come from INSIGHTS_MONTHLY_BUDGET_USD and INSIGHTS_DEPARTMENT_BUDGETS_USD; "
            "a budget of a department with too few active users is counted in "
            f"“{OTHER}”."
        ),
    )
    before = department_rows(figures.previous)
    growth = []
    for label, values in departments.items():
        earlier = previous_users(label, before, figures.previous)
        if earlier is not None:
            growth.append([label, values[0], earlier, values[0] - earlier])
    growth.sort(key=lambda r: (-r[3], r[0]))
    fastest = [r for r in growth if r[3] > 0][:TOP]
    flat = [r for r in growth if r[3] <= 0]
    growth_table = Table(
        "growth",
        "Departments growing fastest, and not at all",
        [
            Column("Department", "text"),
            Column("Active users"),
            Column("Previous period"),
            Column("Change", "change"),
        ],
        fastest + flat,
        note=f"The {TOP} fastest-growing departments first, then every one that did not grow.",
    )
    blocked = _by_entity(figures.current, METRIC_ENTITY)
    overridden = _by_entity(figures.current, METRIC_OVERRIDE)
    top_blocked = sorted(
        (e for e in blocked if blocked[e].get("block")), key=lambda e: -blocked[e]["block"]
    )[:TOP]
    top_overridden = sorted(overridden, key=lambda e: -overridden[e]["total"])[:TOP]
    attention = Table(
        "attention",
        "Entity types most often blocked or overridden",
        [Column("Entity type", "text"), Column("Blocked requests"), Column("Overrides")],
        [
            [e, blocked.get(e, {}).get("block", 0), overridden.get(e, {}).get("total", 0)]
            for e in dict.fromkeys([*top_blocked, *top_overridden])
        ],
    )
    return Section(
        "decision",
        "For the decision",
        "Spending against budgets, where adoption grows or stalls, and what the policy "
        "refresh should look at first.",
        [budget_table, growth_table, attention],
    )
