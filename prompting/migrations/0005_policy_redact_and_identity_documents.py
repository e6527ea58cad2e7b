"""A new policy version with this release's defaults: financial numbers are redacted
instead of blocked, passports and dates of birth are pseudonymized.

Existing versions are never edited (runs and audit events refer to them): the version in
force is copied into a new one. Only rules still exactly as version 1 shipped them are
switched to `redact`; a rule an admin changed stays as it is. New types are added where
the version in force does not name them. A fresh database has no versions: version 1 is
created from the new defaults on first use (selectors.policy_version_in_force).

The rules are written out here, not imported: a migration must keep doing what it did
when later code changes the defaults.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

V1_BLOCK_RULES = {
    "US_SSN": {"action": "block", "min_score": 0.5, "overridable": False},
    "CREDIT_CARD": {"action": "block", "min_score": 0.5, "overridable": False},
    "IBAN_CODE": {"action": "block", "min_score": 0.5, "overridable": False},
    "US_BANK_NUMBER": {"action": "block", "min_score": 0.5, "overridable": True},
}
NEW_TYPES = {
    "PASSPORT": {"action": "pseudonymize", "min_score": 0.5, "overridable": True},
    "DATE_OF_BIRTH": {"action": "pseudonymize", "min_score": 0.5, "overridable": True},
}
NOTE = (
    "Release default: redact card numbers, SSNs, IBANs, bank accounts; "
    "pseudonymize passports, dates of birth"
)


def new_rules(rules: dict[str, Any]) -> dict[str, Any]:
    updated = dict(rules)
    for entity_type, v1_rule in V1_BLOCK_RULES.items():
        current = updated.get(entity_type)
        stored = (
            {"min_score": 0.5, "overridable": False, **current}
            if isinstance(current, dict)
            else None
        )
        if stored == v1_rule:
            updated[entity_type] = {**v1_rule, "action": "redact"}
    for entity_type, rule in NEW_TYPES.items():
        updated.setdefault(entity_type, rule)
    return updated


def add_version(apps: Any, schema_editor: Any) -> None:
    PolicyVersion = apps.get_model("prompting", "PolicyVersion")
    latest = PolicyVersion.objects.order_by("-version").first()
    if latest is None:
        return
    rules = new_rules(latest.rules)
    if rules != latest.rules:
        PolicyVersion.objects.create(version=latest.version + 1, rules=rules, note=NOTE)


class Migration(migrations.Migration):
    dependencies = [("prompting", "0004_run_preset")]

    # Backwards: nothing to undo. Versions are never deleted; the admin can put the old
    # rules back as a newer version.
    operations = [migrations.RunPython(add_version, migrations.RunPython.noop)]
