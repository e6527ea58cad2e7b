"""The summarize journey in headless Chromium against the live site: a generated
300-page PDF is uploaded, sized and priced before running, summarized in parts in
parallel with a visible progress bar, and the result lists the sections that fed it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from prompting.models import Run
from tests.prompting.summarize.pdf_factory import make_pdf, report_pages
from tests.support.live import sign_in
from tests.support.processes import OUTPUT, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

AXE = ROOT / "tests" / "e2e" / "node" / "node_modules" / "axe-core" / "axe.min.js"

# Records every text the progress line shows, so the test can tell that progress was
# visible part by part (page.evaluate runs outside the page's CSP).
RECORD_PROGRESS = """
() => {
  window.__progress = [];
  const line = document.getElementById("sum-progress-text");
  new MutationObserver(() => window.__progress.push(line.textContent))
    .observe(line, { childList: true, characterData: true, subtree: true });
}
"""


def screenshot(page: Any, name: str) -> None:
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "screenshots" / name), full_page=True)


def serious_axe_violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_300_page_pdf_is_summarized_in_parts_with_visible_progress(
    live_site: str, page: Any, alice: Any, tmp_path: Path
) -> None:
    """Size, parts and cost are shown before running; the progress bar counts parts as
    they finish; the summary arrives and names the pages each part covered."""
    from playwright.sync_api import expect

    pdf = tmp_path / "operations-300-pages.pdf"
    pdf.write_bytes(make_pdf(report_pages(300)))
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/summarize/")
    page.get_by_label("Upload a file").set_input_files(str(pdf))
    page.get_by_label("Length").select_option("short")
    page.get_by_role("button", name="Check the document").click()

    estimate = page.locator("#sum-estimate")
    expect(estimate).to_be_visible(timeout=60_000)
    expect(page.locator("#sum-tokens")).to_contain_text("tokens")
    expect(page.locator("#sum-parts")).to_contain_text("parts, summarized in parallel")
    expect(page.locator("#sum-cost")).to_contain_text("$")
    parts_shown = int(page.locator("#sum-parts").inner_text().split()[0])
    assert parts_shown >= 3
    screenshot(page, "summarize_estimate_300_pages.png")

    page.evaluate(RECORD_PROGRESS)
    page.get_by_role("button", name="Summarize", exact=True).click()
    expect(page.locator("#sum-progress")).to_be_visible()
    page.wait_for_function(
        "() => document.getElementById('sum-progressbar').value >= 1", timeout=60_000
    )
    screenshot(page, "summarize_progress_300_pages.png")
    expect(page.locator("#sum-progress-text")).to_have_text("Done.", timeout=120_000)
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()

    seen = page.evaluate("() => window.__progress")
    # Counts from the server's progress events (the page itself only ever writes "0 of").
    counted = [
        int(text.split()[0])
        for text in seen
        if text.endswith(f"of {parts_shown} parts summarized") and not text.startswith("0 ")
    ]
    assert counted and all(1 <= n <= parts_shown for n in counted), seen
    assert counted == sorted(counted), seen
    assert any(text.startswith("All ") and "combining" in text for text in seen), seen
    bar = page.locator("#sum-progressbar")
    assert bar.get_attribute("max") == str(parts_shown)
    assert page.evaluate("() => document.getElementById('sum-progressbar').value") == parts_shown

    expect(page.locator("#sum-output")).to_contain_text("You said")
    sources = page.locator("#sum-sources li")
    expect(sources).to_have_count(parts_shown)
    expect(sources.first).to_contain_text("Part 1: Pages 1\u2013")
    expect(sources.last).to_contain_text("300")

    parent = Run.objects.get(owner=alice, parent__isnull=True, tool="summarize")
    assert parent.status == Run.Status.DONE
    assert parent.parts.count() == parts_shown
    assert set(parent.parts.values_list("status", flat=True)) == {Run.Status.DONE}

    violations = serious_axe_violations(page)
    assert violations == [], json.dumps(violations, indent=1)[:3000]


def test_bad_file_shows_a_sentence_in_the_page(
    live_site: str, page: Any, alice: Any, tmp_path: Path
) -> None:
    """A PNG renamed to .pdf is refused with a sentence in the page's alert region."""
    from playwright.sync_api import expect

    fake = tmp_path / "scan.pdf"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/summarize/")
    page.get_by_label("Upload a file").set_input_files(str(fake))
    page.get_by_role("button", name="Check the document").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("its content is a PNG image", timeout=30_000)
    expect(page.locator("#sum-estimate")).to_be_hidden()


