"""What an IdP says about a person, and what that means here.

Pure functions over claims (OIDC) or attributes (SAML) so the mapping can be
tested table by table; `accounts.adapters` feeds them from allauth and
`accounts.services` acts on the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from accounts.roles import ADMIN, COMPLIANCE_REVIEWER, EMPLOYEE, INSIGHTS_VIEWER

# Why a sign-in was refused; the refusal page and the audit event use these.
REFUSED_EMAIL_DOMAIN = "email_domain"
REFUSED_NO_EMAIL = "no_email"
REFUSED_NO_SUBJECT = "no_subject"
REFUSED_EMAIL_IN_USE = "email_in_use"
REFUSED_CONNECT = "connect_not_allowed"


@dataclass(frozen=True)
class SsoIdentity:
    """One person as the IdP describes them at this sign-in."""

    provider: str  # "oidc" or "saml"
    subject: str  # `sub` / NameID: the only key for the account
    email: str
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    department: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)

    @property
    def email_domain(self) -> str:
        return email_domain(self.email)


@dataclass(frozen=True)
class ClaimNames:
    """Which claims/attributes carry groups and department (from settings)."""

    groups: str = "groups"
    department: str = "department"


def email_domain(email: str) -> str:
    """The part after the last @, lower-cased; "" when there is none."""
    _, at, domain = (email or "").strip().rpartition("@")
    return domain.lower() if at else ""


def _first(value: Any) -> str:
    # SAML attributes are lists even when single-valued; OIDC claims are not.
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return "" if value is None else str(value).strip()


def _many(value: Any) -> tuple[str, ...]:
    # Groups arrive as a JSON list (OIDC), a list of attribute values (SAML), or
    # one comma-separated string (some IdPs' "flattened" attribute).
    if value is None:
        return ()
    items: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    return tuple(dict.fromkeys(out))


def identity_from_claims(
    *, provider: str, subject: str, claims: Mapping[str, Any], names: ClaimNames
) -> SsoIdentity:
    """Build the identity from flat claims (OIDC userinfo + ID token, or SAML
    attributes after allauth's attribute mapping)."""
    first = _first(claims.get("given_name") or claims.get("first_name"))
    last = _first(claims.get("family_name") or claims.get("last_name"))
    display = _first(claims.get("name") or claims.get("displayName")) or f"{first} {last}".strip()
    return SsoIdentity(
        provider=provider,
        subject=str(subject or "").strip(),
        email=_first(claims.get("email")).lower(),
        # Cut to the columns' lengths (accounts.User): an IdP attribute longer than
        # the column must not turn a sign-in into a database error.
        first_name=first[:150],
        last_name=last[:150],
        display_name=display[:200],
        department=_first(claims.get(names.department))[:200],
        groups=_many(claims.get(names.groups)),
    )


def roles_for_groups(
    groups: Iterable[str],
    *,
    compliance_groups: Iterable[str],
    admin_groups: Iterable[str],
    insights_groups: Iterable[str] = (),
) -> set[str]:
    """Everyone signed in is Employee; group membership adds the other roles.

    Compared case-insensitively: IdP consoles differ in how they case group
    names, and a role silently missing over "COO-Office" vs "coo-office" would
    be worse than the (nonexistent) risk of two groups differing only in case.
    """
    member_of = {g.casefold() for g in groups}
    roles = {EMPLOYEE}
    if member_of & {g.casefold() for g in compliance_groups}:
        roles.add(COMPLIANCE_REVIEWER)
    if member_of & {g.casefold() for g in admin_groups}:
        roles.add(ADMIN)
    if member_of & {g.casefold() for g in insights_groups}:
        roles.add(INSIGHTS_VIEWER)
    return roles


def refusal_reason(identity: SsoIdentity, *, allowed_domains: Iterable[str]) -> str | None:
    """Why this identity may not sign in, or None. Exact domain match: a
    subdomain or a look-alike (company.com.evil.net) is a different domain."""
    if not identity.subject:
        return REFUSED_NO_SUBJECT
    if not identity.email_domain:
        return REFUSED_NO_EMAIL
    if identity.email_domain not in {d.lower() for d in allowed_domains}:
        return REFUSED_EMAIL_DOMAIN
    return None
