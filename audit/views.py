from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.roles import COMPLIANCE_REVIEWER, role_required
from audit.models import AuditEvent


@role_required(COMPLIANCE_REVIEWER, hide=True)
def event_list(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.select_related("actor")[:50]
    return render(request, "audit/event_list.html", {"events": events, "nav": "audit"})
