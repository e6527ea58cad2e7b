"""Canonical audit action names. Import these instead of spelling strings.

Naming: `<area>.<verb in the past>`; the reviewer filters and totals depend on
these exact values, so a typo would silently drop events from a report.

Totals (audit/selectors.py) count:
- requests = `prompt.submitted` whose decision is not "block" + `prompt.blocked`
  (so a blocked prompt counts once whether or not it also has a submitted event);
- blocked  = `prompt.blocked`;
- tokens and cost = the denormalized columns of `generation.finished`.
"""

from __future__ import annotations

from typing import Final

PROMPT_SUBMITTED: Final = "prompt.submitted"
PROMPT_BLOCKED: Final = "prompt.blocked"
# Refused before the policy ran (empty, too long, unreadable); not counted as a request.
PROMPT_REJECTED: Final = "prompt.rejected"
DOCUMENT_REJECTED: Final = "document.rejected"
POLICY_PREVIEWED: Final = "policy.previewed"
CONVERSATION_DELETED: Final = "conversation.deleted"
GENERATION_FINISHED: Final = "generation.finished"
POLICY_OVERRIDE: Final = "policy.override"
POLICY_CHANGED: Final = "policy.changed"
MODELS_ALLOWLIST_CHANGED: Final = "models.allowlist_changed"
ACCOUNT_SIGN_IN: Final = "account.sign_in"
ACCOUNT_SIGN_OUT: Final = "account.sign_out"
ACCOUNT_SIGN_IN_REFUSED: Final = "account.sign_in_refused"
ACCOUNT_ROLE_CHANGE: Final = "account.role_change"
AUDIT_VIEWED: Final = "audit.viewed"
AUDIT_EXPORTED: Final = "audit.exported"
AUDIT_CHECKPOINT: Final = "audit.checkpoint"
RETENTION_PURGED: Final = "retention.purged"

ALL_ACTIONS: Final = (
    PROMPT_SUBMITTED,
    PROMPT_BLOCKED,
    PROMPT_REJECTED,
    DOCUMENT_REJECTED,
    POLICY_PREVIEWED,
    CONVERSATION_DELETED,
    GENERATION_FINISHED,
    POLICY_OVERRIDE,
    POLICY_CHANGED,
    MODELS_ALLOWLIST_CHANGED,
    ACCOUNT_SIGN_IN,
    ACCOUNT_SIGN_OUT,
    ACCOUNT_SIGN_IN_REFUSED,
    ACCOUNT_ROLE_CHANGE,
    AUDIT_VIEWED,
    AUDIT_EXPORTED,
    AUDIT_CHECKPOINT,
    RETENTION_PURGED,
)

# Outcomes used across actions; free strings are allowed, these are the filter's choices.
OUTCOMES: Final = (
    "ok", "blocked", "rejected", "done", "failed", "interrupted", "cancelled", "refused",
)  # fmt: skip
DECISIONS: Final = ("allow", "pseudonymize", "redact", "block")
