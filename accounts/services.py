"""Writes for accounts: sign-in provisioning, role sync, sign-out. Each records its audit event."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from accounts.roles import ADMIN, ALL_ROLES, EMPLOYEE
from audit.services import audit_record


def user_roles_sync(*, user: User, roles: set[str], source: str) -> tuple[set[str], set[str]]:
    """Make the user's role groups exactly `roles` (plus Employee); record any change."""
    wanted = (set(roles) | {EMPLOYEE}) & set(ALL_ROLES)
    current = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
    added, removed = wanted - current, current - wanted
    with transaction.atomic():
        if added:
            user.groups.add(*Group.objects.filter(name__in=added))
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
                action="account.role_change",
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
        audit_record(actor=user, action="account.sign_in", target=user, details={"method": "dev"})
    return user


def user_sign_out(*, user: User) -> None:
    audit_record(actor=user, action="account.sign_out", target=user)
