"""A send whose transaction PostgreSQL rolled back for a deadlock is run again, not a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from prompting.views.errors import ATTEMPTS, json_errors


class _Deadlock(Exception):
    sqlstate = "40P01"


def _failing(times: int, sqlstate: str = "40P01") -> Any:
    calls = []

    @json_errors
    def view(request: Any) -> HttpResponse:
        calls.append(1)
        if len(calls) <= times:
            cause = _Deadlock()
            cause.sqlstate = sqlstate
            raise OperationalError("deadlock detected") from cause
        return HttpResponse("ok", status=201)

    return view, calls


@pytest.mark.django_db(transaction=True)
def test_a_deadlocked_view_is_run_again() -> None:
    view, calls = _failing(times=ATTEMPTS - 1)
    response = view(RequestFactory().post("/chat/send"))
    assert response.status_code == 201 and len(calls) == ATTEMPTS


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_after_the_last_attempt_and_other_errors_are_not_retried() -> None:
    view, calls = _failing(times=ATTEMPTS)
    with pytest.raises(OperationalError):
        view(RequestFactory().post("/chat/send"))
    assert len(calls) == ATTEMPTS
    other, other_calls = _failing(times=1, sqlstate="08006")  # connection failure
    with pytest.raises(OperationalError):
        other(RequestFactory().post("/chat/send"))
    assert len(other_calls) == 1
