"""The admin page for limit overrides (Admin role). Every save and delete is audited
as limits.changed with the values before and after."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from audit.actions import Action
from audit.services import audit_record
from limits import definitions as d
from limits.models import LimitOverride
from prompting.admin import AdminRoleOnly


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if v is not None else None) for k, v in values.items()}


@admin.register(LimitOverride)
class LimitOverrideAdmin(AdminRoleOnly, admin.ModelAdmin):
    """Empty fields keep the default (settings LIMITS_*_DEFAULTS); 0 allows nothing."""

    fields = ("scope", "user", "department", *d.NAMES, "note")
    list_display = ("__str__", "scope", *d.NAMES, "updated_by", "updated_at")
    list_filter = ("scope",)
    search_fields = ("department", "user__username", "user__email")
    raw_id_fields = ("user",)  # 2,000 employees: an id, not a drop-down

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: LimitOverride, form: Any, change: bool) -> None:
        before = LimitOverride.objects.select_for_update().get(pk=obj.pk).values() if change else {}
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action=Action.LIMITS_CHANGED,
            target=obj,
            details=_details(obj, before=before, after=obj.values()),
        )

    @transaction.atomic
    def delete_model(self, request: HttpRequest, obj: LimitOverride) -> None:
        details = _details(obj, before=obj.values(), after={})
        super().delete_model(request, obj)
        audit_record(actor=request.user, action=Action.LIMITS_CHANGED, details=details)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:  # one audited change per override
            self.delete_model(request, obj)


def _details(
    obj: LimitOverride, *, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    return {
        "scope": obj.scope,
        "user_id": obj.user_id,
        "department": obj.department,
        "before": _plain(before),
        "after": _plain(after),
        "note": obj.note,
    }
