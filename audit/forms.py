"""The justification a reviewer gives before seeing sanitized content."""

from __future__ import annotations

from django import forms

from config.text import InvalidText, clean_text

REASON_MIN_CHARS = 10
REASON_MAX_CHARS = 500
REASON_HELP = (
    f"Say why you need the content (a ticket, a case, a question; at least "
    f"{REASON_MIN_CHARS} characters). It is recorded with your view."
)


class ContentReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason for viewing the content",
        help_text=REASON_HELP,
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Enter a reason to see the content.",
            "max_length": f"Keep the reason under {REASON_MAX_CHARS} characters.",
        },
    )

    def clean_reason(self) -> str:
        try:
            reason = " ".join(clean_text(self.cleaned_data["reason"]).split())
        except InvalidText as exc:
            raise forms.ValidationError(exc.user_message) from None
        if len(reason) < REASON_MIN_CHARS:
            raise forms.ValidationError(
                f"Enter a reason of at least {REASON_MIN_CHARS} characters to see the content."
            )
        return reason

    def refusal(self) -> str:
        """The sentence shown for an invalid reason (recorded with the refusal)."""
        return " ".join(str(e) for e in self.errors.get("reason", []))
