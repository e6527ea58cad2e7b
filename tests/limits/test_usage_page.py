"""The usage page: own usage against own and department limits, by tool; admins see
everyone and export CSV (recorded). Narrow enough for a phone (390 px)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from prompting import services
from prompting.models import Run
from prompting.runs import services as run_services
from tests.conftest import make_user
from tests.limits.conftest import client_for, override

pytestmark = pytest.mark.django_db


def used(user: Any, tokens: int, cost: str, tool: str = "chat") -> Run:
    conversation = services.conversation_create(owner=user, tool=tool)
    run = run_services.run_create(user=user, conversation=conversation, text="Hi")
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.DONE,
        input_tokens=tokens - 10,
        output_tokens=10,
        cost_usd=Decimal(cost),
        finished_at=timezone.now(),
    )
    return run


def test_an_employee_sees_own_and_department_usage_against_limits(alice: Any, bob: Any) -> None:
    override(alice, tokens_per_month=10_000)
    used(alice, 2_500, "0.75")
    used(alice, 500, "0.25", tool="rewrite")
    colleague = make_user("carol", department="Support")
    used(colleague, 1_000, "1.00")
    used(bob, 99_999, "9.99")  # Finance: not on alice's page

    page = client_for(alice).get("/usage/")

    assert page.status_code == 200
    mine, department = page.context["scopes"]
    assert mine.total.requests == 2 and mine.total.tokens == 3_000
    assert mine.total.cost_usd == Decimal("1.00")
    assert [(r.label, r.requests) for r in mine.by_tool] == [
        ("Chat", 1),
        ("Rewrite", 1),
        ("Summarize", 0),
    ]
    gauge = next(g for g in mine.gauges if g.label == "Tokens per month")
    assert (gauge.used, gauge.limit, gauge.percent) == ("3,000", "10,000", 30)
    assert department.title == "Your department: Support"
    assert department.total.tokens == 4_000
    html = page.content.decode()
    assert "99,999" not in html and "99999" not in html
    assert "Every employee" not in html


def test_admins_see_everyone_and_export_csv(admin_user: Any, alice: Any, bob: Any) -> None:
    used(alice, 1_000, "0.50")
    used(bob, 3_000, "2.00")
    bob.username = "=cmd|calc"
    bob.save()
    client = client_for(admin_user)

    page = client.get("/usage/")
    assert [row.label for row in page.context["departments"]] == ["Finance", "Support"]

    export = client.get("/usage/users.csv")
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["user", "month", "requests", "tokens", "cost_usd"]
    assert rows[1][0] == "'=cmd|calc (Finance)" and rows[1][2:] == ["1", "3000", "2.000000"]
    assert rows[2][0] == "alice (Support)"
    event = AuditEvent.objects.get(action="usage.exported")
    assert event.details == {"kind": "users", "month": rows[1][1], "rows": 2}


def test_employees_cannot_export(alice: Any) -> None:
    assert client_for(alice).get("/usage/users.csv").status_code == 404
    assert client_for(alice).get("/usage/departments.csv").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_page_fits_a_390_pixel_phone(live_site: str, page: Any, admin_user: Any) -> None:
    """Real Chromium at 390 px: no table or gauge of the page sticks out sideways."""
    from tests.support.live import sign_in

    used(admin_user, 123_456_789, "12345.67")
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, live_site, admin_user)
    page.goto(f"{live_site}/usage/")
    assert page.locator("h1").inner_text().startswith("Usage in ")
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('.usage-scope, .usage-scope *')]"
        ".map(e => e.getBoundingClientRect().right))"
    )
    assert 0 < widest <= 390
