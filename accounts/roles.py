"""The three roles, as Django groups created by a data migration."""

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
ALL_ROLES = (EMPLOYEE, COMPLIANCE_REVIEWER, ADMIN)


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


def role_required(role: str, *, hide: bool = False) -> Callable[[ViewFunc], ViewFunc]:
    """Refuse users without `role`: 403 page, or 404 when `hide` (the audit pages
    do not reveal that they exist)."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not user_has_role(request.user, role):
                if hide:
                    raise Http404
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
