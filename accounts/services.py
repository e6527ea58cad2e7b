"""Writes for accounts: sign-in provisioning, role sync, sign-out. Each records its audit event."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from accounts.roles import ADMIN, ALL_ROLES, EMPLOYEE
from accounts.sso import SsoIdentity
from audit.actions import Action
from audit.services import audit_record


def user_roles_sync(*, user: User, roles: set[str], source: str) -> tuple[set[str], set[str]]:
    """Make the user's role groups exactly `roles` (plus Employee); record any change."""
    wanted = (set(roles) | {EMPLOYEE}) & set(ALL_ROLES)
    current = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
    added, removed = wanted - current, current - wanted
    with transaction.atomic():
        if added:
            # get_or_create: the groups come from a data migration, but a flushed
            # database (transactional tests, a restored dump) may lack them, and
            # a role must never be silently dropped for that.
            user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in added))
        if removed:
            user.groups.remove(*Group.objects.filter(name__in=removed))
        is_staff = ADMIN in wanted
        if user.is_staff != is_staff:
            # Django admin is the Admin role's policy and allowlist editor.
            user.is_staff = is_staff
            user.save(update_fields=["is_staff"])
        if added or removed:
            audit_record(
                actor=user,
                action=Action.ACCOUNT_ROLE_CHANGE,
                target=user,
                details={"added": sorted(added), "removed": sorted(removed), "source": source},
            )
    user._role_names = wanted  # type: ignore[attr-defined]
    return added, removed


def dev_user_sign_in(*, display_name: str, department: str, role: str) -> User:
    """Development sign-in only (DEBUG without SSO): find or create a user by name."""
    username = f"dev-{slugify(display_name) or 'user'}"
    with transaction.atomic():
        user, _created = User.objects.get_or_create(
            username=username,
            defaults={
                "display_name": display_name,
                "email": f"{username}@example.invalid",
                "department": department,
            },
        )
        if user.department != department or user.display_name != display_name:
            user.department, user.display_name = department, display_name
            user.save(update_fields=["department", "display_name"])
        roles = {role}
        if role == ADMIN:
            roles.add(EMPLOYEE)
        user_roles_sync(user=user, roles=roles, source="dev-login")
        audit_record(
            actor=user, action=Action.ACCOUNT_SIGN_IN, target=user, details={"method": "dev"}
        )
    return user


def user_sso_sign_in(*, user: User, identity: SsoIdentity, roles: set[str]) -> None:
    """Every SSO sign-in: the IdP is the source of truth, so the profile and the
    roles are made to match what it says now (a removed group removes the role)."""
    updates = {
        "sso_provider": identity.provider,
        "sso_subject": identity.subject,
        "email": identity.email,
        "first_name": identity.first_name or user.first_name,
        "last_name": identity.last_name or user.last_name,
        "display_name": identity.display_name or user.display_name,
        # Department is cleared when the IdP stops sending it: stale departments
        # would put people into the wrong rows of usage reports.
        "department": identity.department,
    }
    changed = [name for name, value in updates.items() if getattr(user, name) != value]
    with transaction.atomic():
        for name in changed:
            setattr(user, name, updates[name])
        if changed:
            user.save(update_fields=changed)
        user_roles_sync(user=user, roles=roles, source=f"sso-{identity.provider}")
        audit_record(
            actor=user,
            action=Action.ACCOUNT_SIGN_IN,
            target=user,
            details={"method": identity.provider},
        )


def sso_sign_in_refuse(*, identity: SsoIdentity, reason: str) -> None:
    """Record a refused sign-in. No actor (nobody signed in) and only the email
    domain: the audit log must not become a list of people who tried."""
    audit_record(
        actor=None,
        action=Action.ACCOUNT_SIGN_IN_REFUSED,
        outcome="refused",
        details={"reason": reason, "provider": identity.provider, "domain": identity.email_domain},
    )


def sso_sign_in_error(*, provider: str, error: str) -> None:
    """Record a sign-in that failed in the protocol (bad state, replayed code,
    invalid signature, cancelled at the IdP) before any identity was known."""
    audit_record(
        actor=None,
        action=Action.ACCOUNT_SIGN_IN_REFUSED,
        outcome="error",
        details={
            "reason": "protocol_error",
            "provider": "saml" if provider == "saml" else "oidc",
            "error": error or "unknown",
            "domain": "",
        },
    )


def user_sign_out(*, user: User) -> None:
    audit_record(actor=user, action=Action.ACCOUNT_SIGN_OUT, target=user)
