"""Chat's writes: a message in a new or an existing conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from limits.services import admission
from prompting.errors import NotFound
from prompting.models import Run, Tool
from prompting.runs.services import prompt_check, run_create
from prompting.selectors import conversation_get_for_user
from prompting.services import conversation_create, prompt_template_used


def chat_message_send(
    *,
    user: Any,
    text: str,
    conversation_id: int | None = None,
    model_id: str = "",
    overrides: Sequence[dict[str, Any]] = (),
    template_id: int | None = None,
) -> Run:
    """A message in an existing conversation, or the first one of a new conversation.

    One transaction: a message that is rejected (empty, too long, unknown model) leaves
    no empty conversation behind.
    """
    existing = None
    if conversation_id is not None:
        existing = conversation_get_for_user(user=user, conversation_id=conversation_id)
        if existing.tool != Tool.CHAT:
            raise NotFound("That conversation")
    prompt_check(
        user=user,
        text=text,
        model_id=model_id or (existing.model_id if existing else ""),
        tool=Tool.CHAT,
    )
    # Refused (a limit, or Redis down): nothing is created. Created: it has its slot.
    with admission(user=user, tool=Tool.CHAT) as run_id, transaction.atomic():
        conversation = existing or conversation_create(
            owner=user, tool=Tool.CHAT, model_id=model_id
        )
        run = run_create(
            user=user,
            conversation=conversation,
            text=text,
            model_id=model_id,
            overrides=overrides,
            run_id=run_id,
            new_conversation=existing is None,
        )
        prompt_template_used(user=user, template_id=template_id, tool=Tool.CHAT)
        return run
