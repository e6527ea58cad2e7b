"""Placeholder-shaped text the employee types is neutralised before judging and shown
back as typed, through the real parts (uvicorn, the Celery worker, the emulator, SSE):
the model gets `<TYPED_PLACEHOLDER_1>`, never something it could mistake for a real
person; the answer shows `<PERSON_1>` exactly as typed, as text, not as a swallowed tag."""

from __future__ import annotations

from typing import Any

import pytest

from prompting.models import Run
from tests.support.site import post_form, session_cookie_for
from tests.support.sse import open_stream, read_events
from tests.support.waiting import wait_for_status

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_typed_placeholder_is_neutralised_and_shown_back_as_typed(
    live_site: str, alice: Any, bedrock_emulator: Any
) -> None:
    cookie = session_cookie_for(alice)
    text = "Template says: ask <PERSON_1> to call Olga Petrenko about <person_2>."
    status, body = post_form(live_site, "/chat/send", cookie, {"text": text})
    assert status == 201, body
    run = Run.objects.get(pk=body["run"]["id"])
    connection, response = open_stream(live_site, f"/runs/{run.pk}/events", cookie)
    try:
        events = read_events(response)
    finally:
        connection.close()
    assert wait_for_status(run, Run.FINAL_STATUSES).status == Run.Status.DONE

    sent = [
        r.last_user_text for r in bedrock_emulator.received if "Template says" in r.last_user_text
    ]
    assert sent[-1] == (
        "Template says: ask <TYPED_PLACEHOLDER_1> to call <PERSON_1> about <TYPED_PLACEHOLDER_2>."
    )
    run.refresh_from_db()
    assert run.assistant_message is not None
    assert run.assistant_message.content == f"You said: {text}"
    done = next(e for e in events if e.event == "done")
    assert "ask &lt;PERSON_1&gt; to call Olga Petrenko about &lt;person_2&gt;" in done.data["html"]
