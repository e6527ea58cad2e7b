"""The one place domain errors become responses: JSON for API calls, a message otherwise."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from prompting.errors import ApplicationError, NotFound


def json_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
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
