"""The insights page and its CSV downloads: who may see them (404 for everyone else, as
the audit pages), every view and download audited, bad input answered with a sentence,
and a constant number of queries."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit import actions
from audit.models import AuditEvent
from insights.rollup import rollups_refresh
from tests.insights.conftest import at, people, record_finished, record_prompt, sign_in_event, utc

pytestmark = pytest.mark.django_db
OCTOBER = "/insights/?period=month&month=2026-10"
TODAY = date(2026, 11, 15)


@pytest.fixture(autouse=True)
def _today() -> Any:
    """The company's today is fixed, so "the future" is stable."""
    with mock.patch("insights.views.company_today", return_value=TODAY):
        yield


def _october(department: str = "Support", count: int = 6) -> list[Any]:
    users = people(department[:3].lower(), count, department)
    with at(utc(2026, 10, 5, 10)):
        for user in users:
            sign_in_event(user)
            record_prompt(user)
            record_finished(user)
    return users


def test_employees_get_404_and_anonymous_visitors_sign_in(client: Client, alice: Any) -> None:
    assert client.get("/insights/").status_code == 302  # to the sign-in page
    client.force_login(alice)
    for url in ("/insights/", "/insights/export/departments.csv", "/insights/reports/2026-10.pdf"):
        assert client.get(url).status_code == 404
    assert b"/insights/" not in client.get("/chat/").content  # no link either


@pytest.mark.parametrize("who", ["viewer", "admin_user", "reviewer"])
def test_viewers_admins_and_reviewers_see_insights(
    client: Client, who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.get(OCTOBER)
    assert response.status_code == 200
    assert b'href="/insights/" aria-current="page"' in response.content


def test_every_view_and_download_is_audited(client: Client, viewer: Any) -> None:
    _october()
    client.force_login(viewer)
    client.get(OCTOBER)
    client.get("/insights/export/departments.csv?period=month&month=2026-10")
    events = list(
        AuditEvent.objects.filter(
            actor=viewer, action__in=(actions.INSIGHTS_VIEWED, actions.INSIGHTS_EXPORTED)
        ).order_by("id")
    )
    assert [e.action for e in events] == [actions.INSIGHTS_VIEWED, actions.INSIGHTS_EXPORTED]
    assert events[0].details["period"] == {"period": "month", "month": "2026-10"}
    assert events[1].details["table"] == "departments"


def test_csv_holds_the_table_as_numbers(client: Client, viewer: Any) -> None:
    _october()
    client.force_login(viewer)
    response = client.get("/insights/export/departments.csv?period=month&month=2026-10")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows == [
        {
            "Department": "Support",
            "Active users": "6",
            "Share of employees": "1.0",
            "Requests": "6",
            "Tokens": "900",
            "Cost": "0.00",
            "Cost per active user": "0.00",
            "Change in active users": "6",
        }
    ]


def test_every_table_on_the_page_has_a_csv(client: Client, viewer: Any) -> None:
    _october()
    client.force_login(viewer)
    page = client.get(OCTOBER).content.decode()
    slugs = [
        "adoption", "active-series", "retention", "departments", "tools", "models", "templates",
        "entities", "overrides", "ratings", "failures", "latency", "budgets", "growth",
        "attention",
    ]  # fmt: skip
    for slug in slugs:
        assert f"/insights/export/{slug}.csv?period=month&amp;month=2026-10" in page
        assert (
            client.get(f"/insights/export/{slug}.csv?period=month&month=2026-10").status_code == 200
        )
    assert client.get("/insights/export/nothing.csv").status_code == 404


@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        ("period=month&month=2026-12", "has not started yet"),
        ("period=custom&from=2010-01-01&to=2026-01-01", "at most 10 years"),
        ("period=month&month=%00%ff", "YYYY-MM"),
    ],
)
def test_bad_periods_get_a_sentence_and_an_event(
    client: Client, viewer: Any, query: str, sentence: str
) -> None:
    client.force_login(viewer)
    response = client.get(f"/insights/?{query}")
    assert response.status_code == 400
    assert sentence in response.content.decode()
    event = AuditEvent.objects.filter(action=actions.INSIGHTS_VIEWED).latest("id")
    assert event.outcome == "rejected" and sentence in event.details["error"]
    csv_response = client.get(f"/insights/export/departments.csv?{query}")
    assert csv_response.status_code == 400 and sentence in csv_response.content.decode()


def test_a_month_with_no_events(client: Client, viewer: Any) -> None:
    client.force_login(viewer)
    response = client.get("/insights/?period=month&month=2026-03")
    assert response.status_code == 200
    assert "Nothing in this period." in response.content.decode()


def test_ten_years_render(client: Client, viewer: Any) -> None:
    _october()
    client.force_login(viewer)
    response = client.get("/insights/?period=custom&from=2016-11-16&to=2026-11-15")
    assert response.status_code == 200
    assert "Monthly active users" in response.content.decode()


def test_department_names_with_markup_or_500_characters(client: Client, viewer: Any) -> None:
    """Escaped everywhere (page, SVG, CSV with a spreadsheet formula defused), cut to
    the 200 characters the audit log keeps, and the page still renders."""
    _october(department='<script>alert("x")</script>', count=5)
    _october(department="=HYPERLINK(1)" + "D" * 487, count=5)
    client.force_login(viewer)
    page = client.get(OCTOBER).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert ("D" * 187) in page and ("D" * 188) not in page
    body = client.get("/insights/export/departments.csv?period=month&month=2026-10").content
    names = [row["Department"] for row in csv.DictReader(io.StringIO(body.decode()))]
    assert "'=HYPERLINK(1)" + "D" * 187 in names
    assert '<script>alert("x")</script>' in names


def test_users_without_a_department(client: Client, viewer: Any) -> None:
    _october(department="", count=5)
    client.force_login(viewer)
    assert "No department" in client.get(OCTOBER).content.decode()


def test_the_page_costs_a_constant_number_of_queries(client: Client, viewer: Any) -> None:
    """Six times the people cost no more queries (the exact count differs between
    SQLite and PostgreSQL by a savepoint, so the page is compared with itself)."""
    _october()
    rollups_refresh()
    client.force_login(viewer)
    client.get(OCTOBER)  # the previous view's own audit event is what the next one folds in
    with CaptureQueriesContext(connection) as few_people:
        client.get(OCTOBER)
    _october(department="Finance", count=30)
    rollups_refresh()
    client.get(OCTOBER)
    with CaptureQueriesContext(connection) as many_people:
        client.get(OCTOBER)
    assert len(few_people.captured_queries) > 0
    assert len(many_people.captured_queries) == len(few_people.captured_queries)
