"""Conversation titles as their owner sees them.

A stored title is made from the *sanitized* first message (runs/services.py
`conversation_title_fill`), so lists, searches and the browser's tab title never hold a
value the policy replaced. On the owner's own pages the placeholders are restored with
the conversation's mapping (redacted values stay redacted: they are stored nowhere).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prompting.crypto import decrypt_mapping
from prompting.models import Conversation
from prompting.services import TITLE_AWAITS_TEXT, title_from


def owner_titles(conversations: Iterable[Any]) -> None:
    """Set `shown_title` on each conversation: its title with placeholders restored.
    One query for all the mappings (the list itself loads only a few columns)."""
    items = [c for c in conversations if "<" in (c.title or "")]
    for conversation in conversations:
        conversation.shown_title = conversation.title
    if not items:
        return
    mappings = dict(
        Conversation.objects.filter(pk__in=[c.pk for c in items]).values_list(
            "pk", "pseudonym_map_encrypted"
        )
    )
    for conversation in items:
        mapping = decrypt_mapping(mappings.get(conversation.pk))
        conversation.shown_title = mapping.restore(conversation.title)


def title_while_judging(conversation: Conversation, first_text: str) -> str:
    """What the sender's own page shows right after sending, before the policy step has
    made the stored title: their own words (never put in a tab title or stored)."""
    title = conversation.title
    if title and not title.endswith(TITLE_AWAITS_TEXT):
        return title
    return title + title_from(first_text)
