"""PostgreSQL restarting mid-answer loses no final text (issue 12): the generator keeps
streaming while the database is unreachable and stores the outcome once it is back, within
a bounded retry. In-process generation against the emulator over HTTP and the real relay;
the outage is Django's own OperationalError raised for every query of this thread while
the "database" is down (a real PostgreSQL restart runs in bench/bench_soak.py)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import OperationalError, connection

from audit.models import AuditEvent
from prompting import services
from prompting.models import Run
from prompting.runs import generation, judging, lifecycle
from prompting.runs import services as run_services

pytestmark = pytest.mark.django_db(transaction=True)


class Outage:
    """Every query fails while `down` is set, as during a PostgreSQL restart."""

    def __init__(self) -> None:
        self.down = threading.Event()
        self.refused = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.down.is_set():
            self.refused += 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def test_outcome_is_saved_when_the_database_is_back(
    alice: Any, dispatched: Any, bedrock_emulator: Any, monkeypatch: Any
) -> None:
    conversation = services.conversation_create(owner=alice)
    run = run_services.run_create(user=alice, conversation=conversation, text="db outage test")
    assert judging.run_judge(run_id=run.pk)
    outage = Outage()
    real_finish = lifecycle.run_finish

    def finish_during_outage(**outcome: Any) -> bool:
        # The answer has streamed; the database goes down just as the outcome is stored,
        # and comes back 1.5 s later.
        if not outage.down.is_set() and outage.refused == 0:
            outage.down.set()
            threading.Timer(1.5, outage.down.clear).start()
        return real_finish(**outcome)

    monkeypatch.setattr(generation, "run_finish", finish_during_outage)
    started = time.monotonic()
    with connection.execute_wrapper(outage):
        generation.run_generate(run_id=run.pk)
    assert outage.refused >= 1  # the outage really happened
    assert time.monotonic() - started < generation.FINISH_RETRY_S
    run.refresh_from_db()
    assert run.status == Run.Status.DONE
    assert run.assistant_message is not None
    assert run.assistant_message.content == "You said: db outage test"
    assert AuditEvent.objects.filter(action="generation.finished", target_id=str(run.pk)).exists()
