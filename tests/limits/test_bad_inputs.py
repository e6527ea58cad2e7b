"""The bad inputs of issue 13: limits of 0, negative or absurd size in the admin, a
budget change mid-run, a month boundary, limit keys deleted mid-window, and racing
admissions. Counters never go negative and are never exceeded."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from config.redis_client import redis_client
from limits import counters
from limits import definitions as d
from limits import services as limit_services
from limits.models import LimitOverride
from limits.services import LimitExceeded, admission, run_admit, run_ended
from prompting import services
from prompting.models import Run
from prompting.runs import services as run_services
from tests.limits.conftest import client_for, override, send_json

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/limits/limitoverride/add/"


def admin_post(admin_user: Any, **values: Any) -> Any:
    client = Client()
    client.force_login(admin_user)
    data = {"scope": "department", "department": "Support", "user": "", "note": "test"}
    data.update({name: "" for name in d.NAMES})
    data.update({k: str(v) for k, v in values.items()})
    return client.post(ADD_URL, data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("active_runs", -1),
        ("requests_per_minute", -20),
        ("usd_per_month", "-0.01"),
        ("tokens_per_day", 10**30),
        ("active_runs", 10**9),
        ("usd_per_month", "1e40"),
        ("requests_per_minute", "twenty"),
        ("usd_per_day", "NaN"),
    ],
)
def test_negative_absurd_or_garbled_limits_are_refused_in_the_admin(
    admin_user: Any, field: str, value: Any
) -> None:
    response = admin_post(admin_user, **{field: value})
    assert response.status_code == 200  # the form again, with the error; never a 500
    assert response.context["adminform"].form.errors[field]
    assert not LimitOverride.objects.exists()
    assert not AuditEvent.objects.filter(action="limits.changed").exists()


def test_zero_is_a_valid_limit_saved_and_audited(admin_user: Any, alice: Any) -> None:
    response = admin_post(admin_user, active_runs=0, usd_per_month="1000")
    assert response.status_code == 302
    saved = LimitOverride.objects.get()
    assert saved.active_runs == 0 and saved.department == "Support"
    event = AuditEvent.objects.get(action="limits.changed")
    assert event.details["after"]["active_runs"] == "0"
    assert Decimal(event.details["after"]["usd_per_month"]) == 1000
    assert event.details["before"] == {}
    assert send_json(client_for(alice)).status_code == 429  # alice is in Support


def test_a_change_and_a_removal_are_audited_with_before_and_after(admin_user: Any) -> None:
    admin_post(admin_user, requests_per_minute=5)
    saved = LimitOverride.objects.get()
    client = Client()
    client.force_login(admin_user)
    data = {"scope": "department", "department": "Support", "user": "", "note": "more"}
    data.update({name: "" for name in d.NAMES})
    data["requests_per_minute"] = "50"
    assert client.post(f"/admin/limits/limitoverride/{saved.pk}/change/", data).status_code == 302
    assert (
        client.post(f"/admin/limits/limitoverride/{saved.pk}/delete/", {"post": "yes"}).status_code
        == 302
    )
    events = list(AuditEvent.objects.filter(action="limits.changed").order_by("id"))
    assert [e.details["after"].get("requests_per_minute") for e in events] == ["5", "50", None]
    assert events[1].details["before"]["requests_per_minute"] == "5"
    assert events[2].details["before"]["requests_per_minute"] == "50"


def test_employees_cannot_open_the_limits_admin(alice: Any) -> None:
    assert client_for(alice).get(ADD_URL).status_code in (302, 403)


def queued_run(user: Any) -> Run:
    conversation = services.conversation_create(owner=user)
    return run_services.run_create(user=user, conversation=conversation, text="Hi")


def test_a_budget_change_mid_run_applies_to_the_next_request(
    alice: Any, roomy: None, django_capture_on_commit_callbacks: Any
) -> None:
    """A run admitted under the old budget finishes; its usage counts; the new, lower
    budget refuses the next request; the counter is exact, not negative."""
    limit = override(alice, tokens_per_month=10_000)
    running = queued_run(alice)
    run_admit(user=alice, run_id=running.pk, reserve_tokens=4_000)
    limit.tokens_per_month = 1_000
    limit.save()

    Run.objects.filter(pk=running.pk).update(input_tokens=1_500, output_tokens=500)
    run_ended(Run.objects.get(pk=running.pk))
    run_ended(Run.objects.get(pk=running.pk))  # a duplicate settlement changes nothing

    key = next(iter(redis_client().scan_iter(f"lim:u:{alice.pk}:tokens_per_month:*")))
    assert redis_client().get(key) == "2000"
    with pytest.raises(LimitExceeded) as refused:
        run_admit(user=alice, run_id=queued_run(alice).pk)
    assert "used 2,000 of your monthly limit of 1,000" in refused.value.user_message


def test_the_month_boundary_in_the_company_time_zone(
    alice: Any, roomy: None, settings: Any
) -> None:
    """Europe/Paris: 23:00 UTC on 31 January is already February there. (Dates in the
    future: Redis expires a key whose window ended before its own clock.)"""
    settings.LIMITS_TIME_ZONE = "Europe/Paris"
    override(alice, tokens_per_month=100)
    january = datetime(2027, 1, 31, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Paris
    run_admit(user=alice, run_id=queued_run(alice).pk, reserve_tokens=100, now=january)
    with pytest.raises(LimitExceeded) as refused:
        run_admit(user=alice, run_id=queued_run(alice).pk, reserve_tokens=1, now=january)
    assert refused.value.retry_after == 1
    assert "It resets on 1 February (Europe/Paris), in 1 second." in refused.value.user_message

    february = datetime(2027, 1, 31, 23, 0, 0, tzinfo=UTC)  # 00:00:00 on 1 February
    run_admit(user=alice, run_id=queued_run(alice).pk, reserve_tokens=100, now=february)
    assert redis_client().get(f"lim:u:{alice.pk}:tokens_per_month:2027-01") == "100"
    assert redis_client().get(f"lim:u:{alice.pk}:tokens_per_month:2027-02") == "100"


def test_deleted_limit_keys_are_rebuilt_from_the_database(alice: Any) -> None:
    """Someone flushes the limit keys mid-window: the counts come back from the runs,
    not from zero."""
    client = client_for(alice)
    for _ in range(3):
        assert send_json(client).status_code == 201
    Run.objects.filter(owner=alice).update(
        status=Run.Status.DONE, input_tokens=1_000_000, output_tokens=1_000_000
    )
    Run.objects.filter(owner=alice).update(finished_at=Run.objects.values("created_at")[:1])
    Run.objects.filter(owner=alice).update(status=Run.Status.RUNNING)
    for key in redis_client().scan_iter("lim:*"):
        redis_client().delete(key)

    refused = send_json(client)

    assert refused.status_code == 429
    # Both refuse (3 running, 6 M tokens today); the daily budget binds longer.
    assert refused.json()["error"].startswith(
        "You have used 6,000,000 of your daily limit of 2,000,000."
    )


def test_counters_never_go_negative_when_keys_vanish_mid_run(alice: Any, roomy: None) -> None:
    override(alice, tokens_per_day=1_000, active_runs=2)
    run = queued_run(alice)
    run_admit(user=alice, run_id=run.pk, reserve_tokens=900)
    key = next(iter(redis_client().scan_iter(f"lim:u:{alice.pk}:tokens_per_day:*")))
    redis_client().set(key, 100)  # the counter was rebuilt lower than the reservation
    run_ended(run)
    assert redis_client().get(key) == "0"
    for k in redis_client().scan_iter("lim:*"):
        redis_client().delete(k)
    run_ended(run)  # nothing to release: nothing is created, nothing negative
    assert list(redis_client().scan_iter("lim:u:*")) == []


def test_a_thousand_concurrent_admissions_take_exactly_the_limit() -> None:
    """1,000 threads, each its own connection, race for 3 slots and 20 requests: the
    script is atomic, so exactly 3 get in."""
    active = counters.Check("lim:test:active", counters.SET, 3, hold_ms=60_000)
    rate = counters.Check("lim:test:rpm", counters.LOG, 20)
    for check in (active, rate):
        counters.build(check.key, check.kind, expire_at_ms=counters_now() + 60_000)
    results: list[bool] = []
    barrier = threading.Barrier(50)

    def submit(start: int) -> None:
        barrier.wait()
        for i in range(start, start + 20):
            outcome = counters.admit([active, rate], member=f"run-{i}", now_ms=counters_now())
            results.append(outcome.ok)

    threads = [threading.Thread(target=submit, args=(n * 20,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 1000
    assert results.count(True) == 3
    assert redis_client().zcard("lim:test:active") == 4  # 3 and the sentinel
    assert redis_client().zcard("lim:test:rpm") == 4


def counters_now() -> int:
    import time

    return int(time.time() * 1000)


def test_usd_limits_keep_cents(alice: Any, roomy: None) -> None:
    override(alice, usd_per_day=Decimal("0.50"))
    run_admit(user=alice, run_id=queued_run(alice).pk, reserve_usd=Decimal("0.49"))
    with pytest.raises(LimitExceeded) as refused:
        run_admit(user=alice, run_id=queued_run(alice).pk, reserve_usd=Decimal("0.02"))
    assert "has $0.01 left" in refused.value.user_message


def test_a_slot_whose_run_vanished_is_given_back(alice: Any, monkeypatch: Any) -> None:
    """A conversation deleted while its answer ran takes the run with it, and no end is
    ever reported: the next refusal checks the slots against the database and frees it
    (once the slot is older than the in-flight grace: here, at once)."""
    monkeypatch.setattr(limit_services, "IN_FLIGHT_GRACE_MS", 0)
    client = client_for(alice)
    for _ in range(3):
        assert send_json(client).status_code == 201
    assert send_json(client).status_code == 429
    Run.objects.filter(owner=alice).earliest("created_at").conversation.delete()

    assert send_json(client).status_code == 201
    assert send_json(client).status_code == 429  # three really active again: refused


def test_a_slot_of_a_send_still_in_flight_is_not_taken_for_vanished(alice: Any) -> None:
    """Two tabs race for the last slot: the slot of a send whose run is not committed
    yet (not in the database) must not be healed away, or both would get in."""
    in_flight = [uuid.uuid4() for _ in range(3)]  # slots taken, rows not yet committed
    for run_id in in_flight:
        run_admit(user=alice, run_id=run_id)

    with pytest.raises(LimitExceeded):
        run_admit(user=alice, run_id=uuid.uuid4())
    key = f"lim:u:{alice.pk}:active_runs"
    assert {str(r) for r in in_flight} <= set(counters.members(key))


def test_a_send_that_fails_after_admission_gives_its_slot_back(alice: Any) -> None:
    """The slot is taken before the run is created; if creating it fails, nothing is
    left holding the slot (and the refusal is not mistaken for a limit)."""
    key = f"lim:u:{alice.pk}:active_runs"
    with pytest.raises(RuntimeError), admission(user=alice, tool="chat") as run_id:
        assert str(run_id) in counters.members(key)
        raise RuntimeError("the database refused the insert")
    assert str(run_id) not in counters.members(key)
    assert not AuditEvent.objects.filter(action="prompt.rejected").exists()
