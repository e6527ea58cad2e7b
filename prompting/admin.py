"""Django admin for the Admin role: the policy (versioned) and shared prompt templates.

Access follows the Admin role (synced from the IdP), not Django's per-model
permissions, so nobody has to maintain a second permission system.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest

from accounts.roles import ADMIN, user_has_role
from audit.actions import Action
from audit.services import audit_record
from prompting.models import PolicyVersion, PromptTemplate
from prompting.policy import InvalidPolicy, Policy


class AdminRoleOnly:
    """Admin pages are for the Admin role; everyone else gets the admin's 403."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, ADMIN)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_has_role(request.user, ADMIN)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return user_has_role(request.user, ADMIN)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_has_role(request.user, ADMIN)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_has_role(request.user, ADMIN)


class PolicyVersionForm(forms.ModelForm):
    class Meta:
        model = PolicyVersion
        fields = ["rules", "note"]
        help_texts = {
            "rules": (
                'One entry per entity type: {"US_SSN": {"action": "block", "min_score": 0.5, '
                '"overridable": false}, ...}. Actions: allow (sent as is), pseudonymize '
                "(a placeholder, restored in the answer), redact (a placeholder, never "
                "restored or stored), block (nothing is sent)."
            ),
        }

    def clean_rules(self) -> Any:
        rules = self.cleaned_data["rules"]
        if isinstance(rules, str):
            rules = json.loads(rules)
        try:
            Policy.from_rules_json(version=1, rules=rules)
        except InvalidPolicy as exc:
            raise forms.ValidationError(exc.user_message) from None
        return rules


@admin.register(PolicyVersion)
class PolicyVersionAdmin(AdminRoleOnly, admin.ModelAdmin):
    """Saving never edits a version: it creates the next one, which is in force at once.
    Runs keep a reference to the version that judged them."""

    form = PolicyVersionForm
    list_display = ("version", "note", "created_by", "created_at")
    readonly_fields = ("version", "created_by", "created_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # runs and audit events refer to every version ever in force

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: PolicyVersion, form: Any, change: bool) -> None:
        previous = PolicyVersion.objects.select_for_update().order_by("-version").first()
        latest = PolicyVersion.objects.aggregate(latest=Max("version"))["latest"] or 0
        new = PolicyVersion(
            version=latest + 1,
            rules=form.cleaned_data["rules"],
            note=form.cleaned_data.get("note", ""),
            created_by=request.user,  # type: ignore[misc]
        )
        new.save()
        obj.pk, obj.version = new.pk, new.version  # the admin redirects to the new version
        audit_record(
            actor=request.user,
            action=Action.POLICY_CHANGED,
            target=new,
            details={
                "old_version": previous.version if previous else None,
                "new_version": new.version,
                "note": new.note,
            },
        )


@admin.register(PromptTemplate)
class PromptTemplateAdmin(AdminRoleOnly, admin.ModelAdmin):
    """Admins publish shared templates here (shared=True); personal ones are the owners'."""

    fields = ("title", "tool", "body")
    list_display = ("title", "tool", "owner", "created_at")
    list_filter = ("tool",)
    search_fields = ("title",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(shared=True)

    def save_model(
        self, request: HttpRequest, obj: PromptTemplate, form: Any, change: bool
    ) -> None:
        obj.shared = True
        if not change:
            obj.owner = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
