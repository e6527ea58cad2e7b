"""An insights viewer opens /insights/ in headless Chromium, against the site under
uvicorn: the charts are there without JavaScript, the page fits a 390 px phone, axe-core
finds no serious violations, a CSV downloads; screenshots at 1366x900 and 390x844."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import make_user
from tests.e2e.test_accessibility import AXE, serious_violations
from tests.insights.conftest import (
    at,
    feedback,
    override,
    people,
    record_blocked,
    record_finished,
    record_prompt,
    sign_in_event,
)
from tests.support.live import sign_in
from tests.support.processes import OUTPUT

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _plant_this_month() -> None:
    start = timezone.now().replace(day=1, hour=8, minute=0, second=0, microsecond=0)
    groups = [people("sup", 8, "Customer Support"), people("fin", 6, "Finance"),
              people("leg", 2, "Legal")]  # fmt: skip
    with at(start - timedelta(days=20)):
        for user in groups[0][:4]:
            sign_in_event(user)
            record_prompt(user)
            record_finished(user, cost_usd="0.40")
    with at(start):
        for users in groups:
            for user in users:
                sign_in_event(user)
                record_prompt(user, tool="rewrite", preset="formal", findings={"PERSON": 1},
                              actions={"PERSON": "pseudonymize"})  # fmt: skip
                record_finished(user, tool="rewrite", preset="formal", cost_usd="0.75")
        record_blocked(groups[1][0])
        feedback(groups[0][0], "up")
        feedback(groups[1][1], "down")
        override(groups[0][2], "LOCATION")


def test_viewer_reads_insights_on_desktop_and_phone(live_site: str, browser: Any) -> None:
    from accounts.roles import INSIGHTS_VIEWER

    viewer = make_user("vera", INSIGHTS_VIEWER, department="Strategy")
    if not AXE.exists():
        pytest.skip("axe-core is not installed (cd tests/e2e/node && npm ci)")
    _plant_this_month()
    shots = OUTPUT / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for name, size in (("desktop", (1366, 900)), ("phone", (390, 844))):
        # No JavaScript at all: the page is server-rendered SVG and tables. bypass_csp
        # lets axe in, as in test_accessibility.py.
        context = browser.new_context(
            viewport={"width": size[0], "height": size[1]},
            java_script_enabled=name == "desktop",
            bypass_csp=True,
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        sign_in(page, live_site, viewer)
        page.goto(f"{live_site}/insights/")
        assert page.get_by_role("heading", level=1).inner_text().startswith("Insights:")
        chart = page.get_by_role("img", name="Active users by department")
        assert chart.count() == 1
        table = page.get_by_role("region", name="Table: Usage by department")
        assert "Customer Support" in table.inner_text()
        assert "Legal" not in page.content()  # two people: folded
        page.screenshot(path=str(shots / f"insights_{name}.png"), full_page=True)
        if name == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= size[0], f"the page is {width}px wide on a {size[0]}px screen"
        else:
            assert serious_violations(page) == []
            with page.expect_download() as info:
                page.get_by_role("link", name="Download “Usage by department” as CSV").click()
            text = Path(info.value.path()).read_text(encoding="utf-8")
            assert text.splitlines()[0].startswith("Department,Active users")
            assert "Customer Support" in text
        context.close()
