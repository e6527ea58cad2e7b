"""Summarize: the page, and the JSON endpoints its JavaScript calls.

Views bind input, call one service, answer. Domain errors become a sentence through
`json_errors`; another user's document or run is a 404 like a missing one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from prompting import selectors, services
from prompting.errors import InputRejected, NotFound
from prompting.models import Document, Run, Tool
from prompting.policy.labels import entity_type_labels
from prompting.rendering import markdown_policy, render_markdown
from prompting.summarize import documents, pipeline
from prompting.summarize import selectors as summarize_selectors
from prompting.summarize.forms import DocumentForm, SummaryOptionsForm, first_error
from prompting.views.errors import json_errors
from prompting.views.runs import run_payload


def summarize_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "nav": "summarize",
        "options": SummaryOptionsForm(),
        "max_upload_mb": settings.MAX_UPLOAD_MB,
        "max_chars": settings.SUMMARY_MAX_DOCUMENT_CHARS,
        "entity_labels": entity_type_labels(),
        "markdown_policy": markdown_policy(),
        "history": summarize_selectors.summary_history(user=request.user),
    }


@require_GET
def summarize_page(request: HttpRequest) -> HttpResponse:
    return render(request, "prompting/summarize.html", summarize_context(request))


@require_GET
def summary_page(request: HttpRequest, run_id: str) -> HttpResponse:
    """One summary at its own URL: the result if it is done, else the page follows it
    (after a reload, or in another tab)."""
    try:
        run = summarize_selectors.summary_get_for_user(user=request.user, run_id=run_id)
    except NotFound:
        raise Http404 from None
    answer = run.assistant_message.content if run.assistant_message else ""
    context = summarize_context(request)
    context.update(
        {
            "summary": run,
            "summary_title": summary_title(run),
            "summary_html": render_markdown(answer) if answer else "",
            "summary_run": summary_payload(run),
        }
    )
    return render(request, "prompting/summarize.html", context)


@require_POST
def summary_delete(request: HttpRequest, run_id: str) -> HttpResponse:
    """Delete a summary with its conversation: the document and any other summary of it
    go too (they share the pseudonym mapping); audited as conversation.deleted."""
    try:
        run = summarize_selectors.summary_get_for_user(user=request.user, run_id=run_id)
    except NotFound:
        raise Http404 from None
    services.conversation_delete(user=request.user, conversation_id=run.conversation_id)
    messages.success(request, "Summary deleted.")
    return redirect("prompting:summarize")


def summary_title(run: Run) -> str:
    if run.document is not None and run.document.filename:
        return run.document.filename
    title = run.conversation.title.removeprefix("Summary: ")
    return f"Pasted text: {title}" if title else "Pasted text"


def document_payload(document: Document) -> dict[str, Any]:
    return {
        "id": document.pk,
        "status": document.status,
        "status_label": document.get_status_display(),
        "filename": document.filename,
        "error": document.error_message,
        "notes": document.notes,
        "tokens": document.token_estimate,
        "sections": len(document.sections),
        "status_url": reverse("prompting:summarize_document", args=[document.pk]),
        "start_url": reverse("prompting:summarize_start", args=[document.pk]),
        "preview_url": reverse("prompting:summarize_preview", args=[document.pk]),
    }


@require_POST
@json_errors
def document_upload(request: HttpRequest) -> JsonResponse:
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        raise InputRejected(first_error(form))
    uploaded = form.cleaned_data.get("file")
    pasted = form.cleaned_data.get("paste")
    if pasted is not None:
        document = documents.document_create_from_text(user=request.user, text=pasted.read())
    elif uploaded is not None:
        document = documents.document_create_from_upload(user=request.user, uploaded=uploaded)
    else:
        document = documents.document_create_from_text(
            user=request.user, text=form.cleaned_data["text"]
        )
    return JsonResponse(document_payload(document), status=201)


@require_GET
@json_errors
def document_status(request: HttpRequest, document_id: str) -> JsonResponse:
    """The document's state; once ready, the estimate for the chosen options."""
    document = summarize_selectors.document_get_for_user(user=request.user, document_id=document_id)
    payload = document_payload(document)
    if document.status == Document.Status.READY:
        options = SummaryOptionsForm(request.GET)
        if options.is_valid():
            estimate = summarize_selectors.summary_estimate(
                document=document,
                model_id=options.cleaned_data["model"],
                length=options.cleaned_data["length"],
            )
            payload["estimate"] = {
                "tokens": estimate.tokens,
                "parts": estimate.parts,
                "cost_usd": str(estimate.cost_usd),
                "model": estimate.model_label,
            }
    return JsonResponse(payload)


@require_POST
@json_errors
def summary_start(request: HttpRequest, document_id: str) -> JsonResponse:
    # Ownership first, so another user's id is a 404 whatever the options say.
    summarize_selectors.document_get_for_user(user=request.user, document_id=document_id)
    options = SummaryOptionsForm(request.POST)
    if not options.is_valid():
        raise InputRejected(first_error(options))
    run = pipeline.summary_start(
        user=request.user,
        document_id=document_id,
        model_id=options.cleaned_data["model"],
        length=options.cleaned_data["length"],
        style=options.cleaned_data["style"],
    )
    return JsonResponse(summary_payload(run), status=201)


def _summary_get(request: HttpRequest, run_id: str) -> Run:
    run = selectors.run_get_for_user(user=request.user, run_id=run_id)
    if run.tool != Tool.SUMMARIZE or run.parent_id is not None:
        raise NotFound("That summary")
    return run


def summary_payload(run: Run) -> dict[str, Any]:
    parts = list(run.parts.values_list("status", flat=True))
    return {
        **run_payload(run),
        "sources": summarize_selectors.summary_sources(run),
        "progress": {"done": parts.count(Run.Status.DONE), "total": len(parts)},
        "result_url": reverse("prompting:summarize_result", args=[run.pk]),
        "cancel_url": reverse("prompting:summarize_cancel", args=[run.pk]),
        "url": reverse("prompting:summarize_summary", args=[run.pk]),
        "title": summary_title(run),
    }


@require_GET
@json_errors
def summary_result(request: HttpRequest, run_id: str) -> JsonResponse:
    return JsonResponse(summary_payload(_summary_get(request, run_id)))


@require_POST
@json_errors
def summary_cancel(request: HttpRequest, run_id: str) -> JsonResponse:
    _summary_get(request, run_id)
    run = pipeline.summary_cancel(user=request.user, run_id=run_id)
    return JsonResponse(summary_payload(run))
