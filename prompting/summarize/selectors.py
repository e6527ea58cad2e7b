"""Reads for Summarize: a user's document, the estimate before running, the sources."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from prompting.errors import InputRejected, NotFound
from prompting.llm.models import ModelSpec, cost_usd, estimate_tokens
from prompting.models import Document, Run, Tool
from prompting.selectors import model_get
from prompting.summarize.extraction import Section
from prompting.summarize.options import LENGTHS
from prompting.summarize.parts import (
    PROMPT_OVERHEAD_TOKENS,
    Part,
    describe_sections,
    part_budget_tokens,
    split_into_parts,
)


def document_get_for_user(*, user: Any, document_id: Any) -> Document:
    try:
        return Document.objects.get(pk=int(document_id), owner=user)
    except (Document.DoesNotExist, ValueError, TypeError):
        raise NotFound("That document") from None


@dataclass(frozen=True)
class SummaryEstimate:
    tokens: int
    parts: int
    cost_usd: Decimal  # an upper bound: every answer at its full length
    model_label: str
    part_tokens: int
    reserve_tokens: int = 0  # input + output at most: reserved when the summary starts


def length_cap(length: str) -> int:
    """The output cap of a length, or a sentence for an unknown one."""
    if length not in LENGTHS:
        raise InputRejected("Choose a length: short, medium or long.")
    return LENGTHS[length].max_output_tokens


def document_parts(
    document: Document, spec: ModelSpec, output_tokens: int
) -> tuple[list[Part], int]:
    """The parts a summary of `document` has with this model, and the tokens per part."""
    budget = part_budget_tokens(
        spec,
        output_tokens=output_tokens,
        cap_tokens=settings.SUMMARY_PART_MAX_TOKENS,
        max_chars=settings.MAX_PROMPT_CHARS,
    )
    sections = [Section(**s) for s in document.sections]
    return split_into_parts(document.text, sections, max_chars=budget * 4), budget


def summary_estimate(*, document: Document, model_id: str, length: str) -> SummaryEstimate:
    """Size, number of parts and the most it can cost, from the text alone (no call)."""
    if document.status != Document.Status.READY:
        raise InputRejected("The document is not ready yet.")
    spec = model_get(model_id)
    out = length_cap(length)
    parts, budget = document_parts(document, spec, out)
    input_tokens, output_tokens = calls_tokens(parts, out)
    return SummaryEstimate(
        tokens=document.token_estimate or estimate_tokens(document.text),
        parts=len(parts),
        cost_usd=cost_usd(spec, input_tokens, output_tokens),
        model_label=spec.label,
        part_tokens=budget,
        reserve_tokens=input_tokens + output_tokens,
    )


def calls_tokens(parts: list[Part], output_tokens: int) -> tuple[int, int]:
    """The most input and output tokens a summary's calls can use: what the estimate
    shows, and what starting the summary reserves against the budgets (limits/)."""
    input_tokens = sum(estimate_tokens(p.text) + PROMPT_OVERHEAD_TOKENS for p in parts)
    total_output = output_tokens * len(parts)
    if len(parts) > 1:  # the combining call reads every part's summary
        input_tokens += output_tokens * len(parts) + PROMPT_OVERHEAD_TOKENS
        total_output += output_tokens
    return input_tokens, total_output


def summary_sources(run: Run) -> list[dict[str, Any]]:
    """Which sections fed the result: one entry per part (or one for a short document)."""
    parts = list(run.parts.order_by("part_index")) if run.pk else []
    if not parts:
        return [{"label": "Whole document", "sections": describe_sections(run.source_sections)}]
    return [
        {
            "label": f"Part {p.part_index + 1 if p.part_index is not None else '?'}",
            "sections": describe_sections(p.source_sections),
            "status": p.status,
        }
        for p in parts
    ]


HISTORY_LIMIT = 50


def summary_history(*, user: Any, limit: int = HISTORY_LIMIT) -> list[Run]:
    """The user's summaries, newest first (one query): the history beside Summarize."""
    runs = (
        Run.objects.filter(owner=user, tool=Tool.SUMMARIZE, parent__isnull=True)
        .select_related("document", "conversation")
        .only(
            "id",
            "status",
            "created_at",
            "document__filename",
            "conversation__title",
        )
        .order_by("-created_at")
    )
    return list(runs[:limit])


def summary_get_for_user(*, user: Any, run_id: Any) -> Run:
    """One of the user's summaries (a parent run); anything else is NotFound."""
    try:
        return Run.objects.select_related("document", "conversation", "assistant_message").get(
            pk=run_id, owner=user, tool=Tool.SUMMARIZE, parent__isnull=True
        )
    except (Run.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotFound("That summary") from None
