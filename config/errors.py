"""Error pages rendered from templates: a sentence for the user, never a stack trace."""

import json
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

UNAVAILABLE_MESSAGE = (
    "The service is briefly unavailable (a part of it is restarting). Nothing was saved or "
    "sent; please try again in a minute."
)


def _part_down(exc: BaseException | None) -> bool:
    """PostgreSQL or Redis unreachable: a 503 with a sentence, not a 500 (issue 12)."""
    import redis
    from kombu.exceptions import OperationalError as BrokerError

    return isinstance(
        exc,
        (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError, BrokerError),
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the error may be the database.
    # Django calls this inside its `except` block, where the error is still current (it
    # has logged it already: the recorded event).
    if _part_down(sys.exc_info()[1]):
        if (
            "json" in request.headers.get("Accept", "")
            or request.content_type == "application/json"
        ):
            body = json.dumps({"error": UNAVAILABLE_MESSAGE, "code": "unavailable"})
            return HttpResponse(body, status=503, content_type="application/json")
        return HttpResponse(
            f"<!doctype html><title>Briefly unavailable</title><p>{UNAVAILABLE_MESSAGE}</p>",
            status=503,
            headers={"Retry-After": "30"},
        )
    return HttpResponse(
        "<!doctype html><title>Something went wrong</title>"
        "<p>Something went wrong on our side. It has been logged; please try again.</p>",
        status=500,
    )
