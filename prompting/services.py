"""Writes shared by the tools: conversations, feedback on answers, prompt templates.

Runs are started, retried and stopped in `prompting/runs/services.py`; each tool's own
writes live in its folder (chat/, rewrite/, summarize/).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from accounts.roles import ADMIN, user_has_role
from audit.actions import Action
from audit.services import audit_record
from prompting.errors import InputRejected, NotFound
from prompting.models import Conversation, Feedback, Message, PromptTemplate, Tool
from prompting.selectors import (
    conversation_get_for_user,
    model_default,
    model_get,
    prompt_template_get_editable,
)


def conversation_create(
    *, owner: Any, tool: str = Tool.CHAT, model_id: str = "", title: str = ""
) -> Conversation:
    model = model_get(model_id) if model_id else None
    return Conversation.objects.create(
        owner=owner, tool=tool, model_id=(model or model_default()).id, title=title[:200]
    )


TITLE_LENGTH = 60


def title_from(text: str) -> str:
    """A conversation's title: its first message, on one line, shortened."""
    first_line = " ".join(text.split())
    return first_line[: TITLE_LENGTH - 1] + "…" if len(first_line) > TITLE_LENGTH else first_line


# A title ending so is a prefix waiting for the first judged message ("More formal: ");
# a title someone typed never does (rename collapses whitespace at both ends).
TITLE_AWAITS_TEXT = ": "


def conversation_title_fill(
    *, conversation: Conversation, sanitized: str, save: bool = True
) -> bool:
    """Give a conversation its title from the first message *as the policy sanitized it*
    (called by the policy step): a title is shown in lists, tab titles and searches, so
    it never holds a value the policy replaced. The owner's pages restore placeholders
    for display (`prompting.titles.owner_title`); the browser tab never does.
    True if the title changed; `save=False` leaves saving it to the caller."""
    title = conversation.title
    if (title and not title.endswith(TITLE_AWAITS_TEXT)) or not sanitized.strip():
        return False
    conversation.title = (title + title_from(sanitized))[:200]
    if save:
        conversation.save(update_fields=["title"])
    return True


def conversation_rename(*, user: Any, conversation_id: int, title: str) -> Conversation:
    conversation = conversation_get_for_user(user=user, conversation_id=conversation_id)
    title = " ".join(title.split())[:200]
    if not title:
        raise InputRejected("A title cannot be empty.")
    conversation.title = title
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, user: Any, conversation_id: int) -> None:
    conversation = conversation_get_for_user(user=user, conversation_id=conversation_id)
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.CONVERSATION_DELETED,
            target=conversation,
            details={"tool": conversation.tool},
        )
        # Messages, runs and the pseudonym mapping go with it (cascade).
        conversation.delete()


def feedback_set(*, user: Any, message_id: int, rating: int, comment: str = "") -> Feedback:
    try:
        message = Message.objects.get(
            pk=message_id, conversation__owner=user, role=Message.Role.ASSISTANT
        )
    except (Message.DoesNotExist, ValueError):
        raise NotFound("That answer") from None
    if rating not in (Feedback.Rating.UP, Feedback.Rating.DOWN):
        raise InputRejected("Choose thumbs up or thumbs down.")
    with transaction.atomic():
        previous = Feedback.objects.filter(message=message).values_list("rating", flat=True).first()
        feedback, _ = Feedback.objects.update_or_create(
            message=message,
            defaults={"owner": user, "rating": rating, "comment": comment.strip()[:2000]},
        )
        if previous != rating:
            # For insights' helpful ratio: tool and rating only, never the comment.
            names: dict[int, str] = {Feedback.Rating.UP: "up", Feedback.Rating.DOWN: "down"}
            audit_record(
                actor=user,
                action=Action.FEEDBACK_GIVEN,
                target=message,
                details={
                    "tool": message.conversation.tool,
                    "rating": names[rating],
                    "previous_rating": names.get(previous) if previous is not None else None,
                },
            )
    return feedback


def prompt_template_used(*, user: Any, template_id: int | None, tool: str) -> None:
    """Record that a message was sent with a template the user may use (for insights:
    shared ones are shown by name, personal ones only counted). An unknown id is ignored:
    the message itself is what matters."""
    if template_id is None:
        return
    template = (
        PromptTemplate.objects.filter(Q(owner=user) | Q(shared=True), tool=tool)
        .filter(pk=template_id)
        .first()
    )
    if template is None:
        return
    audit_record(
        actor=user,
        action=Action.TEMPLATE_USED,
        target=template,
        details={"tool": tool, "template_id": template.pk, "shared": template.shared},
    )


def _may_publish_shared(user: Any) -> bool:
    return user_has_role(user, ADMIN)


Audience = PromptTemplate.Audience


def _audience(*, user: Any, audience: str, shared: bool) -> tuple[str, bool]:
    """(audience, shared) to store. An Admin's "everyone" is published at once; anyone
    else's waits for an Admin's approval (shared stays False until then). The old
    `shared` checkbox means "everyone" and stays an Admin's alone."""
    if shared:
        if not _may_publish_shared(user):
            raise InputRejected("Only Admins can publish shared templates.", code="not_allowed")
        audience = Audience.EVERYONE
    audience = audience or Audience.PRIVATE
    if audience not in Audience.values:
        raise InputRejected("Choose who can use the template.")
    if audience == Audience.DEPARTMENT and not getattr(user, "department", ""):
        raise InputRejected(
            "Your account has no department, so the template cannot be shared with one."
        )
    return audience, audience == Audience.EVERYONE and _may_publish_shared(user)


def prompt_template_create(
    *,
    user: Any,
    title: str,
    body: str,
    tool: str,
    shared: bool = False,
    audience: str = "",
) -> PromptTemplate:
    """A template for its owner, their department, or everyone (after an Admin's approval
    unless an Admin made it)."""
    audience, shared = _audience(user=user, audience=audience, shared=shared)
    return PromptTemplate.objects.create(
        owner=user, title=title, body=body, tool=tool, shared=shared, audience=audience
    )


def prompt_template_update(
    *,
    user: Any,
    template_id: int,
    title: str,
    body: str,
    tool: str,
    shared: bool = False,
    audience: str = "",
) -> PromptTemplate:
    """An edit by a non-Admin takes a published template back to "waiting": what everyone
    sees is always what an Admin approved."""
    template = prompt_template_get_editable(user=user, template_id=template_id)
    audience, shared = _audience(user=user, audience=audience, shared=shared)
    template.title, template.body, template.tool = title, body, tool
    template.audience, template.shared = audience, shared
    template.save()
    return template


def prompt_template_moderate(*, user: Any, template_id: int, approve: bool) -> PromptTemplate:
    """An Admin approves a template for everyone, or declines (or withdraws) it: it then
    stays with its owner's department."""
    if not _may_publish_shared(user):
        raise NotFound("That template")
    try:
        template = PromptTemplate.objects.get(pk=template_id, audience=Audience.EVERYONE)
    except (PromptTemplate.DoesNotExist, ValueError):
        raise NotFound("That template") from None
    template.shared = approve
    if not approve:
        template.audience = Audience.DEPARTMENT
    template.save(update_fields=["shared", "audience"])
    return template


def prompt_template_delete(*, user: Any, template_id: int) -> None:
    prompt_template_get_editable(user=user, template_id=template_id).delete()
