"""Chat's form: a message, its conversation, model and false-positive marks."""

from __future__ import annotations

from django import forms

from prompting.forms import BoundForm, OverridesField, TextField


class ChatSendForm(BoundForm):
    text = TextField()
    conversation_id = forms.IntegerField(required=False, min_value=1)
    model_id = TextField(max_length=200, strip=True)
    overrides = OverridesField(required=False)
