"""The monthly adoption report: the page's sections for one month as a standalone HTML
document (styles inline, charts inline SVG) and as PDF through WeasyPrint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from insights.periods import Period, company_today
from insights.selectors import insights_for


@dataclass(frozen=True)
class RenderedReport:
    html: str
    pdf: bytes
    headline: dict[str, Any]


def report_render(period: Period) -> RenderedReport:
    from weasyprint import HTML  # imported here: it loads Pango, which only reports need

    data = insights_for(period, today=company_today())
    html = render_to_string(
        "insights/report.html",
        {
            "insights": data,
            "generated_at": timezone.now(),
            "previous_label": data.previous_label,
            "min_group_size": settings.INSIGHTS_MIN_GROUP_SIZE,
        },
    )
    pdf = HTML(string=html).write_pdf()
    headline = {
        "period": period.label,
        "numbers": [
            {"label": h.label, "value": h.text, "change": h.change_text} for h in data.headlines
        ],
    }
    return RenderedReport(html=html, pdf=bytes(pdf or b""), headline=headline)
