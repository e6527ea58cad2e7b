"""Canonical audit action names: `Action`, a StrEnum. `audit_record(action=...)` takes an
`Action`, so mypy rejects a bare string and a typo cannot silently drop events.

Naming: `<area>.<verb in the past>`; the reviewer filters and totals depend on
these exact values, so a typo would silently drop events from a report.

Totals (audit/selectors.py) count:
- requests = `prompt.submitted` whose decision is not "block" + `prompt.blocked`
  (so a blocked prompt counts once whether or not it also has a submitted event);
- blocked  = `prompt.blocked`;
- tokens and cost = the denormalized columns of `generation.finished`.
"""

from __future__ import annotations

from enum import StrEnum, unique
from typing import Final


@unique
class Action(StrEnum):
    PROMPT_SUBMITTED = "prompt.submitted"
    PROMPT_BLOCKED = "prompt.blocked"
    # Refused before the policy ran (empty, too long, unreadable); not counted as a request.
    PROMPT_REJECTED = "prompt.rejected"
    DOCUMENT_REJECTED = "document.rejected"
    POLICY_PREVIEWED = "policy.previewed"
    CONVERSATION_DELETED = "conversation.deleted"
    GENERATION_FINISHED = "generation.finished"
    POLICY_OVERRIDE = "policy.override"
    POLICY_CHANGED = "policy.changed"
    MODELS_ALLOWLIST_CHANGED = "models.allowlist_changed"
    ACCOUNT_SIGN_IN = "account.sign_in"
    ACCOUNT_SIGN_OUT = "account.sign_out"
    ACCOUNT_SIGN_IN_REFUSED = "account.sign_in_refused"
    ACCOUNT_ROLE_CHANGE = "account.role_change"
    AUDIT_VIEWED = "audit.viewed"
    AUDIT_EXPORTED = "audit.exported"
    # A reviewer opened an event's sanitized content, with the justification they gave.
    AUDIT_CONTENT_VIEWED = "audit.content_viewed"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    RETENTION_PURGED = "retention.purged"
    # Usage signals for insights (issue 14): ids, tool and rating only, never text.
    TEMPLATE_USED = "template.used"
    FEEDBACK_GIVEN = "feedback.given"
    # Insights viewers are audited like reviewers: every page, CSV and report download.
    INSIGHTS_VIEWED = "insights.viewed"
    INSIGHTS_EXPORTED = "insights.exported"
    INSIGHTS_REPORT_CREATED = "insights.report_created"
    INSIGHTS_REPORT_DOWNLOADED = "insights.report_downloaded"
    # An admin changed (or removed) an employee's or a department's limits.
    LIMITS_CHANGED = "limits.changed"
    # Usage CSV exports by admins (the usage page itself is not audited: it shows the
    # viewer's own figures, or to admins what insights already shows).
    USAGE_EXPORTED = "usage.exported"


# The members under their module-level names, as `actions.PROMPT_SUBMITTED` was spelled
# before the enum; the same objects, so either spelling type-checks.
PROMPT_SUBMITTED: Final = Action.PROMPT_SUBMITTED
PROMPT_BLOCKED: Final = Action.PROMPT_BLOCKED
PROMPT_REJECTED: Final = Action.PROMPT_REJECTED
DOCUMENT_REJECTED: Final = Action.DOCUMENT_REJECTED
POLICY_PREVIEWED: Final = Action.POLICY_PREVIEWED
CONVERSATION_DELETED: Final = Action.CONVERSATION_DELETED
GENERATION_FINISHED: Final = Action.GENERATION_FINISHED
POLICY_OVERRIDE: Final = Action.POLICY_OVERRIDE
POLICY_CHANGED: Final = Action.POLICY_CHANGED
MODELS_ALLOWLIST_CHANGED: Final = Action.MODELS_ALLOWLIST_CHANGED
ACCOUNT_SIGN_IN: Final = Action.ACCOUNT_SIGN_IN
ACCOUNT_SIGN_OUT: Final = Action.ACCOUNT_SIGN_OUT
ACCOUNT_SIGN_IN_REFUSED: Final = Action.ACCOUNT_SIGN_IN_REFUSED
ACCOUNT_ROLE_CHANGE: Final = Action.ACCOUNT_ROLE_CHANGE
AUDIT_VIEWED: Final = Action.AUDIT_VIEWED
AUDIT_EXPORTED: Final = Action.AUDIT_EXPORTED
AUDIT_CONTENT_VIEWED: Final = Action.AUDIT_CONTENT_VIEWED
AUDIT_CHECKPOINT: Final = Action.AUDIT_CHECKPOINT
RETENTION_PURGED: Final = Action.RETENTION_PURGED
TEMPLATE_USED: Final = Action.TEMPLATE_USED
FEEDBACK_GIVEN: Final = Action.FEEDBACK_GIVEN
INSIGHTS_VIEWED: Final = Action.INSIGHTS_VIEWED
INSIGHTS_EXPORTED: Final = Action.INSIGHTS_EXPORTED
INSIGHTS_REPORT_CREATED: Final = Action.INSIGHTS_REPORT_CREATED
INSIGHTS_REPORT_DOWNLOADED: Final = Action.INSIGHTS_REPORT_DOWNLOADED
LIMITS_CHANGED: Final = Action.LIMITS_CHANGED
USAGE_EXPORTED: Final = Action.USAGE_EXPORTED

ALL_ACTIONS: Final = tuple(Action)

# Outcomes used across actions; free strings are allowed, these are the filter's choices.
OUTCOMES: Final = (
    "ok", "blocked", "rejected", "done", "failed", "interrupted", "cancelled", "refused",
)  # fmt: skip
DECISIONS: Final = ("allow", "pseudonymize", "redact", "block")
