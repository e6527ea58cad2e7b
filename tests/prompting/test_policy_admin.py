"""Admins edit the policy in the site; every change is a new version, recorded."""

from __future__ import annotations

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
