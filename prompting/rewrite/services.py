"""Rewrite's writes: one rewrite is one conversation (tool=rewrite) with one message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from config.text import InvalidText, clean_text
from limits.services import admission
from prompting.errors import InputRejected
from prompting.models import Run, Tool
from prompting.rewrite import presets
from prompting.runs.services import prompt_check, run_create
from prompting.services import TITLE_AWAITS_TEXT, conversation_create, prompt_template_used


def rewrite_message(*, text: str, preset: str, instruction: str) -> str:
    """The user message for a rewrite request, or InputRejected with the sentence: the
    same function composes what is sent and what the policy preview shows."""
    if preset != presets.CUSTOM and preset not in presets.PRESETS_BY_KEY:
        raise InputRejected("Choose a preset or write an instruction.")
    try:
        blank = not clean_text(text).strip()
    except InvalidText as exc:
        raise InputRejected(exc.user_message, code="invalid_text") from None
    if blank:
        raise InputRejected("Paste the text to rewrite first.", code="empty")
    if preset == presets.CUSTOM and not presets.normalize_instruction(instruction):
        raise InputRejected("Write an instruction, or choose a preset.", code="empty")
    return presets.compose_message(preset_key=preset, instruction=instruction, text=text)


def rewrite_create(
    *,
    user: Any,
    text: str,
    preset: str,
    instruction: str = "",
    model_id: str = "",
    overrides: Sequence[dict[str, Any]] = (),
    template_id: int | None = None,
) -> Run:
    """Preset instructions are ours and go in the system prompt; an employee's own
    instruction goes into the user message so the policy judges it (presets.py)."""
    message = rewrite_message(text=text, preset=preset, instruction=instruction)
    label = presets.PRESETS_BY_KEY[preset].label if preset != presets.CUSTOM else "Own instruction"
    prompt_check(user=user, text=message, model_id=model_id, tool=Tool.REWRITE)
    # Refused (a limit, or Redis down): nothing is created. Created: it has its slot.
    with admission(user=user, tool=Tool.REWRITE) as run_id, transaction.atomic():
        conversation = conversation_create(
            owner=user,
            tool=Tool.REWRITE,
            model_id=model_id,
            # The rest of the title comes from the sanitized text (conversation_title_fill);
            # an own instruction's message reads "Instruction: … Text: …" on its own.
            title=f"{label}{TITLE_AWAITS_TEXT}" if preset != presets.CUSTOM else "",
        )
        run = run_create(
            user=user,
            conversation=conversation,
            text=message,
            model_id=model_id,
            system_prompt=presets.system_prompt_for(preset),
            overrides=overrides,
            preset=preset,
            run_id=run_id,
            new_conversation=True,
        )
        prompt_template_used(user=user, template_id=template_id, tool=Tool.REWRITE)
        return run
