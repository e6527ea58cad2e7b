"""Chat: the conversation list, one conversation, sending, rename, delete, feedback.

Pages are server-rendered (history as sanitized Markdown); static/js/chat.js adds the
preview, streaming, Stop, Retry, Copy and feedback on top, through the JSON endpoints.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from config.text import clean_query, parse_positive_int
from prompting import selectors, services
from prompting.chat import selectors as chat_selectors
from prompting.chat.forms import ChatSendForm
from prompting.chat.services import chat_message_send
from prompting.errors import ApplicationError, NotFound
from prompting.forms import FeedbackForm, RenameForm, request_data
from prompting.models import Conversation, Run, Tool
from prompting.policy.labels import entity_type_labels
from prompting.rendering import markdown_policy, render_markdown
from prompting.runs.lifecycle import run_retryable
from prompting.services import title_from
from prompting.titles import owner_titles
from prompting.views.errors import json_errors
from prompting.views.runs import run_created_response


def own_conversation(request: HttpRequest, conversation_id: int, tool: str) -> Conversation:
    """The user's conversation of this tool; anything else is a 404 page."""
    try:
        conversation = selectors.conversation_get_for_user(
            user=request.user, conversation_id=conversation_id
        )
    except NotFound:
        raise Http404 from None
    if conversation.tool != tool:
        raise Http404
    return conversation


def turn_context(run: Run) -> dict[str, Any]:
    """What the template needs for one exchange (the answer already sanitized)."""
    answer = run.assistant_message
    feedback = getattr(answer, "feedback", None) if answer is not None else None
    return {
        "run": run,
        "user_text": run.user_message.content if run.user_message else "",
        "answer_text": answer.content if answer else "",
        "answer_html": render_markdown(answer.content) if answer and answer.content else "",
        "message_id": answer.pk if answer else None,
        "active": not run.is_final,
        "retryable": run_retryable(run),
        "rating": feedback.rating if feedback else 0,
        "comment": feedback.comment if feedback else "",
        "urls": {
            "events": reverse("prompting:run_events", args=[run.pk]),
            "status": reverse("prompting:run_status", args=[run.pk]),
            "cancel": reverse("prompting:run_cancel", args=[run.pk]),
            "retry": reverse("prompting:run_retry", args=[run.pk]),
        },
    }


def chat_context(request: HttpRequest, conversation: Conversation | None) -> dict[str, Any]:
    query = clean_query(request.GET.get("q", ""))
    page = parse_positive_int(request.GET.get("page"), default=1, maximum=9_999)
    sidebar, has_more = chat_selectors.conversation_sidebar(
        user=request.user, tool=Tool.CHAT, query=query, page=page
    )
    turns = (
        [
            turn_context(run)
            for run in chat_selectors.conversation_runs_for_display(conversation=conversation)
        ]
        if conversation
        else []
    )
    composer = composer_context(request, conversation, Tool.CHAT)
    # Stored titles are sanitized; their owner sees the placeholders restored.
    owner_titles([*sidebar, *([conversation] if conversation else [])])
    return {
        "nav": "chat",
        "conversation": conversation,
        "tab_title": tab_title(conversation, turns),
        "conversations": sidebar,
        "has_more": has_more,
        "page": page,
        "query": query,
        "turns": turns,
        "markdown_policy": markdown_policy(),
        **composer,
        "suggestions": [] if turns else chat_suggestions(composer["templates"]),
    }


def tab_title(conversation: Conversation | None, turns: list[dict[str, Any]]) -> str:
    """The browser tab's title never shows personal data: it is made from the first
    message as the model saw it (placeholders, not values); "Conversation" until the
    policy step has run. The page itself (heading, list) is the owner's view."""
    if conversation is None:
        return "New conversation"
    first = turns[0]["run"].user_message if turns else None
    sanitized = first.sanitized_content if first is not None else ""
    return title_from(sanitized) if sanitized.strip() else "Conversation"


# Offered on an empty conversation when no template is shared yet.
DEFAULT_SUGGESTIONS = [
    "Draft a polite reply to a customer asking about a late delivery.",
    "Summarize the key points of the text I paste next as bullet points.",
    "Explain this error message and how to fix it:",
    "Write a short agenda for a 30-minute team meeting.",
]


def chat_suggestions(templates: Any) -> list[dict[str, Any]]:
    """Suggested starts for an empty conversation: shared chat templates first."""
    shared = [t for t in templates if t.shared][:4]
    if shared:
        return [
            {"title": t.title, "text": t.body, "template_id": t.pk, "shared": True} for t in shared
        ]
    return [{"title": text, "text": text, "template_id": None} for text in DEFAULT_SUGGESTIONS]


def composer_context(
    request: HttpRequest, conversation: Conversation | None, tool: str
) -> dict[str, Any]:
    """Model picker, template picker and the limit, shared by Chat and Rewrite."""
    templates = selectors.prompt_template_list_for_user(user=request.user, tool=tool)
    return {
        "models": selectors.model_allowlist(),
        "selected_model": conversation.model_id if conversation else selectors.model_default().id,
        "templates": templates,
        # Read by the page script (json_script: a data block, allowed by the CSP).
        "template_bodies": {str(t.pk): t.body for t in templates},
        "entity_labels": entity_type_labels(),
        "max_chars": settings.MAX_PROMPT_CHARS,
    }


@require_GET
def chat_page(request: HttpRequest) -> HttpResponse:
    return render(request, "prompting/chat.html", chat_context(request, None))


@require_GET
def chat_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = own_conversation(request, conversation_id, Tool.CHAT)
    return render(request, "prompting/chat.html", chat_context(request, conversation))


@require_POST
@json_errors
def chat_send(request: HttpRequest) -> JsonResponse:
    data = ChatSendForm(request_data(request)).cleaned_or_raise()
    run = chat_message_send(user=request.user, **data)
    return run_created_response(run, conversation_url_name="prompting:chat_conversation")


@require_POST
def chat_rename(request: HttpRequest, conversation_id: int) -> HttpResponse:
    own_conversation(request, conversation_id, Tool.CHAT)
    try:
        data = RenameForm(request.POST).cleaned_or_raise()
        services.conversation_rename(user=request.user, conversation_id=conversation_id, **data)
        messages.success(request, "Conversation renamed.")
    except ApplicationError as exc:
        messages.error(request, exc.user_message)
    return redirect("prompting:chat_conversation", conversation_id=conversation_id)


@require_POST
def chat_delete(request: HttpRequest, conversation_id: int) -> HttpResponse:
    own_conversation(request, conversation_id, Tool.CHAT)
    services.conversation_delete(user=request.user, conversation_id=conversation_id)
    messages.success(request, "Conversation deleted.")
    return redirect("prompting:chat")


@require_POST
@json_errors
def message_feedback(request: HttpRequest, message_id: int) -> JsonResponse:
    data = FeedbackForm(request_data(request)).cleaned_or_raise()
    feedback = services.feedback_set(user=request.user, message_id=message_id, **data)
    return JsonResponse({"rating": feedback.rating, "comment": feedback.comment})
