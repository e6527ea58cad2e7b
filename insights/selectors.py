"""Reads for the insights page and the report: one period's sections, and the reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import QuerySet

from insights.figures import Figures, figures_for
from insights.models import AdoptionReport
from insights.periods import Period
from insights.rollup import rollup_state
from insights.sections import (
    Headline,
    adoption_section,
    departments_section,
    headlines,
    tools_section,
)
from insights.sections_policy import decision_section, policy_section, quality_section
from insights.tables import Section, Table


@dataclass
class Insights:
    period: Period
    figures: Figures
    headlines: list[Headline]
    sections: list[Section]
    through: datetime | None  # the time of the last audit event the figures include

    @property
    def previous_label(self) -> str:
        span = self.figures.previous.span
        full = self.period.previous()
        if span.end == full.end:
            return full.label
        return f"{span.start:%d %b %Y} to {date.fromordinal(span.end.toordinal() - 1):%d %b %Y}"

    def table(self, slug: str) -> Table | None:
        for section in self.sections:
            for table in section.tables:
                if table.slug == slug:
                    return table
        return None


def insights_for(period: Period, *, today: date) -> Insights:
    figures = figures_for(period, today=today)
    return Insights(
        period=period,
        figures=figures,
        headlines=headlines(figures),
        sections=[
            adoption_section(figures),
            departments_section(figures),
            tools_section(figures),
            policy_section(figures),
            quality_section(figures),
            decision_section(figures),
        ],
        through=rollup_state().last_event_at,
    )


def report_list() -> QuerySet[AdoptionReport]:
    return AdoptionReport.objects.defer("html", "pdf").order_by("-month")


def report_get(*, month: date) -> AdoptionReport | None:
    return AdoptionReport.objects.filter(month=month).first()
