"""Prompt templates: personal, for one's department, or for everyone once an Admin approves;
offered in the Chat and Rewrite pickers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from prompting import services
from prompting.errors import InputRejected
from prompting.models import PromptTemplate

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_employee_creates_a_personal_template_seen_only_by_them(alice: Any, bob: Any) -> None:
    """A personal template appears on its owner's pages and pickers, not on Bob's."""
    response = client_for(alice).post(
        "/templates/new", {"title": "Late pickup", "tool": "chat", "body": "Apologise for {x}"}
    )
    assert response.status_code == 302
    template = PromptTemplate.objects.get()
    assert (template.owner, template.shared) == (alice, False)
    assert "Late pickup" in client_for(alice).get("/templates/").content.decode()
    assert [t.title for t in client_for(alice).get("/chat/").context["templates"]] == [
        "Late pickup"
    ]
    assert "Late pickup" not in client_for(bob).get("/templates/").content.decode()
    assert client_for(bob).get("/chat/").context["templates"] == []


def test_employee_cannot_publish_a_shared_template(alice: Any) -> None:
    """'shared' from a non-Admin is refused with a sentence, by the page and the service."""
    response = client_for(alice).post(
        "/templates/new", {"title": "Everyone", "tool": "chat", "body": "x", "shared": "on"}
    )
    assert response.status_code == 400
    assert "Only Admins can publish shared templates." in response.content.decode()
    assert not PromptTemplate.objects.exists()
    with pytest.raises(InputRejected):
        services.prompt_template_create(user=alice, title="t", body="b", tool="chat", shared=True)
    assert "Share with everyone" not in client_for(alice).get("/templates/").content.decode()


def test_admin_publishes_a_shared_template_everyone_can_use(admin_user: Any, bob: Any) -> None:
    """An Admin's shared rewrite template is offered in Bob's Rewrite picker, read-only."""
    client = client_for(admin_user)
    assert 'name="audience" value="everyone"' in client.get("/templates/").content.decode()
    client.post(
        "/templates/new",
        {
            "title": "Customer tone",
            "tool": "rewrite",
            "body": "Warm, short",
            "audience": "everyone",
        },
    )
    template = PromptTemplate.objects.get()
    assert template.shared is True
    rewrite_page = client_for(bob).get("/rewrite/")
    assert [t.title for t in rewrite_page.context["templates"]] == ["Customer tone"]
    assert "Customer tone (shared)" in rewrite_page.content.decode()
    assert client_for(bob).get("/chat/").context["templates"] == []
    assert client_for(bob).get(f"/templates/{template.pk}/edit").status_code == 404
    assert client_for(bob).post(f"/templates/{template.pk}/delete").status_code == 404
    assert PromptTemplate.objects.filter(pk=template.pk).exists()


def test_owner_edits_and_deletes(alice: Any) -> None:
    """The owner can edit (form pre-filled) and delete their template."""
    template = PromptTemplate.objects.create(owner=alice, title="Old", body="b", tool="chat")
    client = client_for(alice)
    edit_page = client.get(f"/templates/{template.pk}/edit").content.decode()
    assert 'value="Old"' in edit_page
    client.post(f"/templates/{template.pk}/edit", {"title": "New", "tool": "rewrite", "body": "c"})
    template.refresh_from_db()
    assert (template.title, template.tool, template.body) == ("New", "rewrite", "c")
    client.post(f"/templates/{template.pk}/delete")
    assert not PromptTemplate.objects.exists()


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        ({"title": "", "tool": "chat", "body": "b"}, "Give the template a title."),
        ({"title": "t", "tool": "chat", "body": ""}, "A template needs some text."),
        ({"title": "t", "tool": "summarize", "body": "b"}, "Select a valid choice."),
    ],
)
def test_invalid_template_is_a_sentence(alice: Any, data: dict[str, str], sentence: str) -> None:
    """Missing title or body, or an unknown tool: the form comes back with a sentence."""
    response = client_for(alice).post("/templates/new", data)
    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert not PromptTemplate.objects.exists()


def test_admin_may_edit_shared_but_not_others_personal(admin_user: Any, alice: Any) -> None:
    """Admins curate shared templates; a colleague's personal template stays private."""
    shared = PromptTemplate.objects.create(
        owner=alice, title="S", body="b", tool="chat", shared=True
    )
    personal = PromptTemplate.objects.create(owner=alice, title="P", body="b", tool="chat")
    client = client_for(admin_user)
    assert client.get(f"/templates/{shared.pk}/edit").status_code == 200
    assert client.get(f"/templates/{personal.pk}/edit").status_code == 404


