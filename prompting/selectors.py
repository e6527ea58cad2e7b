"""Reads. Every lookup of a user's object is scoped to its owner: another user's id is a 404."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.roles import ADMIN, user_has_role
from prompting.errors import ModelNotAvailable, NotFound
from prompting.llm.models import (
    DEFAULT_MODELS,
    ModelNotAllowed,
    ModelSpec,
    default_model,
    parse_model_allowlist,
    resolve_model,
)
from prompting.models import Conversation, PolicyVersion, PromptTemplate, Run
from prompting.policy import NameDirectory
from prompting.policy.rules import Policy, default_policy


@functools.cache
def _allowlist(raw_json: str) -> tuple[ModelSpec, ...]:
    raw = json.loads(raw_json)
    return tuple(parse_model_allowlist(raw)) if raw is not None else tuple(DEFAULT_MODELS)


def model_allowlist() -> tuple[ModelSpec, ...]:
    return _allowlist(json.dumps(settings.LLM_MODELS))


def model_default() -> ModelSpec:
    return default_model(model_allowlist(), settings.LLM_DEFAULT_MODEL or None)


def model_get(model_id: str) -> ModelSpec:
    """The allowed model with this id, or ModelNotAvailable (never a silent fallback)."""
    try:
        return resolve_model(model_id, model_allowlist())
    except ModelNotAllowed:
        raise ModelNotAvailable("That model is not available in this tool.") from None


def policy_version_in_force() -> PolicyVersion:
    """The newest policy version; version 1 (the defaults) is created on first use."""
    current = PolicyVersion.objects.order_by("-version").first()
    if current is not None:
        return current
    try:
        with transaction.atomic():
            return PolicyVersion.objects.create(
                version=1, rules=default_policy(1).rules_to_json(), note="Default policy"
            )
    except IntegrityError:  # another process created it first
        return PolicyVersion.objects.get(version=1)


def policy_in_force() -> Policy:
    row = policy_version_in_force()
    return Policy.from_rules_json(version=row.version, rules=row.rules)


_known_people: tuple[float, NameDirectory] | None = None


def known_people() -> NameDirectory:
    """The directory of known people for the policy, read again at most every
    POLICY_KNOWN_PEOPLE_MAX_AGE_S per process: otherwise every judgement would read every
    employee's display name (2,000 rows for the company) and rebuild the directory."""
    global _known_people
    now = time.monotonic()
    max_age = settings.POLICY_KNOWN_PEOPLE_MAX_AGE_S
    if _known_people is not None and now - _known_people[0] < max_age:
        return _known_people[1]
    directory = NameDirectory.from_names(known_person_names())
    _known_people = (now, directory)
    return directory


def known_person_names() -> list[str]:
    """Display names of employees who have signed in: the policy's directory of people
    (prompting.policy.NameDirectory), found in any letter case."""
    return list(
        get_user_model()
        .objects.filter(last_login__isnull=False)
        .exclude(display_name="")
        .values_list("display_name", flat=True)
    )


def conversation_get_for_user(*, user: Any, conversation_id: int) -> Conversation:
    try:
        return Conversation.objects.get(pk=conversation_id, owner=user)
    except (Conversation.DoesNotExist, ValueError):
        raise NotFound("That conversation") from None


def run_get_for_user(*, user: Any, run_id: Any) -> Run:
    try:
        return Run.objects.select_related("conversation", "assistant_message").get(
            pk=run_id, owner=user
        )
    except (Run.DoesNotExist, ValueError, ValidationError):  # ValidationError: not a UUID
        raise NotFound("That answer") from None


def conversation_turns(*, conversation: Conversation) -> list[Run]:
    """The runs of a conversation in order, with their messages, for display."""
    return list(
        conversation.runs.select_related("user_message", "assistant_message").order_by("created_at")
    )


# -- Prompt templates (Chat and Rewrite offer them) ------------------------------------


def prompt_template_list_for_user(*, user: Any, tool: str | None = None) -> list[PromptTemplate]:
    """The user's own templates, their department's, and those published for everyone,
    shared first within a title."""
    visible = Q(owner=user) | Q(shared=True)
    department = getattr(user, "department", "")
    if department:
        visible |= Q(
            audience__in=(PromptTemplate.Audience.DEPARTMENT, PromptTemplate.Audience.EVERYONE),
            owner__department=department,
        )
    templates = PromptTemplate.objects.filter(visible).select_related("owner")
    if tool:
        templates = templates.filter(tool=tool)
    return list(templates.order_by("-shared", "title", "id"))


def prompt_template_waiting_for_approval() -> list[PromptTemplate]:
    """Templates their owners asked to share with everyone, for an Admin to moderate."""
    return list(
        PromptTemplate.objects.filter(audience=PromptTemplate.Audience.EVERYONE, shared=False)
        .select_related("owner")
        .order_by("created_at", "id")
    )


def prompt_template_get_editable(*, user: Any, template_id: int) -> PromptTemplate:
    """A template this user may change: their own, or a shared one if they are an Admin."""
    scope = Q(owner=user)
    if user_has_role(user, ADMIN):
        scope |= Q(shared=True)
    try:
        return PromptTemplate.objects.get(scope, pk=template_id)
    except (PromptTemplate.DoesNotExist, ValueError):
        raise NotFound("That template") from None
