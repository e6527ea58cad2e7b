"""The privacy invariant through the real path: no original value the policy replaced
appears in the audit log, in the logs, or in what was sent to Bedrock."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import serializers

from audit.models import AuditEvent
from prompting import services
from prompting.models import Run
from prompting.runs import services as run_services
from tests.support.site import post_form, session_cookie_for
from tests.support.waiting import wait_for_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Values the default policy pseudonymizes, redacts, or blocks.
PSEUDONYMIZED = {
    "PERSON": "Harriet Okonkwo-Lindqvist",
    "EMAIL_ADDRESS": "harriet.ol@examplemail.com",
    "PHONE_NUMBER": "(415) 555-0199",
}
REDACTED = {
    "US_SSN": "536-22-1234",
    "CREDIT_CARD": "4111 1111 1111 1111",
}
BLOCKED = {"PASSWORD": "Zq7!hunter2-x9"}


def test_planted_values_never_leave_the_conversation(
    live_site: str, alice: Any, bedrock_emulator: Any, celery_worker_process: Any
) -> None:
    """Plant values, send them through policy → worker → Bedrock, then search the audit
    table (every column), the worker's log and Bedrock's received requests for them."""
    conversation = services.conversation_create(owner=alice)
    status, preview = post_form(
        live_site,
        "/policy/preview",
        session_cookie_for(alice),
        {
            "text": f"Preview for {PSEUDONYMIZED['EMAIL_ADDRESS']}",
            "conversation_id": str(conversation.pk),
        },
    )
    assert status == 200 and preview["counts"].get("EMAIL_ADDRESS") == 1
    pseudonymized = run_services.run_create(
        user=alice,
        conversation=conversation,
        text=(
            f"Draft a reply to {PSEUDONYMIZED['PERSON']} ({PSEUDONYMIZED['EMAIL_ADDRESS']}, "
            f"phone {PSEUDONYMIZED['PHONE_NUMBER']}) about her lost umbrella."
        ),
    )
    # One turn after the other, so each turn's placeholders are predictable (turns judged
    # at once keep each other's too: tests/prompting/policy/test_mapping_concurrency.py).
    assert wait_for_status(pseudonymized, Run.FINAL_STATUSES).status == Run.Status.DONE
    redacted = run_services.run_create(
        user=alice,
        conversation=conversation,
        text=f"Her SSN is {REDACTED['US_SSN']} and card {REDACTED['CREDIT_CARD']}.",
    )
    blocked = run_services.run_create(
        user=alice,
        conversation=conversation,
        text=f"The staging password is {BLOCKED['PASSWORD']}",
    )
    assert wait_for_status(redacted, Run.FINAL_STATUSES).status == Run.Status.DONE
    assert wait_for_status(blocked, Run.FINAL_STATUSES).status == Run.Status.BLOCKED
    redacted.refresh_from_db()
    assert redacted.decision == "redact"

    # The owner sees the restored values; that proves they were really found and replaced.
    pseudonymized.refresh_from_db()
    assert pseudonymized.assistant_message is not None
    assert PSEUDONYMIZED["EMAIL_ADDRESS"] in pseudonymized.assistant_message.content
    assert pseudonymized.findings_summary.keys() >= {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"}

    audit_dump = serializers.serialize("json", AuditEvent.objects.all())
    runs = [str(pseudonymized.pk), str(redacted.pk), str(blocked.pk)]
    assert AuditEvent.objects.filter(target_id__in=runs).count() == 5
    submitted = AuditEvent.objects.get(target_id=str(redacted.pk), action="prompt.submitted")
    assert submitted.details["actions"] == {"CREDIT_CARD": "redact", "US_SSN": "redact"}
    sent_to_bedrock = " ".join(r.last_user_text for r in bedrock_emulator.received)
    worker_log = celery_worker_process.tail(5_000_000)
    for value in [*PSEUDONYMIZED.values(), *REDACTED.values(), *BLOCKED.values()]:
        assert value not in audit_dump, f"{value!r} is in the audit log"
        assert value not in sent_to_bedrock, f"{value!r} was sent to Bedrock"
        assert value not in worker_log, f"{value!r} is in the worker's log"
