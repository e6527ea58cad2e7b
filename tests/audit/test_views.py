"""Reviewer pages: hidden from everyone else, filtered, keyset-paged, totalled,
exported, and themselves audited."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit import actions
from audit.models import AuditEvent
from audit.selectors import PAGE_SIZE
from tests.audit.conftest import record_blocked, record_finished, record_many, record_prompt
from tests.conftest import make_user

LIST = reverse("audit:event_list")


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(response: Any) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [LIST, "/audit/events/1/", "/audit/export.csv", "/audit/export.jsonl"],
)
def test_everyone_but_reviewers_gets_404(alice: User, admin_user: User, url: str) -> None:
    """Employees and even Admins see a 404: the pages do not reveal they exist."""
    record_many(1)
    for user in (alice, admin_user):
        assert _client(user).get(url).status_code == 404
    assert not AuditEvent.objects.filter(action=actions.AUDIT_VIEWED, actor=alice).exists()


@pytest.mark.django_db
def test_list_filters_by_department_period_and_outcome(
    alice: User, bob: User, reviewer: User
) -> None:
    """'Last month, department Support, blocked' shows exactly those events, with totals."""
    now = timezone.now()
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(day=10)
    with mock.patch("django.utils.timezone.now", return_value=last_month):
        wanted = record_blocked(alice)  # Support
        record_blocked(bob)  # Finance
        record_prompt(alice)  # not blocked
    record_blocked(alice)  # this month
    response = _client(reviewer).get(
        LIST, {"period": "last_month", "department": "Support", "outcome": "blocked"}
    )
    assert response.status_code == 200
    assert [e.id for e in response.context["page"].events] == [wanted.id]
    totals = response.context["totals"]
    assert (totals.requests, totals.blocked) == (1, 1)
    body = response.content.decode()
    assert '<caption id="events-caption">' in body and 'for="id_department"' in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tool": "rewrite"}, "rewrite"),
        ({"decision": "block"}, "blocked"),
        ({"entity_type": "email_address"}, "email"),
        ({"model": "m-2"}, "m2"),
        ({"user": "bob@example.com"}, "bob"),
        ({"action": actions.GENERATION_FINISHED}, "finished"),
    ],
)
def test_each_filter_selects_its_events(
    alice: User, bob: User, reviewer: User, params: dict[str, str], expected: str
) -> None:
    """Tool, decision, entity type, model, user and action each narrow the list."""
    events = {
        "rewrite": record_prompt(alice, tool="rewrite"),
        "blocked": record_prompt(alice, decision="block"),
        "email": record_prompt(alice, findings={"EMAIL_ADDRESS": 2}),
        "m2": record_prompt(alice, model="m-2"),
        "bob": record_prompt(bob, findings={}),
        "finished": record_finished(alice, tool="summarize"),
    }
    ids = {e.id for e in events.values()}
    response = _client(reviewer).get(LIST, params)
    # Fixture users' own sign-up events may match too; judge only the planted ones.
    shown = [e.id for e in response.context["page"].events if e.id in ids]
    assert shown == [events[expected].id]


@pytest.mark.django_db
def test_totals_count_requests_blocked_tokens_and_cost(alice: User, reviewer: User) -> None:
    """Requests count each prompt once (blocked ones too); tokens and cost add up."""
    record_prompt(alice)
    record_prompt(alice, decision="block")
    record_blocked(alice)
    record_finished(alice, input_tokens=100, output_tokens=50, cost_usd="0.25")
    record_finished(alice, outcome="failed", input_tokens=10, output_tokens=0, cost_usd="0.01")
    totals = _client(reviewer).get(LIST).context["totals"]
    assert (totals.requests, totals.blocked) == (2, 1)
    assert (totals.input_tokens, totals.output_tokens, totals.tokens) == (110, 50, 160)
    assert str(totals.cost_usd) == "0.260000"


@pytest.mark.django_db
def test_keyset_pages_walk_every_event_once(reviewer: User) -> None:
    """Older/newer cursors cover all events without overlap or gaps."""
    created = {e.id for e in record_many(PAGE_SIZE * 2 + 5)}
    client = _client(reviewer)
    seen: list[int] = []
    page = client.get(LIST).context["page"]
    while True:
        seen.extend(e.id for e in page.events)
        if page.older_than is None:
            break
        page = client.get(LIST, {"before": page.older_than}).context["page"]
    assert created <= set(seen) and len(seen) == len(set(seen))
    back = client.get(LIST, {"after": seen[PAGE_SIZE * 2]}).context["page"]
    assert [e.id for e in back.events] == seen[PAGE_SIZE : PAGE_SIZE * 2]


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_events(
    reviewer: User, django_assert_num_queries: Any
) -> None:
    """The page costs the same number of queries for 3 events as for 120 (no N+1,
    no COUNT): session, user, roles, departments, page, totals, and the 2-statement
    append of its own audit.viewed event (lock the head, insert)."""
    client = _client(reviewer)
    record_many(3)
    client.get(LIST)  # warm the head row
    with django_assert_num_queries(8):
        client.get(LIST, {"department": "Support", "period": "last_30_days"})
    record_many(117)
    with django_assert_num_queries(8):
        response = client.get(LIST, {"department": "Support", "period": "last_30_days"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_views_are_recorded(reviewer: User) -> None:
    """Opening the list or an event is an audit.viewed event with what was looked at."""
    event = record_many(1)[0]
    client = _client(reviewer)
    client.get(LIST, {"department": "Support"})
    client.get(reverse("audit:event_detail", args=[event.id]))
    viewed = list(AuditEvent.objects.filter(action=actions.AUDIT_VIEWED, actor=reviewer))
    assert [v.details["page"] for v in viewed] == ["detail", "list"]
    assert viewed[1].details["filters"] == {"department": "Support"}
    assert viewed[0].target_id == str(event.id)


@pytest.mark.django_db
def test_detail_shows_chain_status(alice: User, reviewer: User) -> None:
    """An intact event says so, with its checkpoint state and content state."""
    event = record_prompt(alice)
    response = _client(reviewer).get(reverse("audit:event_detail", args=[event.id]))
    status = response.context["status"]
    assert status.ok and status.hash_ok and status.link_ok and status.content_state == "stored"
    assert "Chain status: intact" in response.content.decode()
    assert _client(reviewer).get(reverse("audit:event_detail", args=[10**9])).status_code == 404


@pytest.mark.django_db
def test_csv_export_streams_the_filtered_range(alice: User, bob: User, reviewer: User) -> None:
    """CSV of the filtered range, oldest first, formula cells neutralised, and the
    export itself recorded before streaming."""
    mine = [record_blocked(alice, reason="=HYPERLINK(1)"), record_blocked(alice)]
    record_blocked(bob)
    response = _client(reviewer).get(
        reverse("audit:event_export", args=["csv"]),
        {"department": "Support", "action": actions.PROMPT_BLOCKED},
    )
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_text(response))))
    assert [int(r["id"]) for r in rows] == [e.id for e in mine]
    assert rows[0]["hash"] == mine[0].hash
    assert json.loads(rows[0]["details"].lstrip("'"))["reason"] == "=HYPERLINK(1)"
    assert "content" not in rows[0]
    exported = AuditEvent.objects.get(action=actions.AUDIT_EXPORTED)
    assert exported.details == {
        "format": "csv",
        "filters": {"department": "Support", "action": actions.PROMPT_BLOCKED},
        "include_content": False,
    }
    assert exported.id > mine[-1].id


@pytest.mark.django_db
def test_jsonl_export_includes_content_only_with_a_reason(alice: User, reviewer: User) -> None:
    """JSON Lines, one event per line; sanitized content only from the POST form with a
    justification, which is recorded with the export."""
    event = record_prompt(alice)
    url = reverse("audit:event_export", args=["jsonl"])
    client = _client(reviewer)
    plain = [
        json.loads(x)
        for x in _text(client.get(url, {"action": actions.PROMPT_SUBMITTED})).splitlines()
    ]
    assert [row["id"] for row in plain] == [event.id] and "content" not in plain[0]
    assert plain[0]["details"]["findings"] == {"PERSON": 1}
    assert '"content":' not in _text(client.get(url, {"include_content": "1"}))
    reason = "Ticket COMP-42: checking what was sent"
    full = _text(
        client.post(url, {"filter_query": f"action={actions.PROMPT_SUBMITTED}", "reason": reason})
    )
    assert json.loads(full.splitlines()[0])["content"] == "Hi <PERSON_1>"
    exported = AuditEvent.objects.filter(action=actions.AUDIT_EXPORTED).order_by("-id")[0]
    assert exported.details["include_content"] is True
    assert exported.details["reason"] == reason


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   ", "because", "\x00\x01" * 8])
def test_export_with_content_without_a_reason_is_refused(
    alice: User, reviewer: User, reason: str
) -> None:
    """No reason, a blank or too short one: a sentence on the page (400), no content,
    and the refusal recorded."""
    record_prompt(alice)
    response = _client(reviewer).post(
        reverse("audit:event_export", args=["jsonl"]), {"filter_query": "", "reason": reason}
    )
    assert response.status_code == 400
    assert "The export with content needs a reason" in response.content.decode()
    refused = AuditEvent.objects.get(action=actions.AUDIT_CONTENT_VIEWED)
    assert refused.outcome == "refused" and refused.details["refused"]
    assert not AuditEvent.objects.filter(action=actions.AUDIT_EXPORTED).exists()


@pytest.mark.django_db
def test_detail_shows_content_only_after_a_recorded_reason(alice: User, reviewer: User) -> None:
    """Metadata without a reason; the content after one, recorded as audit.content_viewed
    with the reason; a short reason gets a sentence and is recorded as refused."""
    event = record_prompt(alice)
    url = reverse("audit:event_detail", args=[event.id])
    client = _client(reviewer)
    page = client.get(url)
    body = page.content.decode()
    assert "Hi &lt;PERSON_1&gt;" not in body and "Reason for viewing the content" in body
    assert event.hash in body and page["Cache-Control"].startswith("max-age=0")
    short = client.post(url, {"reason": "curious"})
    assert short.status_code == 400 and "at least 10 characters" in short.content.decode()
    assert "Hi &lt;PERSON_1&gt;" not in short.content.decode()
    shown = client.post(url, {"reason": "Case 7781, complaint about this reply"})
    assert shown.status_code == 200 and "Hi &lt;PERSON_1&gt;" in shown.content.decode()
    views = AuditEvent.objects.filter(action=actions.AUDIT_CONTENT_VIEWED).order_by("id")
    assert [(v.outcome, v.target_id) for v in views] == [
        ("refused", str(event.id)),
        ("ok", str(event.id)),
    ]
    assert views[1].details == {"reason": "Case 7781, complaint about this reply"}


@pytest.mark.django_db
def test_export_is_chunked(alice: User, reviewer: User, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are read and sent in chunks, never all at once."""
    monkeypatch.setattr("audit.export.CHUNK_SIZE", 4)
    make_user("carol")
    record_many(10, actor=alice)
    response = _client(reviewer).get(
        reverse("audit:event_export", args=["jsonl"]),
        {"action": actions.AUDIT_VIEWED, "user": "alice@example.com"},
    )
    chunks = list(response.streaming_content)  # type: ignore[attr-defined]
    assert len(chunks) == 3
    assert sum(chunk.count(b"\n") for chunk in chunks) == 10


