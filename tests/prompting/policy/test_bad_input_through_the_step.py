"""Issue 10's bad inputs through the product path (the chat view, the real policy step,
the real analyzer): none is a 500, none takes longer than the analysis timeout, none lets
a value into what is sent or stored (message, sanitized text, audit log)."""

# ruff: noqa: E501 - the table of cases reads better one row per line

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from prompting.models import PolicyVersion, Run
from prompting.runs import judging
from prompting.selectors import policy_version_in_force

pytestmark = pytest.mark.django_db

CARD = "4111 1111 1111 1111"
NAMES = ["Olga Petrenko", "Kenji Watanabe", "Amara Okafor", "Lars Lindqvist", "Priya Raman"]


def send(client: Client, text: str, conversation_id: int | None = None) -> tuple[int, Any]:
    data = {"text": text, **({"conversation_id": conversation_id} if conversation_id else {})}
    reply = client.post("/chat/send", data=json.dumps(data), content_type="application/json")
    return reply.status_code, reply.json()


def judged(client: Client, text: str, conversation_id: int | None = None) -> Run:
    status, body = send(client, text, conversation_id)
    assert status == 201, body
    started = time.monotonic()
    judging.run_judge(run_id=body["run"]["id"])
    assert time.monotonic() - started < judging.POLICY_TIMEOUT_S + 5
    return Run.objects.select_related("user_message").get(pk=body["run"]["id"])


def nowhere(run: Run, values: list[str], *, sent_only: list[str] = ()) -> None:  # type: ignore[assignment]
    """`values` are neither sent nor stored; `sent_only` (pseudonymized) are not sent."""
    assert run.user_message is not None
    audit = " ".join(
        str(e.details) + e.content for e in AuditEvent.objects.filter(target_id=str(run.pk))
    )
    for value in [*values, *sent_only]:
        assert value not in run.user_message.sanitized_content
        assert value not in audit
    for value in values:
        assert value not in run.user_message.content


@pytest.fixture
def client(alice: Any, dispatched: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


CASES = {
    "only placeholders": ("<PERSON_1> <CREDIT_CARD_1>\n<IBAN_CODE_2>", [], []),
    "odd placeholders": ("<person_01> <PERSON_0> < PERSON_1 > <X_4111111111111111> <PERSON_", ["4111111111111111"], []),
    "mixed scripts": (f"Клиент Olga Petrenko 卡号 {CARD} السائق", [CARD], ["Olga Petrenko"]),
    "invisible characters": ("Ol\u00adga Pet\u200dren\u00adko paid with 4111\u200b1111\u200b1111\u200b1111", ["4111\u200b1111\u200b1111\u200b1111"], ["Ol\u00adga Pet\u200dren\u00adko"]),
    "card split by dots": ("card 4111.1111.1111.1111 declined", ["4111.1111.1111.1111"], []),
    "card split by line breaks": ("card:\n4111 1111\n1111 1111\nwas charged twice", ["4111 1111\n1111 1111"], []),
    "a 5,000-line name list": ("\n".join(NAMES * 1000), [], NAMES),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_served_or_refused_with_a_sentence_and_leaks_nothing(
    client: Client, case: str
) -> None:
    text, redacted, pseudonymized = CASES[case]
    run = judged(client, text)
    assert run.status in (Run.Status.QUEUED, Run.Status.BLOCKED)
    assert run.decision in ("allow", "pseudonymize", "redact", "block")
    nowhere(run, redacted, sent_only=pseudonymized)


def test_200000_characters_of_names_fail_closed_or_leak_nothing(client: Client) -> None:
    text = ", ".join(NAMES)
    text = ((text + ", ") * (200_000 // (len(text) + 2)))[:199_999] + "."
    run = judged(client, text)
    if run.status == Run.Status.BLOCKED:
        assert run.error_message  # a sentence for the employee
    else:
        nowhere(run, [], sent_only=NAMES)


def test_one_character_over_the_limit_is_a_sentence_not_a_500(client: Client) -> None:
    status, body = send(client, "a" * 200_001)
    assert status == 400 and "the limit is 200,000" in body["error"]


def test_a_redacted_value_repeated_in_later_turns_is_never_kept(client: Client) -> None:
    first = judged(client, f"Refund card {CARD} please.")
    later = [judged(client, f"Again: card {CARD}.", first.conversation_id) for _ in range(2)]
    for run in [first, *later]:
        assert run.decision == "redact"
        nowhere(run, [CARD])
        assert run.user_message is not None
        assert "<CREDIT_CARD_" in run.user_message.content


def test_a_version_saved_with_redact_then_rolled_back(client: Client) -> None:
    """Cards blocked (the old way), then a version with `redact`, then rolled back: each
    run applies and records the version in force when it was judged; the blocked ones
    send and audit nothing, the redacted one keeps no value."""
    base = policy_version_in_force()
    card_rule = base.rules["CREDIT_CARD"]
    blocking = {**base.rules, "CREDIT_CARD": {**card_rule, "action": "block"}}
    redacting = {**base.rules, "CREDIT_CARD": {**card_rule, "action": "redact"}}
    runs = []
    for offset, rules in enumerate([blocking, redacting, blocking], start=1):
        PolicyVersion.objects.create(version=base.version + offset, rules=rules, note="edit")
        runs.append(judged(client, f"card {CARD}"))
    before, redacted, rolled_back = runs
    for run, offset in zip(runs, (1, 2, 3), strict=True):
        assert run.policy_version is not None
        assert run.policy_version.version == base.version + offset
    assert before.status == rolled_back.status == Run.Status.BLOCKED
    assert redacted.decision == "redact"
    nowhere(redacted, [CARD])
    nowhere(before, [], sent_only=[CARD])
    nowhere(rolled_back, [], sent_only=[CARD])