def test_a_department_template_reaches_colleagues_only(alice: Any, bob: Any) -> None:
    """Alice (Support) shares with her department: Carol in Support gets it in her picker,
    read-only; Bob in Finance does not."""
    from tests.conftest import make_user

    carol = make_user("carol", department="Support")
    response = client_for(alice).post(
        "/templates/new",
        {"title": "Refund", "tool": "chat", "body": "Dear {{customer}}", "audience": "department"},
    )
    assert response.status_code == 302
    template = PromptTemplate.objects.get()
    assert (template.audience, template.shared) == ("department", False)
    chat = client_for(carol).get("/chat/")
    assert [t.title for t in chat.context["templates"]] == ["Refund"]
    assert "Refund (Support)" in chat.content.decode()
    page = client_for(carol).get("/templates/").content.decode()
    assert "From your department" in page and "Refund" in page
    assert client_for(carol).get(f"/templates/{template.pk}/edit").status_code == 404
    assert client_for(bob).get("/chat/").context["templates"] == []


def test_everyone_waits_for_an_admin_who_approves_or_declines(
    alice: Any, bob: Any, admin_user: Any
) -> None:
    """An employee's "Everyone" waits (Bob sees nothing); the Admin sees it under "Waiting
    for approval"; Approve publishes it to Bob; an edit by its owner takes it back to
    waiting; Decline leaves it with the owner's department. Moderation is Admins' only."""
    client_for(alice).post(
        "/templates/new",
        {"title": "Tone", "tool": "chat", "body": "Warm", "audience": "everyone"},
    )
    template = PromptTemplate.objects.get()
    assert (template.audience, template.shared) == ("everyone", False)
    assert client_for(bob).get("/chat/").context["templates"] == []
    assert "waiting for an Admin" in client_for(alice).get("/templates/").content.decode()
    admin_page = client_for(admin_user).get("/templates/")
    assert [t.title for t in admin_page.context["waiting"]] == ["Tone"]

    moderate = f"/templates/{template.pk}/moderate"
    assert client_for(alice).post(moderate, {"decision": "approve"}).status_code == 404
    assert client_for(admin_user).post(moderate, {"decision": "approve"}).status_code == 302
    template.refresh_from_db()
    assert template.shared is True
    assert [t.title for t in client_for(bob).get("/chat/").context["templates"]] == ["Tone"]

    client_for(alice).post(
        f"/templates/{template.pk}/edit",
        {"title": "Tone", "tool": "chat", "body": "Something else", "audience": "everyone"},
    )
    template.refresh_from_db()
    assert (template.shared, template.body) == (False, "Something else")
    assert client_for(bob).get("/chat/").context["templates"] == []

    assert client_for(admin_user).post(moderate, {"decision": "decline"}).status_code == 302
    template.refresh_from_db()
    assert (template.audience, template.shared) == ("department", False)
    assert client_for(admin_user).post(moderate, {"decision": "approve"}).status_code == 404


@pytest.mark.parametrize(
    ("audience", "message"),
    [("nobody", "Choose who can use the template."), ("\x00", "Choose who can use the template.")],
)
def test_a_bad_audience_is_a_sentence(alice: Any, audience: str, message: str) -> None:
    response = client_for(alice).post(
        "/templates/new", {"title": "t", "tool": "chat", "body": "b", "audience": audience}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PromptTemplate.objects.exists()


def test_no_department_means_no_department_sharing(db: None) -> None:
    from tests.conftest import make_user

    loner = make_user("lou", department="")
    with pytest.raises(InputRejected, match="no department"):
        services.prompt_template_create(
            user=loner, title="t", body="b", tool="chat", audience="department"
        )
