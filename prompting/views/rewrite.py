"""Rewrite: paste text, pick a preset or write an instruction; the result streams in
beside the original (static/js/rewrite.js adds the preview, streaming and the diff)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from prompting.chat import selectors as chat_selectors
from prompting.forms import request_data
from prompting.models import Conversation, Tool
from prompting.rewrite import presets
from prompting.rewrite.forms import RewriteForm
from prompting.rewrite.services import rewrite_create
from prompting.titles import owner_titles
from prompting.views.chat import composer_context, own_conversation, turn_context
from prompting.views.errors import json_errors
from prompting.views.runs import run_created_response

HISTORY_LENGTH = 20


def rewrite_context(request: HttpRequest, conversation: Conversation | None) -> dict[str, Any]:
    history, _more = chat_selectors.conversation_sidebar(user=request.user, tool=Tool.REWRITE)
    history = history[:HISTORY_LENGTH]
    owner_titles(history)
    shown: dict[str, Any] | None = None
    if conversation is not None:
        runs = chat_selectors.conversation_runs_for_display(conversation=conversation)
        if runs:
            run = runs[-1]
            custom = run.system_prompt == presets.CUSTOM_SYSTEM_PROMPT
            instruction, original = presets.split_message(
                run.user_message.content if run.user_message else "", custom=custom
            )
            shown = {
                **turn_context(run),
                "original": original,
                "instruction": instruction,
                "label": presets.label_for(run.system_prompt),
                "preset_key": run.preset or "",
            }
    return {
        "nav": "rewrite",
        "conversation": conversation,
        "shown": shown,
        "history": history,
        "presets": presets.PRESETS,
        **composer_context(request, conversation, Tool.REWRITE),
    }


@require_GET
def rewrite_page(request: HttpRequest) -> HttpResponse:
    return render(request, "prompting/rewrite.html", rewrite_context(request, None))


@require_GET
def rewrite_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = own_conversation(request, conversation_id, Tool.REWRITE)
    return render(request, "prompting/rewrite.html", rewrite_context(request, conversation))


@require_POST
@json_errors
def rewrite_send(request: HttpRequest) -> JsonResponse:
    data = RewriteForm(request_data(request)).cleaned_or_raise()
    run = rewrite_create(user=request.user, **data)
    return run_created_response(run, conversation_url_name="prompting:rewrite_detail")
