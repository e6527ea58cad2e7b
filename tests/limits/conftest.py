"""Helpers for the limits tests: real Redis (the test suite's embedded server), the
Django test client, and overrides made the way the admin makes them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from limits.models import LimitOverride
from prompting.models import Run


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send_json(client: Client, text: str = "Hello there", url: str = "/chat/send") -> Any:
    return client.post(url, json.dumps({"text": text}), content_type="application/json")


def override(user: Any = None, department: str = "", **values: Any) -> LimitOverride:
    if user is not None:
        return LimitOverride.objects.create(scope="user", user=user, **values)
    return LimitOverride.objects.create(scope="department", department=department, **values)


def runs_of(user: Any) -> int:
    return Run.objects.filter(owner=user).count()


@pytest.fixture
def roomy(settings: Any) -> Iterator[None]:
    """Defaults that never refuse, so a test sees only the limit it sets."""
    from limits import policy

    settings.LIMITS_USER_DEFAULTS = {}
    settings.LIMITS_DEPARTMENT_DEFAULTS = {}
    policy.user_defaults.cache_clear()
    policy.department_defaults.cache_clear()
    yield
    policy.user_defaults.cache_clear()
    policy.department_defaults.cache_clear()
