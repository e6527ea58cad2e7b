"""JSON endpoints for runs: status, stop, retry. The page JavaScript calls them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from limits.services import admission
from prompting import selectors
from prompting.models import Run
from prompting.rendering import render_markdown
from prompting.runs import lifecycle, services
from prompting.services import TITLE_AWAITS_TEXT
from prompting.titles import title_while_judging
from prompting.views.errors import json_errors


def run_payload(run: Run) -> dict[str, Any]:
    """What the browser needs to show a run, from the database (no relay needed)."""
    answer = run.assistant_message.content if run.assistant_message else ""
    return {
        "id": str(run.pk),
        "status": run.status,
        "final": run.is_final,
        "conversation_id": run.conversation_id,
        "text": answer,
        "html": render_markdown(answer) if answer else "",
        "message_id": run.assistant_message_id,
        "error": run.error_message,
        "error_code": run.error_code,
        "retryable": lifecycle.run_retryable(run),
        "findings": run.findings_summary,
        "decision": run.decision,
        "events_url": reverse("prompting:run_events", args=[run.pk]),
        "status_url": reverse("prompting:run_status", args=[run.pk]),
        "cancel_url": reverse("prompting:run_cancel", args=[run.pk]),
        "retry_url": reverse("prompting:run_retry", args=[run.pk]),
    }


def run_created_response(run: Run, *, conversation_url_name: str) -> JsonResponse:
    """201 with the new run and its conversation, for the page that sent the message."""
    conversation = run.conversation
    return JsonResponse(
        {
            "run": run_payload(run),
            "conversation": {
                "id": conversation.pk,
                # The sender's own page shows their words; the tab title only ever the
                # stored (sanitized) title, empty until the policy step has made it.
                "title": title_while_judging(
                    conversation, run.user_message.content if run.user_message else ""
                ),
                "tab_title": conversation.title
                if not conversation.title.endswith(TITLE_AWAITS_TEXT)
                else "",
                "url": reverse(conversation_url_name, args=[conversation.pk]),
            },
        },
        status=201,
    )


@require_GET
@json_errors
def run_status(request: HttpRequest, run_id: str) -> JsonResponse:
    run = selectors.run_get_for_user(user=request.user, run_id=run_id)
    return JsonResponse(run_payload(run))


@require_POST
@json_errors
def run_cancel(request: HttpRequest, run_id: str) -> JsonResponse:
    run = services.run_cancel(user=request.user, run_id=run_id)
    return JsonResponse(run_payload(run))


@require_POST
@json_errors
def run_retry(request: HttpRequest, run_id: str) -> JsonResponse:
    # A retry is a new request: admitted against the limits like a new message.
    tool = selectors.run_get_for_user(user=request.user, run_id=run_id).tool
    with admission(user=request.user, tool=tool) as new_run_id, transaction.atomic():
        run = services.run_retry(user=request.user, run_id=run_id, new_run_id=new_run_id)
    return JsonResponse(run_payload(run), status=201)
