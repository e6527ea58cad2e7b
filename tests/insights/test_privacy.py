"""Privacy by construction: no names, emails or content in the page, the CSVs, the
report's HTML or its PDF; small departments folded so that no subtraction gives them
back."""

from __future__ import annotations

import io
from datetime import date
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from pypdf import PdfReader

from accounts.models import User
from insights.periods import month_period
from insights.privacy import OTHER, fold_departments
from insights.rollup import rollups_refresh
from insights.selectors import insights_for
from insights.services import adoption_report_create
from tests.insights.conftest import (
    at,
    feedback,
    override,
    record_blocked,
    record_finished,
    record_prompt,
    sign_in_event,
    template_used,
    utc,
)

pytestmark = pytest.mark.django_db
SECRET_CONTENT = "Zanzibar-Quokka-Orbital"


def _distinctive_people() -> list[Any]:
    users = []
    for i in range(6):
        users.append(
            User.objects.create(
                username=f"xylophonist{i}",
                email=f"quetzalcoatl.{i}@wombat-mail.example",
                display_name=f"Bartholomew Zyxwvut{i}",
                first_name="Bartholomew",
                last_name=f"Zyxwvut{i}",
                department="Claims",
                sso_subject=f"sub-x{i}",
            )
        )
    return users


def _plant(users: list[Any]) -> None:
    from prompting.models import PromptTemplate

    personal = PromptTemplate.objects.create(
        owner=users[0], title=f"Private {SECRET_CONTENT} title", body=SECRET_CONTENT, tool="chat"
    )
    with at(utc(2026, 10, 7, 10)):
        for user in users:
            sign_in_event(user)
            record_prompt(user, findings={"PERSON": 1}, actions={"PERSON": "pseudonymize"})
            record_finished(user)
        record_blocked(users[1])
        template_used(users[0], personal.pk, shared=False)
        feedback(users[2], "down")
        override(users[3], "LOCATION")
    # The audit log itself holds content; insights must never show it.
    from audit.models import AuditEvent

    assert AuditEvent.objects.filter(content__contains="PERSON").exists()


def _forbidden(users: list[Any]) -> list[str]:
    words = [SECRET_CONTENT, "Hi <PERSON_1>", "Hi &lt;PERSON_1&gt;", "wombat-mail", "Bartholomew"]
    for user in users:
        words += [user.username, user.email, user.last_name]
    return words


def test_no_names_emails_or_content_anywhere(client: Client, viewer: Any, tmp_path: Any) -> None:
    users = _distinctive_people()
    _plant(users)
    client.force_login(viewer)
    outputs: dict[str, str] = {}
    with mock.patch("insights.views.company_today", return_value=date(2026, 11, 15)):
        page = client.get("/insights/?period=month&month=2026-10")
        outputs["page"] = page.content.decode()
        data = insights_for(month_period(date(2026, 10, 1)), today=date(2026, 11, 15))
        for section in data.sections:
            for table in section.tables:
                url = f"/insights/export/{table.slug}.csv?period=month&month=2026-10"
                outputs[f"csv {table.slug}"] = client.get(url).content.decode()
    report = adoption_report_create(month=date(2026, 10, 1))
    outputs["report html"] = report.html
    outputs["report pdf"] = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(bytes(report.pdf))).pages
    )
    assert "Claims" in outputs["page"] and "Claims" in outputs["report pdf"]  # the data is there
    for name, text in outputs.items():
        for word in _forbidden(users):
            assert word not in text, f"{word!r} appears in the {name}"


def test_small_departments_fold_and_cannot_be_subtracted_back() -> None:
    users = {
        "Support": set(range(0, 40)),
        "Finance": set(range(40, 46)),
        "Legal": {100, 101},  # too small alone
        "": {200, 201, 202, 203, 204},
    }
    labels = fold_departments(users, threshold=5)
    # Legal alone in "Other" would be Legal's own figures (total - shown rows): the
    # next-smallest department joins it.
    assert labels["Legal"] == OTHER
    assert labels[""] == OTHER
    assert labels["Finance"] == "Finance" and labels["Support"] == "Support"
    assert len(users["Legal"] | users[""]) >= 5


def test_one_small_department_pulls_in_the_next_smallest() -> None:
    labels = fold_departments(
        {"Support": set(range(10)), "Finance": set(range(10, 16)), "Legal": {99}}, threshold=5
    )
    assert labels == {"Support": "Support", "Finance": OTHER, "Legal": OTHER}


def test_a_department_named_like_a_group_is_not_confused_with_it() -> None:
    labels = fold_departments(
        {"Other departments": set(range(6)), "No department": {1, 2}, "": set(range(10, 20))},
        threshold=5,
    )
    assert labels == {
        "No department": OTHER,
        "Other departments": OTHER,  # joined the small one, so the total cannot undo it
        "": "No department",
    }
    labels = fold_departments({"Other departments": set(range(6))}, threshold=5)
    assert labels == {"Other departments": "Other departments (a department of that name)"}


def test_folded_department_is_not_named_on_the_page(client: Client, viewer: Any) -> None:
    from tests.insights.conftest import people

    with at(utc(2026, 10, 7, 10)):
        for user in people("big", 6, "Support") + people("tiny", 2, "Secret Projects"):
            record_prompt(user)
    rollups_refresh()
    client.force_login(viewer)
    with mock.patch("insights.views.company_today", return_value=date(2026, 11, 15)):
        page = client.get("/insights/?period=month&month=2026-10").content.decode()
    assert "Secret Projects" not in page
    # Two people are too few for "Other departments" alone, so Support folds too.
    assert OTHER in page and "Support" not in page
