"""Rewrite's form: the text, a preset or the employee's own instruction."""

from __future__ import annotations

from django import forms

from prompting.forms import BoundForm, OverridesField, TextField
from prompting.rewrite.presets import CUSTOM, MAX_INSTRUCTION_CHARS, PRESETS


class RewriteForm(BoundForm):
    text = TextField()
    preset = forms.ChoiceField(
        choices=[(p.key, p.label) for p in PRESETS] + [(CUSTOM, "Own instruction")],
        error_messages={
            "required": "Choose a preset or write an instruction.",
            "invalid_choice": "Choose a preset or write an instruction.",
        },
    )
    instruction = TextField(max_length=MAX_INSTRUCTION_CHARS, strip=True)
    model_id = TextField(max_length=200, strip=True)
    overrides = OverridesField(required=False)
