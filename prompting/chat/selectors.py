"""Reads for the Chat and Rewrite pages: the sidebar and a conversation's turns."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from prompting.models import Conversation, Run, Tool


def conversation_list_for_user(
    *, user: Any, tool: str = Tool.CHAT, query: str = ""
) -> QuerySet[Conversation]:
    conversations = Conversation.objects.filter(owner=user, tool=tool)
    if query:
        conversations = conversations.filter(
            Q(title__icontains=query) | Q(messages__content__icontains=query)
        ).distinct()
    return conversations.order_by("-updated_at")


SIDEBAR_PAGE = 50


def conversation_sidebar(
    *, user: Any, tool: str = Tool.CHAT, query: str = "", page: int = 1
) -> tuple[list[Conversation], bool]:
    """One page of the user's conversations for the sidebar, newest first, and whether
    older ones exist. One query whatever the total: the page is capped (a user with
    thousands of conversations must not make every chat page slow)."""
    start = (max(page, 1) - 1) * SIDEBAR_PAGE
    rows = list(
        conversation_list_for_user(user=user, tool=tool, query=query).only(
            "id", "title", "updated_at", "tool"
        )[start : start + SIDEBAR_PAGE + 1]
    )
    return rows[:SIDEBAR_PAGE], len(rows) > SIDEBAR_PAGE


def conversation_runs_for_display(*, conversation: Conversation) -> list[Run]:
    """The latest attempt for each user message, in order, with answer and feedback.

    A retry is a new run for the same user message; the page shows the newest one.
    """
    runs = (
        conversation.runs.select_related(
            "user_message", "assistant_message", "assistant_message__feedback"
        )
        .filter(parent__isnull=True)
        .order_by("created_at")
    )
    latest: dict[int | None, Run] = {}
    for run in runs:
        latest[run.user_message_id] = run  # later attempts replace earlier ones, order kept
    return list(latest.values())
