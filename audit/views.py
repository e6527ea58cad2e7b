"""Reviewer pages: Compliance reviewers only, 404 for everyone else (the pages do
not reveal that they exist). Each view and export is itself an audit event.

Sanitized content is shown, on the detail page or in an export, only after the
reviewer gives a justification (POST), recorded with the view; metadata needs none.
"""

from __future__ import annotations

import json

from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from accounts.roles import COMPLIANCE_REVIEWER, role_required
from audit.export import FORMATS, as_async, csv_chunks, export_columns, export_rows, jsonl_chunks
from audit.filters import (
    ENTITY_TYPES,
    RUN_TARGET,
    AuditFilterForm,
    Filters,
    action_label,
)
from audit.forms import ContentReasonForm
from audit.models import AuditEvent
from audit.selectors import event_chain_status, event_page, event_totals, run_events_of
from audit.services import audit_content_viewed, audit_log_exported, audit_log_viewed
from config.text import clean_query, parse_positive_int


def _filter_form(
    request: HttpRequest, data: QueryDict | None = None
) -> tuple[AuditFilterForm, Filters | None]:
    departments = list(
        User.objects.exclude(department="")
        .order_by("department")
        .values_list("department", flat=True)
        .distinct()
    )
    # Filters are search input: NUL (which PostgreSQL refuses) and other control
    # characters are dropped, like in every search box (config/text.py).
    cleaned = QueryDict(mutable=True)
    for key, values in (request.GET if data is None else data).lists():
        cleaned.setlist(clean_query(key), [clean_query(v, max_chars=255) for v in values])
    form = AuditFilterForm(cleaned, departments=departments)
    return form, form.filters() if form.is_valid() else None


def _cursor(request: HttpRequest, name: str) -> int | None:
    # "²".isdigit() is True and int("²") raises: ASCII digits only (config/text.py).
    value = parse_positive_int(request.GET.get(name), default=0, maximum=2**62)
    return value or None


def _list_context(request: HttpRequest, query: QueryDict) -> dict[str, object]:
    query = query.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return {
        "filter_query": query.urlencode(),
        "entity_types": ENTITY_TYPES,
        "reason_form": ContentReasonForm(),
        "run_target": RUN_TARGET,
        "nav": "audit",
    }


@role_required(COMPLIANCE_REVIEWER, hide=True)
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    form, filters = _filter_form(request)
    page = totals = None
    if filters is not None:
        page = event_page(
            filters, before=_cursor(request, "before"), after=_cursor(request, "after")
        )
        totals = event_totals(filters)
        for event in page.events:
            event.action_label = action_label(event.action)  # type: ignore[attr-defined]
    audit_log_viewed(
        user=request.user, page="list", filters=filters.as_details() if filters else {}
    )
    return render(
        request,
        "audit/event_list.html",
        {"form": form, "page": page, "totals": totals, **_list_context(request, request.GET)},
    )


@role_required(COMPLIANCE_REVIEWER, hide=True)
@require_http_methods(["GET", "POST"])
@never_cache
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Metadata and chain status; the content after a justification (POST)."""
    event = get_object_or_404(AuditEvent, pk=pk)
    status = event_chain_status(event)
    run_events = run_events_of(event)
    for other in run_events:
        other.action_label = action_label(other.action)  # type: ignore[attr-defined]
    reason_form = ContentReasonForm(request.POST if request.method == "POST" else None)
    show_content = False
    if request.method == "POST" and event.content:
        if reason_form.is_valid():
            audit_content_viewed(
                user=request.user, event=event, reason=reason_form.cleaned_data["reason"]
            )
            show_content = True
        else:
            audit_content_viewed(
                user=request.user,
                event=event,
                reason=request.POST.get("reason", "")[:500],
                refused=reason_form.refusal(),
            )
    else:
        audit_log_viewed(user=request.user, page="detail", filters={}, event=event)
    return render(
        request,
        "audit/event_detail.html",
        {
            "event": event,
            "status": status,
            "details_json": json.dumps(event.details, indent=2, sort_keys=True, ensure_ascii=False),
            "reason_form": reason_form,
            "show_content": show_content,
            "action_label": action_label(event.action),
            "run_events": run_events,
            "nav": "audit",
        },
        status=400 if reason_form.is_bound and not show_content else 200,
    )


# role_required types views as returning HttpResponse; a streaming response is an
# HttpResponseBase, which is all the decorator passes through.
@role_required(COMPLIANCE_REVIEWER, hide=True)  # type: ignore[arg-type]
@require_http_methods(["GET", "POST"])
def event_export(request: HttpRequest, export_format: str) -> HttpResponseBase:
    """GET: metadata only. POST (with `filter_query` and a `reason`): with content."""
    if export_format not in FORMATS:
        raise Http404
    include_content = request.method == "POST"
    query = QueryDict(request.POST.get("filter_query", "")) if include_content else request.GET
    form, filters = _filter_form(request, query)
    if filters is None:
        return render(
            request,
            "audit/event_list.html",
            {"form": form, **_list_context(request, query)},
            status=400,
        )
    reason = ""
    if include_content:
        reason_form = ContentReasonForm(request.POST)
        if not reason_form.is_valid():
            audit_content_viewed(
                user=request.user,
                event=None,
                reason=request.POST.get("reason", "")[:500],
                refused=reason_form.refusal(),
            )
            context = {**_list_context(request, query), "reason_form": reason_form}
            return render(request, "audit/event_list.html", {"form": form, **context}, status=400)
        reason = reason_form.cleaned_data["reason"]
    event = audit_log_exported(
        user=request.user,
        export_format=export_format,
        filters=filters.as_details(),
        include_content=include_content,
        reason=reason,
    )
    rows = export_rows(filters, through_id=event.id - 1, include_content=include_content)
    chunks = (
        csv_chunks(rows, export_columns(include_content=include_content))
        if export_format == "csv"
        else jsonl_chunks(rows)
    )
    # Under ASGI (production) stream for real; the sync test client and WSGI take
    # the plain iterator.
    response = StreamingHttpResponse(
        as_async(chunks) if isinstance(request, ASGIRequest) else chunks,
        content_type=FORMATS[export_format],
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-events-{stamp}-{event.id}.{export_format}"'
    )
    response["X-Accel-Buffering"] = "no"
    response["Cache-Control"] = "no-store"
    return response
