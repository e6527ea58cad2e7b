"""Figures → what people read: five headline numbers, then the sections of the page and
the report (adoption, departments, tools and models). Policy, quality and "for the
decision" are in sections_policy.py. Every table names departments only after folding
(privacy.py) and never a person."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings

from insights import charts
from insights.figures import Figures, PeriodFigures
from insights.periods import add_months
from insights.privacy import OTHER, cohort_shown, department_label, fold_departments
from insights.rollup import METRIC_RATING, METRIC_TEMPLATE
from insights.tables import Column, Section, Table, change, format_cell, share

TOOL_LABELS = {"chat": "Chat", "rewrite": "Rewrite", "summarize": "Summarize"}
DAILY_SERIES_MAX_DAYS = 92
_REQ, _BLOCKED, _PERSONAL, _GEN, _IN, _OUT, _COST = range(7)


@dataclass(frozen=True)
class Headline:
    label: str
    value: Any
    kind: str  # tables.KINDS
    change: Any
    change_kind: str

    @property
    def text(self) -> str:
        return format_cell(self.value, self.kind)

    @property
    def change_text(self) -> str:
        return format_cell(self.change, self.change_kind)


def tool_label(tool: str, preset: str = "") -> str:
    from prompting.rewrite.presets import CUSTOM, PRESETS_BY_KEY

    name = TOOL_LABELS.get(tool, tool or "Other")
    if tool != "rewrite":
        return name
    if preset == CUSTOM:
        return "Rewrite: own instruction"
    if preset in PRESETS_BY_KEY:
        return f"Rewrite: {PRESETS_BY_KEY[preset].label}"
    return "Rewrite: preset not recorded"


def usage_total(figures: PeriodFigures, index: int) -> Any:
    return sum((row[index] for row in figures.usage.values()), Decimal(0) if index == _COST else 0)


def requests(figures: PeriodFigures) -> int:
    return int(usage_total(figures, _REQ))


def cost(figures: PeriodFigures) -> Decimal:
    return Decimal(usage_total(figures, _COST)).quantize(Decimal("0.01"))


def denominator(figures: PeriodFigures) -> int:
    """Adoption's denominator: the configured headcount, else people who signed in."""
    headcount = settings.INSIGHTS_HEADCOUNT
    return sum(headcount.values()) if headcount else figures.signed_in


def adoption_share(figures: PeriodFigures) -> float | None:
    return share(len(figures.active_users), denominator(figures))


def helpful_share(figures: PeriodFigures, tool: str | None = None) -> float | None:
    up = down = 0
    for (metric, row_tool, key, _sub), n in figures.counts.items():
        if metric == METRIC_RATING and (tool is None or row_tool == tool):
            up += n if key == "up" else 0
            down += n if key == "down" else 0
    return share(max(up, 0), max(up, 0) + max(down, 0))


def headlines(figures: Figures) -> list[Headline]:
    cur, prev = figures.current, figures.previous
    pairs = [
        ("Active users", len(cur.active_users), len(prev.active_users), "int", "change"),
        (
            "Share of employees who used it",
            adoption_share(cur),
            adoption_share(prev),
            "share",
            "change_points",
        ),
        ("Requests", requests(cur), requests(prev), "int", "change"),
        ("Cost", cost(cur), cost(prev), "usd", "change_usd"),
        ("Helpful answers", helpful_share(cur), helpful_share(prev), "share", "change_points"),
    ]
    return [Headline(label, a, kind, change(a, b), ck) for label, a, b, kind, ck in pairs]


# --- adoption ----------------------------------------------------------------------------


