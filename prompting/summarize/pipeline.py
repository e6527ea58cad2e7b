"""Summarize: from a ready document to one summary. Services for the web and the workers.

The path of a summary (docs/summarize.md):

1. Documents (documents.py): an upload is extracted by a worker; a paste is ready at once.
2. `summary_estimate` (selectors.py): tokens, parts and the most it can cost, before
   anything runs.
3. `summary_start` (web): one summarize conversation (it holds the pseudonym mapping), a
   parent run, and one run per part when the document is longer than one part.
4. `summary_judge_parts` (cpu worker, task summary_policy_step): all parts through the
   policy in one batched pass with ONE mapping; a single blocked part blocks the whole
   summary. Allowed parts go to generation (interactive worker) in parallel.
5. Each ended part queues `summary_part_finished` (task; lifecycle queues it when a part
   ends): progress on the parent's stream; the last part queues `summary_reduce`.
6. `summary_reduce_prepare` (cpu worker) gives the parent run the part summaries as its
   message; the parent is judged (`judging.run_judge`) and generated like any run. Its
   `source_sections` say which sections fed the result.

A short document skips steps 5 and 6: the parent run itself is the only call.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from limits.services import admission
from prompting.errors import InputRejected, NotFound
from prompting.llm.models import ModelSpec, cost_usd
from prompting.models import Document, Message, Run, Tool
from prompting.policy import Judgement
from prompting.runs import dispatch, judging, lifecycle, relay
from prompting.runs.services import run_cancel
from prompting.selectors import model_get, run_get_for_user
from prompting.summarize import options
from prompting.summarize.documents import conversation_for_document
from prompting.summarize.options import part_label
from prompting.summarize.parts import Part
from prompting.summarize.selectors import (
    calls_tokens,
    document_get_for_user,
    document_parts,
    length_cap,
)

# Policy analysis of a whole document (a 300-page PDF: ~10 s on one core).
POLICY_TIMEOUT_S = 240.0
PART_STATUS_FAILED = (
    Run.Status.FAILED,
    Run.Status.BLOCKED,
    Run.Status.INTERRUPTED,
    Run.Status.CANCELLED,
)


def summary_start(*, user: Any, document_id: Any, model_id: str, length: str, style: str) -> Run:
    """Create the summary's conversation and runs; the policy step is queued on commit.
    The estimate is reserved against the budgets before anything is created (limits/):
    a refusal creates nothing and is recorded."""
    plan = _summary_plan(
        user=user, document_id=document_id, model_id=model_id, length=length, style=style
    )
    input_tokens, output_tokens = calls_tokens(plan.parts, plan.out)
    with (
        admission(
            user=user,
            tool=Tool.SUMMARIZE,
            reserve_tokens=input_tokens + output_tokens,
            reserve_usd=cost_usd(plan.spec, input_tokens, output_tokens),
        ) as parent_id,
        transaction.atomic(),
    ):
        return _summary_create(user=user, plan=plan, parent_id=parent_id)


@dataclass(frozen=True)
class _SummaryPlan:
    """What a summary will be, decided (and checked) before anything is created."""

    document: Document
    spec: ModelSpec
    out: int
    parts: list[Part]
    instructions: str


def _summary_plan(
    *, user: Any, document_id: Any, model_id: str, length: str, style: str
) -> _SummaryPlan:
    document = document_get_for_user(user=user, document_id=document_id)
    if document.status != Document.Status.READY:
        raise InputRejected(document.error_message or "The document is not ready yet.")
    if style not in options.STYLES:
        raise InputRejected("Choose a style: bullet points, executive summary or action items.")
    out = length_cap(length)
    spec = model_get(model_id)
    parts, _budget = document_parts(document, spec, out)
    return _SummaryPlan(
        document=document,
        spec=spec,
        out=out,
        parts=parts,
        instructions=options.instructions(length, style),
    )


def _summary_create(*, user: Any, plan: _SummaryPlan, parent_id: Any) -> Run:
    document, spec, out, parts = plan.document, plan.spec, plan.out, plan.parts
    conversation = document.conversation or conversation_for_document(
        user=user, title=document.filename or document.text
    )
    conversation.model_id = spec.id
    conversation.save(update_fields=["model_id", "updated_at"])
    if document.conversation_id != conversation.pk:
        document.conversation = conversation
        document.save(update_fields=["conversation"])
    instructions = plan.instructions
    titles = {p.index: _source_titles(document, p) for p in parts}
    all_titles = [t for p in parts for t in titles[p.index]]
    # The parent (the combining run, or the only one) and its parts share these.
    summary_run = functools.partial(
        Run.objects.create,
        owner=user,
        conversation=conversation,
        tool=Tool.SUMMARIZE,
        model_id=spec.id,
        document=document,
        max_output_tokens=out,
    )
    parent = summary_run(
        id=parent_id,
        source_sections=list(dict.fromkeys(all_titles)),
        system_prompt=(
            f"You summarize a document for an employee. {instructions}"
            if len(parts) == 1
            else "You combine the summaries of the parts of one document into one summary. "
            f"Do not mention the parts. {instructions}"
        ),
    )
    if len(parts) == 1:
        parent.user_message = Message.objects.create(
            conversation=conversation, role=Message.Role.USER, content=parts[0].text
        )
        parent.save(update_fields=["user_message"])
    else:
        for part in parts:
            summary_run(
                parent=parent,
                part_index=part.index,
                source_sections=titles[part.index],
                user_message=Message.objects.create(
                    conversation=conversation, role=Message.Role.USER, content=part.text
                ),
                # Numbers only: section titles are document text (a heading can hold a
                # name) and the system prompt does not go through the policy.
                system_prompt=(
                    f"You summarize part {part.index + 1} of {len(parts)} of a longer "
                    "document, for an employee; your summary will be combined with the "
                    f"others. {instructions}"
                ),
            )
    dispatch.dispatch(dispatch.SUMMARY_POLICY_STEP, str(parent.pk))
    return parent


def _source_titles(document: Document, part: Part) -> list[str]:
    """What a part covered, for "which sections fed it". A text without headings or
    pages has only the implicit "Beginning" section: name the character range instead."""
    if [s["title"] for s in document.sections] in ([], ["Beginning"]):
        return [f"Characters {part.start + 1:,}\u2013{part.end:,}"]
    return list(part.section_titles)


def summary_judge_parts(*, parent_id: Any) -> list[str]:
    """All parts through the policy in one batched pass with ONE mapping (judging.py);
    one blocked part blocks the whole summary, naming the part. Returns the ids of the
    runs that may now be generated."""
    parent = Run.objects.select_related("conversation", "owner", "user_message").get(pk=parent_id)
    parts = list(parent.parts.select_related("user_message", "owner").order_by("part_index"))

    def block_message(run: Run, judgement: Judgement) -> str:
        where = (
            part_label(run.part_index or 0, len(parts), run.source_sections) + ": " if parts else ""
        )
        return (
            f"{where}{judgement.user_message} The whole summary was stopped; "
            "nothing was sent to the model."
        )

    allowed = judging.runs_judge_together(
        target=parent, parts=parts, block_message=block_message, timeout_s=POLICY_TIMEOUT_S
    )
    if allowed and parts:
        relay.relay_append(parent.pk, "progress", {"done": 0, "total": len(parts)})
    return allowed


def summary_part_finished(*, part_id: Any) -> None:
    """A part ended (any outcome; queued by lifecycle when it ends): report progress; a
    failed part ends the summary, the last one to finish queues the combining step."""
    part = Run.objects.only("parent_id").get(pk=part_id)
    if part.parent_id is None:
        return
    with transaction.atomic():
        # The lock makes concurrent part endings take turns over the counts.
        parent = Run.objects.select_for_update().get(pk=part.parent_id)
        if parent.is_final or parent.user_message_id is not None:
            return
        parts = list(parent.parts.order_by("part_index"))
    total = len(parts)
    done = sum(1 for p in parts if p.status == Run.Status.DONE)
    relay.relay_append(parent.pk, "progress", {"done": done, "total": total})
    failed = next((p for p in parts if p.status in PART_STATUS_FAILED), None)
    if failed is not None:
        for other in parts:
            if other.status in lifecycle.ACTIVE:
                Run.objects.filter(pk=other.pk).update(cancel_requested=True)
                relay.cancel_request(other.pk)
        cancelled = failed.status == Run.Status.CANCELLED or parent.cancel_requested
        label = part_label(failed.part_index or 0, total, failed.source_sections)
        lifecycle.run_end_waiting(
            run_id=parent.pk,
            status=Run.Status.CANCELLED if cancelled else Run.Status.FAILED,
            error_code="cancelled" if cancelled else "part_failed",
            error_message=(
                "The summary was stopped."
                if cancelled
                else f"{label} could not be summarized: {failed.error_message} "
                "Nothing else was combined; you can start the summary again."
            ),
        )
        return
    if done == total:
        dispatch.dispatch(dispatch.SUMMARY_REDUCE, str(parent.pk))


def summary_reduce_prepare(*, parent_id: Any) -> bool:
    """Give the parent run the part summaries (as the model wrote them, with placeholders)
    as its message. True if this call did it (a duplicate delivery returns False)."""
    parent = Run.objects.get(pk=parent_id)
    parts = list(parent.parts.select_related("assistant_message").order_by("part_index"))
    if parent.user_message_id is not None or parent.is_final:
        return False
    if not parts or any(p.status != Run.Status.DONE for p in parts):
        return False
    blocks = []
    for p in parts:
        label = part_label(p.part_index or 0, len(parts), p.source_sections)
        body = p.assistant_message.sanitized_content if p.assistant_message else ""
        blocks.append(f"## {label}\n\n{body.strip()}")
    message = Message.objects.create(
        conversation_id=parent.conversation_id,
        role=Message.Role.USER,
        content="Summaries of the parts, in document order:\n\n" + "\n\n".join(blocks),
    )
    claimed = Run.objects.filter(
        pk=parent.pk, user_message__isnull=True, status=Run.Status.QUEUED
    ).update(user_message=message)
    if not claimed:
        message.delete()
        return False
    relay.relay_append(
        parent.pk, "progress", {"done": len(parts), "total": len(parts), "combining": True}
    )
    return True


def summary_cancel(*, user: Any, run_id: Any) -> Run:
    """Stop a summary: its parts and the combining call."""
    parent = run_get_for_user(user=user, run_id=run_id)
    if parent.tool != Tool.SUMMARIZE or parent.parent_id is not None:
        raise NotFound("That summary")
    for part_id in parent.parts.filter(status__in=lifecycle.ACTIVE).values_list("pk", flat=True):
        run_cancel(user=user, run_id=part_id)
    return run_cancel(user=user, run_id=parent.pk)
