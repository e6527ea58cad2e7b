"""A summary reserves its estimate when it starts and settles with the real usage when
it ends; a cancelled or failed summary gives the reservation back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from audit.models import AuditEvent
from config.redis_client import redis_client
from limits import definitions as d
from limits.services import LimitExceeded
from limits.windows import MONTH, window_at
from prompting.llm.events import Usage
from prompting.models import Conversation, Run
from prompting.runs import dispatch
from prompting.runs.lifecycle import run_finish
from prompting.selectors import model_default
from prompting.summarize import documents, pipeline
from prompting.summarize import selectors as summarize_selectors
from tests.limits.conftest import override

pytestmark = pytest.mark.django_db


def month_key(user: Any, name: str) -> str:
    label = window_at(MONTH, timezone.now(), django_settings.LIMITS_TIME_ZONE).label
    return f"lim:u:{user.pk}:{name}:{label}"


def counter(user: Any, name: str) -> int:
    value: Any = redis_client().get(month_key(user, name))
    return int(value or 0)


def long_text(sections: int = 6) -> str:
    body = " ".join(["The quarterly rider report shows steady growth."] * 57)
    return "\n\n".join(f"# Section {i}\n\n{body}" for i in range(1, sections + 1))


def start(user: Any, text: str) -> tuple[Run, summarize_selectors.SummaryEstimate]:
    document = documents.document_create_from_text(user=user, text=text)
    model = model_default().id
    estimate = summarize_selectors.summary_estimate(
        document=document, model_id=model, length="short"
    )
    parent = pipeline.summary_start(
        user=user, document_id=document.pk, model_id=model, length="short", style="bullets"
    )
    return parent, estimate


@pytest.fixture
def small_parts(settings: Any) -> None:
    settings.SUMMARY_PART_MAX_TOKENS = 1_000


@pytest.fixture
def no_queue(dispatched: Any) -> Any:
    dispatched.inline.add(dispatch.SUMMARY_PART_FINISHED)
    return dispatched


def end(run: Run, status: str, capture: Any, usage: Usage | None = None, **kwargs: Any) -> None:
    Run.objects.filter(pk=run.pk).update(status=Run.Status.STREAMING)
    with capture(execute=True):
        assert run_finish(
            run_id=run.pk, status=status, sanitized_text="Done.", usage=usage, **kwargs
        )


def test_the_estimate_is_reserved_when_the_summary_starts(alice: Any, roomy: None) -> None:
    override(alice, usd_per_month=Decimal("100"), tokens_per_month=10_000_000)
    parent, estimate = start(alice, "# Note\n\nThe driver arrived late twice this week.")

    assert counter(alice, d.USD_PER_MONTH) == d.to_micro_usd(estimate.cost_usd) > 0
    assert counter(alice, d.TOKENS_PER_MONTH) == estimate.reserve_tokens > 0
    assert redis_client().hgetall(f"lim:resv:{parent.pk}")


def test_a_summary_over_the_budget_left_is_refused_before_anything_exists(
    alice: Any, roomy: None, small_parts: None
) -> None:
    document = documents.document_create_from_text(user=alice, text=long_text(6))
    override(alice, usd_per_month=Decimal("0.01"))
    conversations = Conversation.objects.count()

    with pytest.raises(LimitExceeded) as refused:
        pipeline.summary_start(
            user=alice,
            document_id=document.pk,
            model_id=model_default().id,
            length="short",
            style="bullets",
        )

    assert refused.value.user_message.startswith("This summary could use up to $")
    assert "your monthly limit of $0.01 has $0.01 left. It resets on 1 " in (
        refused.value.user_message
    )
    assert Run.objects.count() == 0
    assert Conversation.objects.count() == conversations
    event = AuditEvent.objects.get(action="prompt.rejected")
    assert event.details["tool"] == "summarize"
    assert event.details["reason"] == "limit_usd_per_month"
    assert counter(alice, d.USD_PER_MONTH) == 0


def test_a_finished_summary_settles_with_the_real_usage(
    alice: Any, roomy: None, no_queue: Any, django_capture_on_commit_callbacks: Any
) -> None:
    override(alice, tokens_per_month=10_000_000, active_runs=1)
    parent, estimate = start(alice, "# Note\n\nThe driver arrived late twice this week.")
    assert counter(alice, d.TOKENS_PER_MONTH) == estimate.reserve_tokens

    end(parent, Run.Status.DONE, django_capture_on_commit_callbacks, Usage(120, 30))

    assert counter(alice, d.TOKENS_PER_MONTH) == 150
    assert not redis_client().exists(f"lim:resv:{parent.pk}")
    assert redis_client().zcard(f"lim:u:{alice.pk}:active_runs") == 1  # the sentinel only


def test_a_failed_part_releases_the_reservation_keeping_what_was_used(
    alice: Any,
    roomy: None,
    small_parts: None,
    no_queue: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    override(alice, tokens_per_month=10_000_000)
    parent, estimate = start(alice, long_text(6))
    pipeline.summary_judge_parts(parent_id=parent.pk)
    parts = list(parent.parts.order_by("part_index"))
    assert len(parts) >= 3
    end(parts[0], Run.Status.DONE, django_capture_on_commit_callbacks, Usage(900, 100))
    assert counter(alice, d.TOKENS_PER_MONTH) == estimate.reserve_tokens + 1000

    end(
        parts[1],
        Run.Status.FAILED,
        django_capture_on_commit_callbacks,
        Usage(10, 0),
        error_code="throttled",
        error_message="The model is busy.",
    )

    parent.refresh_from_db()
    assert parent.status == Run.Status.FAILED
    assert counter(alice, d.TOKENS_PER_MONTH) == 1010
    assert not redis_client().exists(f"lim:resv:{parent.pk}")


def test_a_cancelled_summary_gives_everything_back(
    alice: Any, roomy: None, no_queue: Any, django_capture_on_commit_callbacks: Any
) -> None:
    override(alice, usd_per_month=Decimal("50"), active_runs=1)
    parent, _estimate = start(alice, "# Note\n\nThe driver arrived late twice this week.")

    end(parent, Run.Status.CANCELLED, django_capture_on_commit_callbacks)

    assert counter(alice, d.USD_PER_MONTH) == 0
    # The slot is free: another summary may start.
    start(alice, "# Other\n\nAnother short note about a rider.")
