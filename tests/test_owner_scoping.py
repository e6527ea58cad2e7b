"""Every object lookup is scoped to its owner: walking every route of the site with
another user's ids gives 404 — never 200, 403 (which would confirm it exists) or 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from prompting import services
from prompting.models import Document, Message, PromptTemplate, Run

pytestmark = pytest.mark.django_db

# Routes whose parameters do not name a user's object (or that are someone else's
# responsibility with their own tests: Django admin, allauth's provider callbacks).
# Insights holds no per-user objects: its ids are table names and months (role-scoped,
# tests/insights/test_views.py).
NOT_OWNER_SCOPED_PREFIXES = ("admin/", "accounts/", "audit/", "insights/")


VALID_FORM = {
    "rating": "1",
    "comment": "fine",
    "title": "A title",
    "body": "text",
    "text": "hello",
    "tool": "chat",
    "length": "short",
    "style": "bullets",
}


def walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(walk(entry.url_patterns, route))
        else:
            found.append((route, entry))
    return found


@pytest.fixture
def alices_objects(alice: Any) -> dict[str, str]:
    """One of each kind of object Alice owns, by the URL parameter that names it."""
    conversation = services.conversation_create(owner=alice)
    user_message = Message.objects.create(conversation=conversation, role="user", content="hi")
    answer = Message.objects.create(conversation=conversation, role="assistant", content="hello")
    run = Run.objects.create(
        owner=alice,
        conversation=conversation,
        user_message=user_message,
        assistant_message=answer,
        model_id=conversation.model_id,
        status=Run.Status.DONE,
    )
    document = Document.objects.create(owner=alice, conversation=conversation, text="x")
    template = PromptTemplate.objects.create(owner=alice, title="mine", body="text")
    return {
        "conversation_id": str(conversation.pk),
        "run_id": str(run.pk),
        "message_id": str(answer.pk),
        "document_id": str(document.pk),
        "template_id": str(template.pk),
    }


def test_every_route_with_an_object_id_is_404_for_another_user(
    alices_objects: dict[str, str], alice: Any, bob: Any
) -> None:
    """Bob gets 404 for Alice's objects on every route, with GET and with POST."""
    routes = [
        (route, pattern)
        for route, pattern in walk(get_resolver().url_patterns)
        if pattern.pattern.converters and not route.startswith(NOT_OWNER_SCOPED_PREFIXES)
    ]
    assert len(routes) >= 10, "the walker found suspiciously few routes"
    bob_client, alice_client = Client(), Client()
    bob_client.force_login(bob)
    alice_client.force_login(alice)
    checked = 0
    for route, pattern in routes:
        names = set(pattern.pattern.converters)
        unknown = names - alices_objects.keys()
        assert not unknown, f"{route}: teach this test which object {unknown} names"
        url = "/" + str(route)
        for name, value in alices_objects.items():
            url = url.replace(f"<int:{name}>", value).replace(f"<str:{name}>", value)
            url = url.replace(f"<uuid:{name}>", value).replace(f"<{name}>", value)
        for method in ("get", "post"):
            # Plausible form fields, so a route cannot answer 400 before it looks the id up.
            data = VALID_FORM if method == "post" else None
            response = getattr(bob_client, method)(url, data)
            if response.status_code == 405:
                continue  # this method is not served here; the other one is checked
            assert response.status_code == 404, f"{method.upper()} {url} → {response.status_code}"
            checked += 1
    assert checked >= len(routes)
