"""The one place domain errors become responses: JSON for API calls, a message otherwise."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from prompting.errors import ApplicationError, NotFound

# PostgreSQL's "deadlock detected" and "could not serialize": the transaction was rolled
# back as a whole, so running the view again is safe and is what PostgreSQL asks for.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3


def _retryable(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in RETRY_SQLSTATES


def json_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    return view(request, *args, **kwargs)
                except OperationalError as exc:
                    # Found by 1,000 sends from one session: two sends' transactions and a
                    # refusal's audit event deadlocked on the audit chain head (a 500).
                    if attempt == ATTEMPTS or connection.in_atomic_block or not _retryable(exc):
                        raise
            raise AssertionError("unreachable")
        except NotFound:
            raise Http404 from None
        except ApplicationError as exc:
            response = JsonResponse(
                {"error": exc.user_message, "code": exc.code}, status=exc.status
            )
            retry_after = getattr(exc, "retry_after", None)  # limits: when it frees up
            if retry_after is not None:
                response["Retry-After"] = str(retry_after)
            return response

    return wrapper
