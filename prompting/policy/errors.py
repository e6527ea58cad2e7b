"""Errors of the policy layer, each carrying one sentence that can be shown to the user.

The Django side translates these once (prompting/errors.py); messages never contain
any part of the analysed text, so they are safe for logs and the audit trail too.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base class. `code` is stable (for audit records), `user_message` is for people."""

    code = "policy_error"

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class InvalidPolicy(PolicyError):
    code = "invalid_policy"


class InvalidMapping(PolicyError):
    code = "invalid_mapping"


class TextTooLong(PolicyError):
    code = "text_too_long"

    def __init__(self, limit: int, length: int | None = None) -> None:
        self.limit = limit
        self.length = length
        super().__init__(
            f"The text is too long to check: the limit is {limit:,} characters"
            + (f" and it has {length:,}." if length is not None else ".")
            + " Please shorten it or split it into parts."
        )


class AnalysisFailed(PolicyError):
    code = "analysis_failed"

    def __init__(self, user_message: str | None = None) -> None:
        super().__init__(
            user_message
            or "The text could not be checked for personal data, so it was not sent. "
            "Please try again; if it keeps happening, contact the tool's admins."
        )


class AnalysisTimedOut(AnalysisFailed):
    code = "analysis_timed_out"

    def __init__(self) -> None:
        super().__init__(
            "Checking the text for personal data took too long, so it was not sent. "
            "Please try a shorter text."
        )
