"""The roles, as Django groups created by data migrations."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

EMPLOYEE = "Employee"
COMPLIANCE_REVIEWER = "Compliance reviewer"
ADMIN = "Admin"
# Sees aggregate usage (/insights/, the monthly report) but not the audit log.
INSIGHTS_VIEWER = "Insights viewer"
ALL_ROLES = (EMPLOYEE, COMPLIANCE_REVIEWER, ADMIN, INSIGHTS_VIEWER)
# Who may open insights: its own role, and the people who oversee the tool anyway.
INSIGHTS_ROLES = (INSIGHTS_VIEWER, ADMIN, COMPLIANCE_REVIEWER)


def user_roles(user: Any) -> set[str]:
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return set(cached)


def user_has_role(user: Any, role: str) -> bool:
    return role in user_roles(user)


ViewFunc = Callable[..., HttpResponse]


def user_has_any_role(user: Any, roles: tuple[str, ...]) -> bool:
    return bool(user_roles(user) & set(roles))


def role_required(
    role: str | tuple[str, ...], *, hide: bool = False
) -> Callable[[ViewFunc], ViewFunc]:
    """Refuse users without `role` (or any of several): 403 page, or 404 when `hide`
    (the audit and insights pages do not reveal that they exist)."""
    roles = (role,) if isinstance(role, str) else role

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not user_has_any_role(request.user, roles):
                if hide:
                    raise Http404
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
