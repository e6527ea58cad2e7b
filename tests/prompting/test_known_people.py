"""The policy's directory of known people is read at most every
POLICY_KNOWN_PEOPLE_MAX_AGE_S per process, not once per judgement."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from prompting import selectors
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_directory(monkeypatch: Any) -> None:
    monkeypatch.setattr(selectors, "_known_people", None)


def signed_in(name: str) -> Any:
    user = make_user(name.split()[0].lower())
    user.display_name = name
    user.last_login = timezone.now()
    user.save()
    return user


def test_the_directory_is_reused_within_its_age(
    settings: Any, django_assert_num_queries: Any
) -> None:
    settings.POLICY_KNOWN_PEOPLE_MAX_AGE_S = 60
    signed_in("Olga Petrenko")
    first = selectors.known_people()
    signed_in("Kenji Watanabe")
    with django_assert_num_queries(0):
        again = selectors.known_people()
    assert again is first


def test_with_age_zero_every_call_reads_the_names(settings: Any) -> None:
    settings.POLICY_KNOWN_PEOPLE_MAX_AGE_S = 0
    signed_in("Olga Petrenko")
    first = selectors.known_people()
    signed_in("Kenji Watanabe")
    assert selectors.known_people() is not first
