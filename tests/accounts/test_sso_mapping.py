"""The pure rules: which roles a set of IdP groups gives, how claims become an
identity, and who is refused. Table-driven; no database."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.roles import ADMIN, COMPLIANCE_REVIEWER, EMPLOYEE
from accounts.sso import (
    REFUSED_EMAIL_DOMAIN,
    REFUSED_NO_EMAIL,
    REFUSED_NO_SUBJECT,
    ClaimNames,
    SsoIdentity,
    email_domain,
    identity_from_claims,
    refusal_reason,
    roles_for_groups,
)

COMPLIANCE = ["coo-office", "Audit Team"]
ADMINS = ["assistant-admins"]


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ([], {EMPLOYEE}),
        (["everyone", "drivers-support"], {EMPLOYEE}),
        (["coo-office"], {EMPLOYEE, COMPLIANCE_REVIEWER}),
        (["COO-Office"], {EMPLOYEE, COMPLIANCE_REVIEWER}),
        (["audit team"], {EMPLOYEE, COMPLIANCE_REVIEWER}),
        (["assistant-admins"], {EMPLOYEE, ADMIN}),
        (["assistant-admins", "coo-office"], {EMPLOYEE, ADMIN, COMPLIANCE_REVIEWER}),
        (["coo-office-alumni"], {EMPLOYEE}),
        (["coo"], {EMPLOYEE}),
    ],
)
def test_roles_follow_groups(groups: list[str], expected: set[str]) -> None:
    """Everyone is Employee; membership of a configured group (case-insensitive,
    whole names only) adds Compliance reviewer or Admin."""
    assert roles_for_groups(groups, compliance_groups=COMPLIANCE, admin_groups=ADMINS) == expected


def test_no_configured_groups_gives_only_employee() -> None:
    """With SSO_COMPLIANCE_GROUPS / SSO_ADMIN_GROUPS empty nobody gets a privileged role."""
    assert roles_for_groups(["coo-office"], compliance_groups=[], admin_groups=[]) == {EMPLOYEE}


NAMES = ClaimNames(groups="groups", department="department")


@pytest.mark.parametrize(
    ("claims", "names", "expected"),
    [
        (  # OIDC: standard claims, groups as a JSON list
            {
                "email": "Erin@Company.COM",
                "given_name": "Erin",
                "family_name": "Ng",
                "name": "Erin Ng",
                "department": "Support",
                "groups": ["a", "b"],
            },
            NAMES,
            {"email": "erin@company.com", "display_name": "Erin Ng", "groups": ("a", "b")},
        ),
        (  # SAML: every attribute a list; display name built from first and last
            {
                "email": ["sam@company.com"],
                "first_name": ["Sam"],
                "last_name": ["Lee"],
                "department": ["Legal"],
                "groups": ["x", " y "],
            },
            NAMES,
            {"display_name": "Sam Lee", "department": "Legal", "groups": ("x", "y")},
        ),
        (  # one comma-separated string, duplicates dropped
            {"email": "a@company.com", "groups": "x, y,x"},
            NAMES,
            {"groups": ("x", "y"), "department": ""},
        ),
        (  # claim names from settings (Entra-style URIs)
            {
                "email": "a@company.com",
                "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups": ["g-1"],
                "dept": "Ops",
            },
            ClaimNames(
                groups="http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                department="dept",
            ),
            {"groups": ("g-1",), "department": "Ops"},
        ),
        (  # nothing but an email
            {"email": "a@company.com"},
            NAMES,
            {"display_name": "", "groups": (), "first_name": ""},
        ),
    ],
)
def test_identity_from_claims(
    claims: dict[str, Any], names: ClaimNames, expected: dict[str, Any]
) -> None:
    """OIDC claims and SAML attributes map onto the same identity fields."""
    identity = identity_from_claims(provider="oidc", subject="sub-1", claims=claims, names=names)
    assert identity.subject == "sub-1"
    for field, value in expected.items():
        assert getattr(identity, field) == value, field


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("a@company.com", "company.com"),
        ("A@Company.Com", "company.com"),
        ('"odd@name"@company.com', "company.com"),
        ("no-at-sign", ""),
        ("", ""),
    ],
)
def test_email_domain(email: str, domain: str) -> None:
    """The domain is what follows the last @, lower-cased."""
    assert email_domain(email) == domain


@pytest.mark.parametrize(
    ("subject", "email", "reason"),
    [
        ("sub-1", "a@company.com", None),
        ("sub-1", "a@ride.company.com", None),
        ("sub-1", "a@sub.company.com", REFUSED_EMAIL_DOMAIN),
        ("sub-1", "a@company.com.evil.net", REFUSED_EMAIL_DOMAIN),
        ("sub-1", "a@gmail.com", REFUSED_EMAIL_DOMAIN),
        ("sub-1", "", REFUSED_NO_EMAIL),
        ("", "a@company.com", REFUSED_NO_SUBJECT),
    ],
)
def test_refusal_reason(subject: str, email: str, reason: str | None) -> None:
    """Only exact allowlisted domains sign in; a missing subject or email is refused."""
    identity = SsoIdentity(provider="oidc", subject=subject, email=email)
    assert refusal_reason(identity, allowed_domains=["company.com", "ride.company.com"]) == reason


def test_attributes_longer_than_their_columns_are_cut() -> None:
    """A 500-character department from the IdP must not make sign-in a database error
    on PostgreSQL (SQLite would not notice): it is cut to the column's length."""
    claims = {"email": "a@company.com", "department": "D" * 500, "name": "N" * 300}
    identity = identity_from_claims(provider="oidc", subject="s", claims=claims, names=NAMES)
    assert identity.department == "D" * 200
    assert identity.display_name == "N" * 200
