"""Error pages rendered from templates: a sentence for the user, never a stack trace."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the error may be the database.
    return HttpResponse(
        "<!doctype html><title>Something went wrong</title>"
        "<p>Something went wrong on our side. It has been logged; please try again.</p>",
        status=500,
    )
