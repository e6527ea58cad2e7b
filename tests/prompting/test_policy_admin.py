"""Admins edit the policy in the site; every change is a new version, recorded."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from prompting.models import PolicyVersion
from prompting.policy import default_policy
from prompting.selectors import policy_in_force, policy_version_in_force

pytestmark = pytest.mark.django_db


def rules_with(entity_type: str, action: str) -> dict[str, Any]:
    rules = default_policy(1).rules_to_json()
    rules[entity_type] = {**rules[entity_type], "action": action}
    return rules


def test_first_use_creates_version_one_from_the_defaults() -> None:
    """With no policy stored, version 1 holds the default rules."""
    row = policy_version_in_force()
    assert row.version == 1
    assert policy_in_force().rules == default_policy(1).rules


def test_saving_in_admin_creates_a_new_version_and_an_audit_event(admin_user: Any) -> None:
    """Editing version 1 leaves it untouched and puts version 2 in force."""
    first = policy_version_in_force()
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        f"/admin/prompting/policyversion/{first.pk}/change/",
        {"rules": json.dumps(rules_with("PERSON", "block")), "note": "names block"},
    )
    assert response.status_code == 302, response.content[:500]
    first.refresh_from_db()
    assert first.rules == default_policy(1).rules_to_json()
    assert policy_version_in_force().version == 2
    assert policy_in_force().rules["PERSON"].action == "block"
    event = AuditEvent.objects.get(action="policy.changed")
    assert event.details["old_version"] == 1 and event.details["new_version"] == 2


def test_invalid_rules_are_refused_with_a_message(admin_user: Any) -> None:
    """An unknown action is a form error, not a new version and not a 500."""
    first = policy_version_in_force()
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        f"/admin/prompting/policyversion/{first.pk}/change/",
        {"rules": json.dumps(rules_with("PERSON", "shred")), "note": ""},
    )
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert PolicyVersion.objects.count() == 1


@pytest.mark.parametrize(
    "path", ["/admin/prompting/policyversion/", "/admin/prompting/policyversion/add/"]
)
def test_employees_cannot_reach_the_policy_admin(alice: Any, path: str) -> None:
    """A non-Admin never sees the policy pages."""
    client = Client()
    client.force_login(alice)
    response = client.get(path)
    assert response.status_code in (302, 403, 404)
    assert b"US_SSN" not in response.content


def test_versions_cannot_be_deleted(admin_user: Any) -> None:
    """Runs refer to the version that judged them, so versions are never deleted."""
    first = policy_version_in_force()
    client = Client()
    client.force_login(admin_user)
    client.post(f"/admin/prompting/policyversion/{first.pk}/delete/", {"post": "yes"})
    assert PolicyVersion.objects.filter(pk=first.pk).exists()


def test_admin_can_choose_redact_and_roll_back(admin_user: Any) -> None:
    """v2 redacts cards, v3 puts v1's rules back: both are accepted, the newest is in force."""
    first = policy_version_in_force()
    client = Client()
    client.force_login(admin_user)
    v1_rules = default_policy(1).rules_to_json()
    v1_rules["CREDIT_CARD"] = {**v1_rules["CREDIT_CARD"], "action": "block"}
    PolicyVersion.objects.filter(pk=first.pk).update(rules=v1_rules)
    response = client.post(
        f"/admin/prompting/policyversion/{first.pk}/change/",
        {"rules": json.dumps(rules_with("CREDIT_CARD", "redact")), "note": "redact cards"},
    )
    assert response.status_code == 302, response.content[:500]
    assert policy_in_force().rules["CREDIT_CARD"].action == "redact"
    response = client.post(
        f"/admin/prompting/policyversion/{first.pk}/change/",
        {"rules": json.dumps(v1_rules), "note": "roll back"},
    )
    assert response.status_code == 302, response.content[:500]
    assert policy_version_in_force().version == 3
    assert policy_in_force().rules["CREDIT_CARD"].action == "block"
    assert PolicyVersion.objects.get(version=2).rules["CREDIT_CARD"]["action"] == "redact"


def test_migration_0004_adds_a_version_and_keeps_admins_choices() -> None:
    """Untouched v1 block rules become redact in a new version; changed rules stay."""
    from django.apps import apps

    migration = importlib.import_module(
        "prompting.migrations.0005_policy_redact_and_identity_documents"
    )
    old = default_policy(1).rules_to_json()
    for entity_type, rule in migration.V1_BLOCK_RULES.items():
        old[entity_type] = dict(rule)
    old["IBAN_CODE"] = {"action": "block", "min_score": 0.7, "overridable": False}  # an admin's
    del old["PASSPORT"], old["DATE_OF_BIRTH"]
    PolicyVersion.objects.create(version=4, rules=old, note="before the release")

    migration.add_version(apps, None)

    new = PolicyVersion.objects.get(version=5)
    assert new.rules["CREDIT_CARD"]["action"] == "redact"
    assert new.rules["US_SSN"]["action"] == "redact"
    assert new.rules["US_BANK_NUMBER"] == {
        "action": "redact",
        "min_score": 0.5,
        "overridable": True,
    }
    assert new.rules["IBAN_CODE"]["action"] == "block"
    assert new.rules["PASSPORT"]["action"] == "pseudonymize"
    assert PolicyVersion.objects.get(version=4).rules == old
    migration.add_version(apps, None)  # nothing left to change: no further version
    assert PolicyVersion.objects.count() == 2