def test_pasted_text_is_summarized_in_one_call(live_site: str, page: Any, alice: Any) -> None:
    """A short paste is one part: estimate, summary with the name restored, sources."""
    from playwright.sync_api import expect

    sign_in(page, live_site, alice)
    page.goto(f"{live_site}/summarize/")
    page.get_by_label("Or paste text").fill(
        "# Incident\n\nMaria Gonzalez reported a late pickup at the airport.\n\n"
        "# Follow-up\n\nRefund issued; driver coached."
    )
    page.get_by_label("Style").select_option("actions")
    page.get_by_role("button", name="Check the document").click()
    expect(page.locator("#sum-parts")).to_have_text("1 part", timeout=30_000)
    page.get_by_role("button", name="Summarize", exact=True).click()
    expect(page.locator("#sum-progress-text")).to_have_text("Done.", timeout=60_000)
    expect(page.locator("#sum-output")).to_contain_text("Maria Gonzalez")
    expect(page.locator("#sum-sources li")).to_have_text(["Whole document: Incident, Follow-up"])


# ---- issue 16: summaries are kept ----------------------------------------------------

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SUMMARY_URL = re.compile(r"/summarize/[0-9a-f-]{36}/$")


def all_axe_violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def assert_fits_the_screen(page: Any) -> None:
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter((el) => el.getClientRects().length)
            .map((el) => [el.getBoundingClientRect().right, el.tagName + '.' + el.className])
            .filter(([right]) => right > window.innerWidth + 1)
            .slice(0, 5)"""
    )
    assert overflow == [], overflow


@pytest.mark.parametrize("size", list(SIZES))
def test_a_summary_is_kept_resumed_in_another_tab_and_deleted(
    live_site: str, browser: Any, alice: Any, size: str
) -> None:
    """The summary gets its own URL and a place in the history; the status says what
    runs; another tab and a reload pick the stream up; after the end a reload shows it
    rendered by the server; Delete removes it. axe-core finds nothing, at both sizes."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=SIZES[size], bypass_csp=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        sign_in(page, live_site, alice)
        page.goto(f"{live_site}/summarize/")
        expect(page.locator("#no-summaries")).to_have_text("No summaries yet.")
        page.get_by_label("Or paste text").fill(
            "# Depot report\n\nThe depot opened two new loading bays this month and "
            + "the night shift moved three trucks to the early route. " * 6
            + "\n\n[[emulator:token-delay=120]]"
        )
        page.get_by_role("button", name="Check the document").click()
        expect(page.locator("#sum-parts")).to_have_text("1 part", timeout=30_000)
        page.get_by_role("button", name="Summarize", exact=True).click()

        expect(page).to_have_url(SUMMARY_URL)
        url = page.url
        current = page.locator("#summary-list a[aria-current=page]")
        expect(current).to_contain_text("Pasted text: # Depot report")
        expect(page.locator("#sum-output")).to_contain_text("Depot report", timeout=30_000)
        expect(page.locator("#sum-status")).to_have_text("Writing the summary…")
        expect(page.locator("#sum-output")).to_have_attribute("aria-busy", "true")
        screenshot(page, f"summarize_streaming_{size}.png")

        # Another tab follows the same summary while it streams.
        other = context.new_page()
        other.goto(url)
        expect(other.locator("#summary-heading")).to_contain_text("Pasted text: # Depot report")
        expect(other.locator("#sum-output")).to_contain_text("Depot report", timeout=30_000)
        # And a reload in the first tab resumes it.
        page.reload()
        expect(page.locator("#sum-progress-text")).to_have_text("Done.", timeout=90_000)
        expect(page.locator("#sum-status")).to_have_text("The summary is ready.")
        expect(page.locator("#sum-output")).not_to_have_attribute("aria-busy", "true")
        expect(other.locator("#sum-progress-text")).to_have_text("Done.", timeout=30_000)
        expect(other.locator("#sum-output")).to_contain_text("loading bays")
        other.close()

        # After the end the page is the server's rendering, with its sources.
        page.reload()
        expect(page.locator("#sum-result")).to_be_visible()
        expect(page.locator("#sum-output p").first).to_contain_text("Depot report")
        expect(page.locator("#sum-output")).to_contain_text("loading bays")
        expect(page.locator("#sum-sources li")).to_have_text(["Whole document: Depot report"])
        expect(page.locator("#sum-status")).to_have_text("The summary is ready.")
        assert_fits_the_screen(page)
        screenshot(page, f"summarize_kept_{size}.png")
        violations = all_axe_violations(page)
        assert violations == [], json.dumps(violations, indent=1)[:3000]

        page.get_by_text("Delete", exact=True).click()
        page.get_by_role("button", name="Delete summary").click()
        expect(page).to_have_url(f"{live_site}/summarize/")
        expect(page.locator(".messages")).to_contain_text("Summary deleted.")
        expect(page.locator("#no-summaries")).to_be_visible()
        assert not Run.objects.filter(owner=alice).exists()
        gone = page.goto(url)
        assert gone is not None and gone.status == 404
    finally:
        context.close()
