"""Writes shared by the tools: conversations, feedback on answers, prompt templates.

Runs are started, retried and stopped in `prompting/runs/services.py`; each tool's own
writes live in its folder (chat/, rewrite/, summarize/).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

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
    feedback, _ = Feedback.objects.update_or_create(
        message=message,
        defaults={"owner": user, "rating": rating, "comment": comment.strip()[:2000]},
    )
    return feedback


def _may_publish_shared(user: Any) -> bool:
    return user_has_role(user, ADMIN)


def prompt_template_create(
    *, user: Any, title: str, body: str, tool: str, shared: bool = False
) -> PromptTemplate:
    """A personal template, or a shared one when an Admin publishes it."""
    if shared and not _may_publish_shared(user):
        raise InputRejected("Only Admins can publish shared templates.", code="not_allowed")
    return PromptTemplate.objects.create(
        owner=user, title=title, body=body, tool=tool, shared=shared
    )


def prompt_template_update(
    *, user: Any, template_id: int, title: str, body: str, tool: str, shared: bool = False
) -> PromptTemplate:
    template = prompt_template_get_editable(user=user, template_id=template_id)
    if shared and not _may_publish_shared(user):
        raise InputRejected("Only Admins can publish shared templates.", code="not_allowed")
    template.title, template.body, template.tool, template.shared = title, body, tool, shared
    template.save()
    return template


def prompt_template_delete(*, user: Any, template_id: int) -> None:
    prompt_template_get_editable(user=user, template_id=template_id).delete()
