"""Prompt templates: for oneself, one's department, or everyone (Admins approve what
everyone sees). Chat and Rewrite offer them in a picker; this page creates, edits,
deletes and (for Admins) moderates them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import ADMIN, user_has_role
from prompting import selectors, services
from prompting.errors import ApplicationError, NotFound
from prompting.forms import PromptTemplateForm
from prompting.models import PromptTemplate


def _page(
    request: HttpRequest,
    *,
    editing: PromptTemplate | None = None,
    values: dict[str, Any] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    templates = selectors.prompt_template_list_for_user(user=request.user)
    admin = user_has_role(request.user, ADMIN)
    mine = request.user.pk
    return render(
        request,
        "prompting/chat_templates.html",
        {
            "nav": "templates",
            "personal": [t for t in templates if t.owner_id == mine and not t.shared],
            "department": [t for t in templates if t.owner_id != mine and not t.shared],
            "shared": [t for t in templates if t.shared],
            "waiting": selectors.prompt_template_waiting_for_approval() if admin else [],
            "audiences": PromptTemplate.Audience.choices,
            "chosen_audience": (values or {}).get("audience")
            or (editing.audience if editing else PromptTemplate.Audience.PRIVATE),
            "user_department": getattr(request.user, "department", ""),
            "may_publish": admin,
            "editing": editing,
            "values": values or {},
            "chosen_tool": (values or {}).get("tool") or (editing.tool if editing else "chat"),
            "error": error,
        },
        status=status,
    )


def _editable(request: HttpRequest, template_id: int) -> PromptTemplate:
    try:
        return selectors.prompt_template_get_editable(user=request.user, template_id=template_id)
    except NotFound:
        raise Http404 from None


def template_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
def template_create(request: HttpRequest) -> HttpResponse:
    try:
        data = PromptTemplateForm(request.POST).cleaned_or_raise()
        services.prompt_template_create(user=request.user, **data)
    except ApplicationError as exc:
        return _page(request, values=request.POST.dict(), error=exc.user_message, status=400)
    messages.success(request, "Template saved.")
    return redirect("prompting:template_list")


@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _editable(request, template_id)
    if request.method == "GET":
        return _page(request, editing=template)
    try:
        data = PromptTemplateForm(request.POST).cleaned_or_raise()
        services.prompt_template_update(user=request.user, template_id=template.pk, **data)
    except ApplicationError as exc:
        return _page(
            request,
            editing=template,
            values=request.POST.dict(),
            error=exc.user_message,
            status=400,
        )
    messages.success(request, "Template saved.")
    return redirect("prompting:template_list")


@require_POST
def template_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _editable(request, template_id)
    services.prompt_template_delete(user=request.user, template_id=template.pk)
    messages.success(request, "Template deleted.")
    return redirect("prompting:template_list")


@require_POST
def template_moderate(request: HttpRequest, template_id: int) -> HttpResponse:
    """An Admin's Approve / Decline of a template its owner asked to share with everyone."""
    approve = request.POST.get("decision") == "approve"
    try:
        template = services.prompt_template_moderate(
            user=request.user, template_id=template_id, approve=approve
        )
    except NotFound:
        raise Http404 from None
    if approve:
        messages.success(request, f"“{template.title}” is now shared with everyone.")
    else:
        messages.success(request, f"“{template.title}” stays with its owner's department.")
    return redirect("prompting:template_list")
