"""What an IdP says about a person, and what that means here.

Pure functions over claims (OIDC) or attributes (SAML) so the mapping can be
tested table by table; `accounts.adapters` feeds them from allauth and
`accounts.services` acts on the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import idna

from accounts.roles import ADMIN, COMPLIANCE_REVIEWER, EMPLOYEE, INSIGHTS_VIEWER

# Why a sign-in was refused; the refusal page and the audit event use these.
REFUSED_EMAIL_DOMAIN = "email_domain"
REFUSED_NO_EMAIL = "no_email"
REFUSED_NO_SUBJECT = "no_subject"
REFUSED_EMAIL_IN_USE = "email_in_use"
REFUSED_CONNECT = "connect_not_allowed"
REFUSED_EMAIL_UNVERIFIED = "email_unverified"
REFUSED_NONCE = "nonce_mismatch"


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
    # False only when the IdP says so (`email_verified: false`); absent claims are True
    # (Entra and most SAML IdPs only send addresses they manage).
    email_verified: bool = True

    @property
    def email_domain(self) -> str:
        return email_domain(self.email)


@dataclass(frozen=True)
class ClaimNames:
    """Which claims/attributes carry groups and department (from settings)."""

    groups: str = "groups"
    department: str = "department"
    # How an IdP that sends all groups as ONE string separates them (its documentation
    # says, e.g. ";" or ","); "" (the default): a single string is a single group name.
    # A list is always a list: a group named "Sales, coo-office" is that one group.
    groups_separator: str = ""


def email_domain(email: str) -> str:
    """The domain of an address with exactly one "@" and a non-empty local part, in its
    IDNA (ASCII, lower-case) form; "" for anything else. `x@gmail.com@company.com` has
    no domain: which of its parts a mail server would use is not ours to guess."""
    local, at, domain = (email or "").strip().partition("@")
    if not at or not local or not domain or "@" in domain:
        return ""
    return normalize_domain(domain)


def normalize_domain(domain: str) -> str:
    """A domain as compared here: IDNA 2008 (UTS 46 mapping) ASCII form, lower-case,
    without a trailing dot; "" when it is not a valid domain name. `bücher.example`,
    `BÜCHER.example` and `xn--bcher-kva.example` are one domain."""
    domain = domain.strip().rstrip(".")
    if not domain or any(c.isspace() for c in domain):
        return ""
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except idna.IDNAError:
        return ""


def _first(value: Any) -> str:
    # SAML attributes are lists even when single-valued; OIDC claims are not.
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return "" if value is None else str(value).strip()


def _many(value: Any, separator: str = "") -> tuple[str, ...]:
    """Group names exactly as the IdP sent them: a list (OIDC JSON array, SAML attribute
    values) is used item by item, never split; only a single string is split, and only
    on the IdP's documented separator (`separator`, SSO_GROUPS_SEPARATOR)."""

    def name(item: Any) -> str | None:
        # A string, or a number (some IdPs send numeric group ids); never a boolean,
        # an object or a nested list.
        if isinstance(item, str):
            return item
        if isinstance(item, int) and not isinstance(item, bool):
            return str(item)
        return None

    if isinstance(value, list | tuple):
        items = [n for n in map(name, value) if n is not None]
    else:
        single = name(value)
        if single is None:
            return ()
        items = single.split(separator) if separator else [single]
    out = [item.strip() for item in items]
    return tuple(dict.fromkeys(item for item in out if item))


def _verified(value: Any) -> bool:
    """`email_verified`: only an explicit false (JSON false, or the string "false" some
    IdPs send) refuses; an absent claim does not."""
    if isinstance(value, list | tuple):  # a SAML attribute
        value = value[0] if value else None
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no")
    return bool(value)


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
        groups=_many(claims.get(names.groups), names.groups_separator),
        email_verified=_verified(claims.get("email_verified")),
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
    """Why this identity may not sign in, or None. Exact domain match after IDNA
    normalisation: a subdomain or a look-alike (company.com.evil.net) is a different
    domain, and an address with two "@" has none."""
    if not identity.subject:
        return REFUSED_NO_SUBJECT
    if not identity.email_domain:
        return REFUSED_NO_EMAIL
    if identity.email_domain not in {normalize_domain(d) for d in allowed_domains} - {""}:
        return REFUSED_EMAIL_DOMAIN
    if not identity.email_verified:
        return REFUSED_EMAIL_UNVERIFIED
    return None