@pytest.mark.django_db
def test_invalid_dates_show_an_error_not_results(reviewer: User) -> None:
    """An end date before the start date is explained and filters nothing."""
    response = _client(reviewer).get(LIST, {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert response.status_code == 200
    assert response.context["page"] is None
    assert "The end date is before the start date." in response.content.decode()


def test_every_action_the_code_records_is_a_known_constant() -> None:
    """The action filter offers audit/actions.py: an action spelled only in a
    service would be unfilterable. The apps name actions as `Action` members (mypy
    rejects a string: tests/audit/test_actions_typed.py); no action="..." literal is left."""

    root = Path(__file__).resolve().parents[2]
    literals, members = set(), set()
    for app in ("accounts", "prompting", "audit", "config"):
        for path in (root / app).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "audit_record" in text:
                literals |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', text))
                members |= set(re.findall(r"action=Action\.([A-Z_]+)", text))
    assert members, "the scan found nothing: the pattern is stale"
    assert not literals, literals
    assert members <= {a.name for a in actions.Action}, members - {a.name for a in actions.Action}


@pytest.mark.django_db
def test_reviewer_finds_users_by_name_or_part_of_an_email(reviewer: Any) -> None:
    """ "maria", "GONZ" and "@example" each find Maria Gonzalez (display name, part of the
    email); a deleted account is still found by the label its events keep."""
    from audit.filters import Filters
    from tests.audit.conftest import record_prompt
    from tests.conftest import make_user

    maria = make_user("mgonzalez", department="Support")
    maria.display_name, maria.email = "Maria Gonzalez", "maria.gonzalez@example.com"
    maria.save()
    other = make_user("bob", department="Finance")
    mine = record_prompt(maria).id
    record_prompt(other)
    for query in ("maria", "GONZ", "gonzalez@exa"):
        found = Filters(user=query, action=actions.PROMPT_SUBMITTED).apply(AuditEvent.objects.all())
        ids = list(found.values_list("id", flat=True))
        assert ids == [mine], query
    body = Client()
    body.force_login(reviewer)
    response = body.get("/audit/", {"user": "Maria", "action": actions.PROMPT_SUBMITTED})
    assert [e.id for e in response.context["page"].events] == [mine]


@pytest.mark.django_db
def test_previews_are_hidden_unless_asked_for_and_actions_are_readable(
    reviewer: Any, alice: Any
) -> None:
    """policy.previewed events are left out by default, shown with the box ticked or when
    the action filter asks for them; actions read as words with the code alongside;
    token counts have separators."""
    from audit.services import audit_record
    from tests.audit.conftest import record_finished

    preview = audit_record(
        actor=alice, action=actions.POLICY_PREVIEWED, outcome="pseudonymize", details={}
    )
    finished = record_finished(alice, input_tokens=12345, output_tokens=6789)
    client = Client()
    client.force_login(reviewer)

    def shown(**query: str) -> list[int]:
        response = client.get("/audit/", query)
        return [e.id for e in response.context["page"].events if e.id in (preview.id, finished.id)]

    assert shown() == [finished.id]
    assert shown(include_previews="on") == [finished.id, preview.id]
    assert shown(action=actions.POLICY_PREVIEWED) == [preview.id]
    body = client.get("/audit/").content.decode()
    assert '<span class="action-name" title="generation.finished">Answer finished</span>' in body
    assert "12,345 / 6,789" in body


@pytest.mark.django_db
def test_one_runs_events_are_linked(reviewer: Any, alice: Any) -> None:
    """Events about one run link to each other: the list offers "This run's events"
    (filter `run`), the detail page lists them in order; a bad run id is a sentence."""
    from audit.services import audit_record
    from prompting import services
    from prompting.models import Run
    from prompting.runs import services as run_services

    conversation = services.conversation_create(owner=alice)
    run = run_services.run_create(user=alice, conversation=conversation, text="hello")
    other = run_services.run_create(user=alice, conversation=conversation, text="again")
    submitted = audit_record(
        actor=alice, action=actions.PROMPT_SUBMITTED, target=run, details={"tool": "chat"}
    )
    audit_record(actor=alice, action=actions.PROMPT_SUBMITTED, target=other, details={})
    finished = audit_record(
        actor=alice, action=actions.GENERATION_FINISHED, target=run, details={"tool": "chat"}
    )
    assert Run.objects.filter(pk=run.pk).exists()
    client = Client()
    client.force_login(reviewer)
    listing = client.get("/audit/", {"run": str(run.pk)})
    assert [e.id for e in listing.context["page"].events] == [finished.id, submitted.id]
    assert f'href="?run={run.pk}"' in client.get("/audit/").content.decode()
    detail = client.get(f"/audit/events/{finished.pk}/")
    assert [e.id for e in detail.context["run_events"]] == [submitted.id, finished.id]
    bad = client.get("/audit/", {"run": "1; drop"})
    assert "A run id is letters, digits and dashes." in bad.content.decode()
    assert bad.context["page"] is None
