"""Forms for Summarize: what to summarize (a file or pasted text) and how."""

from __future__ import annotations

from typing import Any

from django import forms

from prompting.selectors import model_allowlist, model_default
from prompting.summarize.options import DEFAULT_LENGTH, DEFAULT_STYLE, LENGTHS, STYLES

LENGTH_CHOICES = [(key, length.label) for key, length in LENGTHS.items()]
STYLE_CHOICES = [(key, style.label) for key, style in STYLES.items()]


class DocumentForm(forms.Form):
    """A file, or pasted text. The page sends a paste as a file part named `paste`, which
    is not held to Django's in-memory form-field limit (DATA_UPLOAD_MAX_MEMORY_SIZE); a
    plain `text` field works too, within that limit."""

    file = forms.FileField(required=False, allow_empty_file=True)
    paste = forms.FileField(required=False, allow_empty_file=True)
    text = forms.CharField(required=False, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("file") and not data.get("paste") and not (data.get("text") or "").strip():
            raise forms.ValidationError("Choose a file or paste some text first.")
        return data


class SummaryOptionsForm(forms.Form):
    model = forms.ChoiceField(choices=[])
    length = forms.ChoiceField(choices=LENGTH_CHOICES, initial=DEFAULT_LENGTH)
    # Not needed for the estimate; summary_start refuses a missing style with a sentence.
    style = forms.ChoiceField(choices=STYLE_CHOICES, initial=DEFAULT_STYLE, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["model"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(spec.id, spec.label) for spec in model_allowlist()]
        field.initial = model_default().id


def first_error(form: forms.Form) -> str:
    """One sentence for the page: the first error of the form."""
    for errors in form.errors.values():
        return str(errors[0])
    return "Check the form and try again."
