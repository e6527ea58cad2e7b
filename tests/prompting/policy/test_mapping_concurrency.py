"""Two turns of one conversation judged at the same time never lose each other's
placeholders: the map is stored with compare-and-swap under the conversation's row lock,
and a turn whose map changed while it was judged is judged again. Real threads, each
with its own database connection (run on PostgreSQL: DATABASE_URL=postgres://…)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from prompting import services
from prompting.crypto import decrypt_mapping
from prompting.models import Conversation, Run
from prompting.runs import judging
from prompting.runs import services as run_services

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_turns_judged_at_once_keep_both_placeholders(
    alice: Any, dispatched: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = services.conversation_create(owner=alice)
    texts = ["Call Olga Petrenko about the refund.", "Email Kenji Watanabe the receipt."]
    runs = [run_services.run_create(user=alice, conversation=conversation, text=t) for t in texts]
    # Both threads finish their first analysis before either stores: the race, every time.
    barrier = threading.Barrier(2, timeout=30)
    waited: set[int] = set()
    real: Callable[..., Any] = judging.judge_text

    def judge_then_meet(*args: Any, **kwargs: Any) -> Any:
        judgement = real(*args, **kwargs)
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()
        return judgement

    monkeypatch.setattr(judging, "judge_text", judge_then_meet)
    errors: list[BaseException] = []

    def judge(run: Run) -> None:
        try:
            judging.run_judge(run_id=run.pk)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=judge, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors

    mapping = decrypt_mapping(Conversation.objects.get(pk=conversation.pk).pseudonym_map_encrypted)
    sanitized = []
    for run in runs:
        run.refresh_from_db()
        assert run.decision == "pseudonymize"
        assert run.user_message is not None
        sanitized.append(run.user_message.sanitized_content)
        # What the model saw restores to what was typed: no placeholder was lost or reused.
        assert mapping.restore(run.user_message.sanitized_content) == run.user_message.content
    assert {s.split()[1] for s in sanitized} == {"<PERSON_1>", "<PERSON_2>"}
