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

# Values the default policy pseudonymizes (first block) or blocks (second block).
PSEUDONYMIZED = {
    "PERSON": "Harriet Okonkwo-Lindqvist",
    "EMAIL_ADDRESS": "harriet.ol@examplemail.com",
    "PHONE_NUMBER": "(415) 555-0199",
}
BLOCKED = {
    "US_SSN": "536-22-1234",
    "CREDIT_CARD": "4111 1111 1111 1111",
}


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
    blocked = run_services.run_create(
        user=alice,
        conversation=conversation,
        text=f"Her SSN is {BLOCKED['US_SSN']} and card {BLOCKED['CREDIT_CARD']}.",
    )
    assert wait_for_status(pseudonymized, Run.FINAL_STATUSES).status == Run.Status.DONE
    assert wait_for_status(blocked, Run.FINAL_STATUSES).status == Run.Status.BLOCKED

    # The owner sees the restored values; that proves they were really found and replaced.
    pseudonymized.refresh_from_db()
    assert pseudonymized.assistant_message is not None
    assert PSEUDONYMIZED["EMAIL_ADDRESS"] in pseudonymized.assistant_message.content
    assert pseudonymized.findings_summary.keys() >= {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"}

    audit_dump = serializers.serialize("json", AuditEvent.objects.all())
    assert (
        AuditEvent.objects.filter(target_id__in=[str(pseudonymized.pk), str(blocked.pk)]).count()
        == 3
    )
    sent_to_bedrock = " ".join(r.last_user_text for r in bedrock_emulator.received)
    worker_log = celery_worker_process.tail(5_000_000)
    for value in [*PSEUDONYMIZED.values(), *BLOCKED.values()]:
        assert value not in audit_dump, f"{value!r} is in the audit log"
        assert value not in sent_to_bedrock, f"{value!r} was sent to Bedrock"
        assert value not in worker_log, f"{value!r} is in the worker's log"
