"""A redacted value is stored nowhere, through the real parts: the web process (uvicorn),
the Celery worker (policy, generation, summary steps) and the Bedrock emulator over HTTP.

After a chat (two turns, the value repeated), a rewrite and a summary of a pasted
document, the card number and SSN are in no column of any table, no log line and no
audit row; the model got `<CREDIT_CARD_1>`, and the employee's answer shows it. A
document (pasted, or uploaded and extracted) holds neither even before it is summarized."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from audit.models import AuditEvent
from prompting.crypto import decrypt_mapping
from prompting.models import Conversation, Document, Run
from prompting.selectors import model_default
from prompting.summarize.options import DEFAULT_LENGTH, DEFAULT_STYLE
from tests.prompting.summarize.test_summarize_live import upload
from tests.support.processes import OUTPUT
from tests.support.site import post_form, session_cookie_for
from tests.support.waiting import wait_for, wait_for_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def luhn_card(rng: random.Random) -> str:
    """A fresh Visa-shaped number that passes Luhn (so this run's value is in no old log)."""
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


def every_stored_value() -> str:
    """Every column of every table, as text (binary columns too)."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        chunks.append(str(value))
    return "\n".join(chunks)


def sent(live_site: str, cookie: str, path: str, data: dict[str, str]) -> Run:
    status, body = post_form(live_site, path, cookie, data)
    assert status == 201, body
    return Run.objects.get(pk=body["run"]["id"])


def test_a_redacted_value_is_in_no_table_log_or_audit_row(
    live_site: str, alice: Any, bedrock_emulator: Any, celery_worker_process: Any
) -> None:
    rng = random.Random()
    card = luhn_card(rng)
    ssn = f"{rng.randrange(101, 599)}-{rng.randrange(10, 99)}-{rng.randrange(1000, 9999)}"
    values = [card, card.replace(" ", ""), ssn]
    cookie = session_cookie_for(alice)
    received_before = len(bedrock_emulator.received)

    # Chat: the card opens the message, so the conversation's title starts with it.
    first = sent(
        live_site,
        cookie,
        "/chat/send",
        {"text": f"Card {card} was charged twice for Olga Petrenko, SSN {ssn}. Draft a reply."},
    )
    assert wait_for_status(first, Run.FINAL_STATUSES).status == Run.Status.DONE
    second = sent(
        live_site,
        cookie,
        "/chat/send",
        {
            "text": f"Also mention card {card} once more.",
            "conversation_id": str(first.conversation_id),
        },
    )
    assert wait_for_status(second, Run.FINAL_STATUSES).status == Run.Status.DONE

    rewrite = sent(
        live_site,
        cookie,
        "/rewrite/send",
        {"text": f"pls refund card {card} asap, cust SSN {ssn}", "preset": "formal"},
    )
    assert wait_for_status(rewrite, Run.FINAL_STATUSES).status == Run.Status.DONE

    status, document = post_form(
        live_site,
        "/summarize/documents",
        cookie,
        {"text": f"{card} dispute\n\n# Dispute\n\nThe rider's card {card} and SSN {ssn}.\n"},
    )
    assert status == 201, document
    # A document is stored without the values from the moment it arrives, pasted or
    # uploaded (extracted by the worker), before any summary is judged.
    status, uploaded = upload(
        live_site, cookie, "dispute.txt", f"Refund card {card} now.\nSSN {ssn}\n".encode()
    )
    assert status == 201, uploaded
    assert wait_for(lambda: Document.objects.get(pk=uploaded["id"]).status == Document.Status.READY)
    assert "Refund card <CREDIT_CARD> now." in Document.objects.get(pk=uploaded["id"]).text
    arrived = every_stored_value()
    for value in values:
        assert value not in arrived, f"{value!r} is stored before any summary"
    status, summary = post_form(
        live_site,
        document["start_url"],
        cookie,
        {"model": model_default().id, "length": DEFAULT_LENGTH, "style": DEFAULT_STYLE},
    )
    assert status == 201, summary
    summary_run = Run.objects.get(pk=summary["id"])
    assert wait_for_status(summary_run, Run.FINAL_STATUSES).status == Run.Status.DONE

    # The work was done with placeholders: the model saw them, the answers show them.
    received = list(bedrock_emulator.received)[received_before:]
    to_bedrock = " ".join(r.last_user_text for r in received)
    assert "<CREDIT_CARD_1>" in to_bedrock and "<US_SSN_1>" in to_bedrock
    for run in (first, second, rewrite, summary_run):
        run.refresh_from_db()
        assert run.decision == "redact", run.decision
        assert run.assistant_message is not None
        assert "<CREDIT_CARD_" in run.assistant_message.content
    # The employee's own message is kept with the placeholder; the name is kept (restored).
    assert first.user_message is not None
    assert "<CREDIT_CARD_1>" in first.user_message.content
    assert "Olga Petrenko" in first.user_message.content
    assert Conversation.objects.get(pk=first.conversation_id).title.startswith(
        "Card <CREDIT_CARD_1>"
    )
    doc = Document.objects.get(pk=document["id"])
    assert doc.text.startswith("<CREDIT_CARD_1> dispute")
    assert [doc.text[s["start"] : s["start"] + 9] for s in doc.sections][-1] == "# Dispute"

    stored = every_stored_value()
    audit = " ".join(str(e.details) + e.content for e in AuditEvent.objects.all())
    maps = " ".join(
        decrypt_mapping(c.pseudonym_map_encrypted).to_json() for c in Conversation.objects.all()
    )
    logs = " ".join(p.read_text(errors="replace") for p in Path(OUTPUT / "logs").glob("*.log"))
    assert AuditEvent.objects.filter(action="prompt.submitted").count() >= 4
    for value in values:
        assert value not in to_bedrock, f"{value!r} was sent to Bedrock"
        assert value not in stored, f"{value!r} is stored in the database"
        assert value not in audit, f"{value!r} is in the audit log"
        assert value not in maps, f"{value!r} is in a pseudonym map"
        assert value not in logs, f"{value!r} is in a log"