def _average(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def adoption_section(figures: Figures) -> Section:
    cur, prev = figures.current, figures.previous
    rows: list[list[Any]] = [
        ["Active users", len(cur.active_users), len(prev.active_users)],
        ["New users", cur.new_users, prev.new_users],
        [
            "Returning users",
            len(cur.active_users) - cur.new_users,
            len(prev.active_users) - prev.new_users,
        ],
        ["Average daily active users", _daily_average(cur), _daily_average(prev)],
        ["Average weekly active users", _average(cur.weekly_active), _average(prev.weekly_active)],
        [
            "Average monthly active users",
            _average(list(cur.monthly_active.values())),
            _average(list(prev.monthly_active.values())),
        ],
        ["Adoption denominator", denominator(cur), denominator(prev)],
    ]
    for row in rows:
        row.append(change(row[1], row[2]))
    summary = Table(
        "adoption",
        "Adoption at a glance",
        [
            Column("Measure", "text"),
            Column("This period", "int"),
            Column("Previous period", "int"),
            Column("Change", "change"),
        ],
        rows,
        note=_denominator_note(),
    )
    summary.chart = charts.bar_chart(
        "adoption",
        "Active, new and returning users, this period and the previous one",
        [r[0] for r in rows[:3]],
        [r[1] for r in rows[:3]],
        previous=[r[2] for r in rows[:3]],
    )
    peak = max(cur.daily_active.values(), default=0)
    section = Section(
        "adoption",
        "Adoption",
        "Active users made at least one request; new users made their first one ever.",
        [summary, _activity_series(figures), _retention(figures)],
        facts=[
            ("Share of employees who used it", format_cell(adoption_share(cur), "share")),
            ("Peak daily active users", format_cell(peak, "int")),
        ],
    )
    return section


def _daily_average(figures: PeriodFigures) -> float | None:
    """Over every day of the span, weekends and holidays included."""
    return sum(figures.daily_active.values()) / figures.span.days if figures.span.days else None


def _denominator_note() -> str:
    if settings.INSIGHTS_HEADCOUNT:
        return "Share of employees: active users / the configured headcount (INSIGHTS_HEADCOUNT)."
    return (
        "Share of employees: active users / people who signed in at least once "
        "by the end of the period."
    )


def _activity_series(figures: Figures) -> Table:
    cur = figures.current
    if cur.span.days <= DAILY_SERIES_MAX_DAYS:
        days = [
            date.fromordinal(o) for o in range(cur.span.start.toordinal(), cur.span.end.toordinal())
        ]
        rows = [[d.isoformat(), cur.daily_active.get(d, 0)] for d in days]
        labels = [f"{d.day} {d:%b}" for d in days]
        table = Table(
            "active-series",
            "Daily active users",
            [Column("Day", "text"), Column("Active users")],
            rows,
        )
    else:
        months = sorted(cur.monthly_active)
        rows = [[f"{m:%Y-%m}", cur.monthly_active[m]] for m in months]
        labels = [f"{m:%b %y}" for m in months]
        table = Table(
            "active-series",
            "Monthly active users",
            [Column("Month", "text"), Column("Active users")],
            rows,
        )
    table.chart = charts.column_chart("active-series", table.title, labels, [r[1] for r in rows])
    return table


def _retention(figures: Figures) -> Table:
    """Share of each month's new users active again 1, 2, … months later."""
    end = figures.cohort_end
    first = min(figures.cohorts, default=add_months(end, -1))
    # Only as many "months later" as the oldest cohort has had.
    later_months = (end.year - first.year) * 12 + end.month - first.month
    columns = [Column("First month", "text"), Column("New users")] + [
        Column(f"+{k} mo", "share") for k in range(1, later_months)
    ]
    rows = []
    for month, (size, later) in figures.cohorts.items():
        row: list[Any] = [f"{month:%Y-%m}", size]
        for k in range(1, later_months):
            elapsed = add_months(month, k) < end
            row.append(share(later.get(k, 0), size) if elapsed and cohort_shown(size) else None)
        rows.append(row)
    return Table(
        "retention",
        "Retention of each month's new users",
        columns,
        rows,
        note=(
            "Share of the month's new users who made a request 1, 2, … months (mo) later. "
            f"Cohorts under {settings.INSIGHTS_MIN_GROUP_SIZE} people show no shares."
        ),
    )


# --- departments ---------------------------------------------------------------------------


def department_rows(figures: PeriodFigures) -> dict[str, list[Any]]:
    """Shown label → [active users, denominator, requests, tokens, cost] after folding."""
    if "departments" not in figures.derived:
        figures.derived["departments"] = _department_rows(figures)
    return figures.derived["departments"]


def _department_rows(figures: PeriodFigures) -> dict[str, list[Any]]:
    labels = fold_departments(figures.users_by_department)
    users: dict[str, set[int]] = defaultdict(set)
    denominators: dict[str, int | None] = defaultdict(int)
    headcount = settings.INSIGHTS_HEADCOUNT
    for department, members in figures.users_by_department.items():
        users[labels[department]] |= members
    for department, label in labels.items():
        seats = (
            headcount.get(department)
            if headcount
            else figures.signed_in_by_department.get(department, 0)
        )
        known = denominators[label]
        denominators[label] = None if seats is None or known is None else known + seats
    out = {
        label: [len(members), denominators[label], 0, 0, Decimal(0)]
        for label, members in users.items()
    }
    for (department, _tool, _preset, _model), row in figures.usage.items():
        label = labels.get(department, OTHER)
        target = out.setdefault(label, [len(users.get(label, ())), None, 0, 0, Decimal(0)])
        target[2] += row[_REQ]
        target[3] += row[_IN] + row[_OUT]
        target[4] += row[_COST]
    return out


def previous_users(label: str, folded: dict[str, list[Any]], previous: PeriodFigures) -> int | None:
    """A department's active users in the previous period: its row there, 0 if it had
    nobody active, None (unknown) if it was folded into "Other departments" then."""
    if label == OTHER:
        return None
    if label in folded:
        return int(folded[label][0])
    if label not in {department_label(d) for d in previous.users_by_department}:
        return 0
    return None


def departments_section(figures: Figures) -> Section:
    cur = department_rows(figures.current)
    prev = department_rows(figures.previous)
    order = sorted(cur, key=lambda label: (label == OTHER, -cur[label][0], label))
    rows = []
    for label in order:
        users, seats, reqs, tokens, spent = cur[label]
        before = previous_users(label, prev, figures.previous)
        rows.append(
            [
                label,
                users,
                share(users, seats) if seats else None,
                reqs,
                tokens,
                spent.quantize(Decimal("0.01")),
                (spent / users).quantize(Decimal("0.01")) if users else None,
                change(users, before),
            ]
        )
    table = Table(
        "departments",
        "Usage by department",
        [
            Column("Department", "text"),
            Column("Active users"),
            Column("Share of employees", "share"),
            Column("Requests"),
            Column("Tokens"),
            Column("Cost", "usd"),
            Column("Cost per active user", "usd"),
            Column("Change in active users", "change"),
        ],
        rows,
        note=(
            f"Departments with fewer than {settings.INSIGHTS_MIN_GROUP_SIZE} active users are "
            f"counted in “{OTHER}”; the department is the one at the time of each request."
        ),
    )
    table.chart = charts.bar_chart(
        "departments",
        "Active users by department",
        [r[0] for r in rows],
        [r[1] for r in rows],
        previous=[previous_users(r[0], prev, figures.previous) for r in rows],
    )
    return Section("departments", "By department", tables=[table])


# --- tools, models, templates ----------------------------------------------------------------


def _by(figures: PeriodFigures, key: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for usage_key, row in figures.usage.items():
        target = out.setdefault(key(*usage_key), [0, 0, 0, 0, 0, 0, Decimal(0)])
        for i, value in enumerate(row):
            target[i] += value
    return out


def tools_section(figures: Figures) -> Section:
    def by_tool(_d: str, tool: str, preset: str, _m: str) -> str:
        return tool_label(tool, preset)

    cur, prev = _by(figures.current, by_tool), _by(figures.previous, by_tool)
    total = requests(figures.current)
    tools = sorted(cur, key=lambda k: -cur[k][_REQ])
    tool_rows = [
        [
            name,
            cur[name][_REQ],
            share(cur[name][_REQ], total),
            cur[name][_IN] + cur[name][_OUT],
            cur[name][_COST].quantize(Decimal("0.01")),
            change(cur[name][_REQ], prev.get(name, [0])[_REQ]),
        ]
        for name in tools
    ]
    tool_table = Table(
        "tools",
        "Requests by tool (Rewrite by preset)",
        [
            Column("Tool", "text"),
            Column("Requests"),
            Column("Share of requests", "share"),
            Column("Tokens"),
            Column("Cost", "usd"),
            Column("Change in requests", "change"),
        ],
        tool_rows,
    )
    tool_table.chart = charts.bar_chart(
        "tools",
        tool_table.title,
        tools,
        [r[1] for r in tool_rows],
        previous=[prev.get(name, [0])[_REQ] for name in tools],
    )

    def by_model(_d: str, _t: str, _p: str, model: str) -> str:
        return model or "No model recorded"

    models = _by(figures.current, by_model)
    spent = cost(figures.current)
    names = sorted(models, key=lambda k: -models[k][_COST])
    model_rows = [
        [
            name,
            models[name][_REQ],
            models[name][_GEN],
            models[name][_IN] + models[name][_OUT],
            models[name][_COST].quantize(Decimal("0.01")),
            share(models[name][_COST], spent),
        ]
        for name in names
    ]
    model_table = Table(
        "models",
        "Cost by model",
        [
            Column("Model", "text"),
            Column("Requests"),
            Column("Answers"),
            Column("Tokens"),
            Column("Cost", "usd"),
            Column("Share of cost", "share"),
        ],
        model_rows,
    )
    model_table.chart = charts.bar_chart(
        "models",
        "Cost by model (USD)",
        names,
        [r[4] for r in model_rows],
        fmt=lambda v: f"${v:,.2f}",
    )
    return Section(
        "tools", "By tool and model", tables=[tool_table, model_table, _templates(figures)]
    )


TOP_TEMPLATES = 10


def _templates(figures: Figures) -> Table:
    """Shared templates by name (their titles are published by Admins); personal ones
    only as a count."""
    from prompting.models import PromptTemplate

    def uses(period: PeriodFigures) -> tuple[dict[str, int], int]:
        shared: dict[str, int] = defaultdict(int)
        personal = 0
        for (metric, _tool, key, kind), n in period.counts.items():
            if metric == METRIC_TEMPLATE:
                if kind == "shared":
                    shared[key] += n
                else:
                    personal += n
        return shared, personal

    shared, personal = uses(figures.current)
    shared_before, personal_before = uses(figures.previous)
    top = sorted(shared, key=lambda k: (-shared[k], k))[:TOP_TEMPLATES]
    ids = [int(k) for k in top if k.isdecimal()]
    titles = (
        dict(PromptTemplate.objects.filter(pk__in=ids, shared=True).values_list("pk", "title"))
        if ids
        else {}
    )
    rows = [
        [
            titles.get(int(k), "A shared template since deleted or unshared")
            if k.isdecimal()
            else "A shared template",
            shared[k],
            change(shared[k], shared_before.get(k, 0)),
        ]
        for k in top
    ]
    rows.append(["Personal templates (all together)", personal, change(personal, personal_before)])
    table = Table(
        "templates",
        "Most used prompt templates",
        [Column("Template", "text"), Column("Uses"), Column("Change", "change")],
        rows,
        note="Shared templates are named; personal templates are only counted.",
    )
    table.chart = charts.bar_chart(
        "templates", table.title, [r[0] for r in rows], [r[1] for r in rows]
    )
    return table
