"""The reviewer's filter form and the Filters it yields.

Every filter maps to an indexed column ((column, id) indexes, see models.py),
except the entity type, which reads details->'findings' (a GIN index in
PostgreSQL). Dates are UTC calendar days; `period` presets override them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit import actions
from audit.models import AuditEvent

PERIODS = (
    ("", "Any time (or the dates below)"),
    ("today", "Today"),
    ("last_7_days", "Last 7 days"),
    ("last_30_days", "Last 30 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
)
TOOLS = (("", "Any tool"), ("chat", "Chat"), ("rewrite", "Rewrite"), ("summarize", "Summarize"))
# Entity types the policy layer knows; offered as suggestions, any value is accepted.
ENTITY_TYPES = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IP_ADDRESS",
    "IBAN_CODE", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "LOCATION", "STREET_ADDRESS",
    "DATE_TIME", "NRP", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "PRIVATE_KEY", "API_TOKEN",
    "PASSWORD",
)  # fmt: skip


def _choices(values: tuple[str, ...], any_label: str) -> list[tuple[str, str]]:
    return [("", any_label), *[(v, v) for v in values]]


# What each action code means, in the reviewer's words (the code stays in a tooltip and
# in exports). An action missing here shows its code.
ACTION_LABELS: dict[str, str] = {
    actions.PROMPT_SUBMITTED: "Prompt sent",
    actions.PROMPT_BLOCKED: "Prompt blocked",
    actions.PROMPT_REJECTED: "Prompt refused (empty, too long, unreadable)",
    actions.DOCUMENT_REJECTED: "Document refused",
    actions.POLICY_PREVIEWED: "Policy preview",
    actions.CONVERSATION_DELETED: "Conversation deleted",
    actions.GENERATION_FINISHED: "Answer finished",
    actions.POLICY_OVERRIDE: "Finding marked as not personal data",
    actions.POLICY_CHANGED: "Policy changed",
    actions.MODELS_ALLOWLIST_CHANGED: "Model allowlist changed",
    actions.ACCOUNT_SIGN_IN: "Signed in",
    actions.ACCOUNT_SIGN_OUT: "Signed out",
    actions.ACCOUNT_SIGN_IN_REFUSED: "Sign-in refused",
    actions.ACCOUNT_ROLE_CHANGE: "Roles changed",
    actions.AUDIT_VIEWED: "Audit log viewed",
    actions.AUDIT_EXPORTED: "Audit log exported",
    actions.AUDIT_CONTENT_VIEWED: "Sanitized content viewed",
    actions.AUDIT_CHECKPOINT: "Signed checkpoint",
    actions.RETENTION_PURGED: "Retention purge",
    actions.TEMPLATE_USED: "Template used",
    actions.FEEDBACK_GIVEN: "Feedback given",
    actions.INSIGHTS_VIEWED: "Insights viewed",
    actions.INSIGHTS_EXPORTED: "Insights exported",
    actions.INSIGHTS_REPORT_CREATED: "Monthly report created",
    actions.INSIGHTS_REPORT_DOWNLOADED: "Monthly report downloaded",
}


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code)


# Events about one run (a prompt's submission, block, answer, overrides) carry it as target.
RUN_TARGET = "prompting.run"
RUN_ID = r"^[0-9A-Za-z-]{1,64}$"


@dataclass(frozen=True)
class Filters:
    start: datetime | None = None
    end: datetime | None = None  # exclusive
    user: str = ""
    department: str = ""
    action: str = ""
    tool: str = ""
    model: str = ""
    decision: str = ""
    entity_type: str = ""
    outcome: str = ""
    run: str = ""  # one run's events (target prompting.run <id>)
    # policy.previewed events (one per typing pause) flood the list: shown only when asked
    # for, or when the action filter asks for exactly them.
    include_previews: bool = False

    def apply(self, queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        q = Q()
        if self.start is not None:
            q &= Q(created_at__gte=self.start)
        if self.end is not None:
            q &= Q(created_at__lt=self.end)
        if self.user:
            q &= _user_q(self.user)
        for column in ("department", "action", "tool", "model", "decision", "outcome"):
            value = getattr(self, column)
            if value:
                q &= Q(**{"actor_department" if column == "department" else column: value})
        if self.entity_type:
            q &= Q(details__findings__has_key=self.entity_type)
        if self.run:
            q &= Q(target_type=RUN_TARGET, target_id=self.run)
        queryset = queryset.filter(q)
        if not self.include_previews and self.action != actions.POLICY_PREVIEWED:
            queryset = queryset.exclude(action=actions.POLICY_PREVIEWED)
        return queryset

    def as_details(self) -> dict[str, str]:
        """The filters as recorded in audit.viewed / audit.exported events."""
        values = {
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            **{
                name: getattr(self, name)
                for name in ("user", "department", "action", "tool", "model", "decision")
            },
            "entity_type": self.entity_type,
            "outcome": self.outcome,
            "run": self.run,
            "include_previews": "yes" if self.include_previews else "",
        }
        return {k: v for k, v in values.items() if v}


def _user_q(value: str) -> Q:
    """A name, username, or any part of an email (case-insensitive), so "maria", "Gonz"
    and "@example" all find Maria Gonzalez."""
    from accounts.models import User

    ids = list(
        User.objects.filter(
            Q(email__icontains=value)
            | Q(username__icontains=value)
            | Q(display_name__icontains=value)
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
        ).values_list("id", flat=True)[:1000]
    )
    # Accounts may be gone; their events keep the label they had.
    return (
        Q(actor_id__in=ids) | Q(actor_label__icontains=value)
        if ids
        else Q(actor_label__icontains=value)
    )


def period_range(period: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    today = datetime.combine(timezone.localdate(now), time.min, tzinfo=now.tzinfo)
    if period == "today":
        return today, today + timedelta(days=1)
    if period == "last_7_days":
        return today - timedelta(days=6), today + timedelta(days=1)
    if period == "last_30_days":
        return today - timedelta(days=29), today + timedelta(days=1)
    first_of_month = today.replace(day=1)
    if period == "this_month":
        return first_of_month, today + timedelta(days=1)
    if period == "last_month":
        return (first_of_month - timedelta(days=1)).replace(day=1), first_of_month
    return None, None


class AuditFilterForm(forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False, label="Quick period")
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    user = forms.CharField(
        required=False,
        max_length=255,
        label="User (name or part of an email)",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    department = forms.ChoiceField(required=False)
    action = forms.ChoiceField(
        choices=[
            ("", "Any action"),
            *[(a, f"{action_label(a)} ({a})") for a in actions.ALL_ACTIONS],
        ],
        required=False,
    )
    tool = forms.ChoiceField(choices=TOOLS, required=False)
    model = forms.CharField(
        required=False,
        max_length=200,
        label="Model id",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    decision = forms.ChoiceField(
        choices=_choices(actions.DECISIONS, "Any decision"), required=False
    )
    entity_type = forms.CharField(
        required=False,
        max_length=64,
        label="Entity type found",
        widget=forms.TextInput(attrs={"list": "audit-entity-types", "autocomplete": "off"}),
    )
    outcome = forms.ChoiceField(choices=_choices(actions.OUTCOMES, "Any outcome"), required=False)
    run = forms.RegexField(
        regex=RUN_ID,
        required=False,
        max_length=64,
        label="Run id",
        error_messages={"invalid": "A run id is letters, digits and dashes."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    include_previews = forms.BooleanField(
        required=False, label="Include policy previews (one per typing pause)"
    )

    def __init__(self, *args: Any, departments: list[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels read "Period", not "Period:"
        super().__init__(*args, **kwargs)
        names = list(departments or [])
        selected = self.data.get("department") if self.is_bound else ""
        if selected and selected not in names:
            names.append(selected)  # a department nobody is in any more still filters
        department = self.fields["department"]
        assert isinstance(department, forms.ChoiceField)
        department.choices = [("", "Any department"), *[(d, d) for d in names]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self, now: datetime | None = None) -> Filters:
        """Filters from valid input (call after is_valid())."""
        data = self.cleaned_data
        start, end = period_range(data.get("period") or "", now or timezone.now())
        if start is None:
            start = _day_start(data.get("date_from"))
            to_day = data.get("date_to")
            end = _day_start(to_day + timedelta(days=1)) if to_day else None
        return Filters(
            start=start,
            end=end,
            user=(data.get("user") or "").strip(),
            department=data.get("department") or "",
            action=data.get("action") or "",
            tool=data.get("tool") or "",
            model=(data.get("model") or "").strip(),
            decision=data.get("decision") or "",
            entity_type=(data.get("entity_type") or "").strip().upper(),
            outcome=data.get("outcome") or "",
            run=(data.get("run") or "").strip(),
            include_previews=bool(data.get("include_previews")),
        )


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone()) if day else None
