"""Input binding shared by the tools: the request body, text fields, marks, templates.

Text is cleaned by `config.text.clean_text`, the one input-cleaning function: NUL and
other control characters are dropped, and text that is not valid Unicode (undecodable
UTF-8, a lone surrogate from a JSON body) is refused with a sentence, on every page,
Chat included (a value with U+FFFD in the middle is not what the employee wrote, and
a name cut that way could slip past the policy). Each tool's own form is in its folder.

The page JavaScript posts JSON; plain form posts work too (tests, no-JS fallbacks).
JSON is used for the text-carrying posts because of request size: Django's CSRF
middleware reads a form-encoded body before any view runs, so a body over
DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) would become a bare "400 Bad Request" page. A JSON
body is read only here, where "too large" becomes a sentence naming the limit.
"""

from __future__ import annotations

from typing import Any, TypeGuard
from urllib.parse import unquote_to_bytes

from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from config.safejson import JSONTooDeep, loads_bounded
from config.text import InvalidText, clean_text, decode_text
from prompting.errors import InputRejected
from prompting.models import PromptTemplate, Tool

MAX_OVERRIDES = 200
MAX_REASON_CHARS = 500


class TooLarge(InputRejected):
    status = 413
    code = "too_large"


def too_large_message() -> str:
    return (
        f"The text is too large to send: the limit is {settings.MAX_PROMPT_CHARS:,} characters. "
        "Shorten it, or use Summarize for long documents."
    )


def request_data(request: HttpRequest) -> dict[str, Any]:
    """The posted fields as a dict, from JSON or a form. A body that is not UTF-8 is
    refused with a sentence (config/text.py), a form's as well as JSON's: Django would
    otherwise decode a form's bad bytes to U+FFFD before anyone could see them."""
    try:
        if request.content_type == "application/json":
            data = _parse_json(_decoded(request.body))
            if not isinstance(data, dict):
                raise InputRejected("The request could not be read; reload the page.")
            return data
        if request.content_type == "application/x-www-form-urlencoded":
            _decoded(unquote_to_bytes(request.body.replace(b"+", b" ")))
        return {key: request.POST.get(key) for key in request.POST}
    except RequestDataTooBig:
        raise TooLarge(too_large_message()) from None


def _decoded(body: bytes) -> str:
    try:
        return decode_text(body)
    except InvalidText as exc:
        raise InputRejected(exc.user_message, code="invalid_text") from None


def _parse_json(raw: str) -> Any:
    try:
        return loads_bounded(raw) if raw.strip() else {}
    except JSONTooDeep as exc:
        raise InputRejected(str(exc), code="too_deep") from None
    except ValueError:
        raise InputRejected("The request could not be read; reload the page.") from None


def _cleaned(value: str) -> str:
    try:
        return clean_text(value)
    except InvalidText as exc:
        raise forms.ValidationError(exc.user_message, code="invalid_text") from None


class TextField(forms.CharField):
    """A CharField that keeps whitespace, cleaned by config.text.clean_text."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        return _cleaned(super().to_python(value) or "")


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class OverridesField(forms.Field):
    """False-positive marks: [{"entity_type", "start", "end", "reason"}], a list or JSON."""

    def to_python(self, value: Any) -> list[dict[str, Any]]:
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            try:
                value = loads_bounded(value)
            except ValueError:
                raise forms.ValidationError("The marks could not be read.") from None
        if not isinstance(value, list) or len(value) > MAX_OVERRIDES:
            raise forms.ValidationError("The marks could not be read.")
        return [self._one(item) for item in value]

    @staticmethod
    def _one(item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise forms.ValidationError("The marks could not be read.")
        entity_type, start, end = item.get("entity_type"), item.get("start"), item.get("end")
        reason = _cleaned(" ".join(str(item.get("reason") or "").split()))[:MAX_REASON_CHARS]
        if not isinstance(entity_type, str) or not entity_type or len(entity_type) > 50:
            raise forms.ValidationError("The marks could not be read.")
        if not _is_int(start) or not _is_int(end) or not 0 <= start < end:
            raise forms.ValidationError("The marks could not be read.")
        if not reason:
            raise forms.ValidationError(
                "Say why each value you marked is not personal data (a few words)."
            )
        return {"entity_type": entity_type, "start": start, "end": end, "reason": reason}


class BoundForm(forms.Form):
    def cleaned_or_raise(self) -> dict[str, Any]:
        """cleaned_data, or InputRejected with the first error as the sentence."""
        if not self.is_valid():
            first = next(iter(self.errors.values()))[0]
            raise InputRejected(str(first))
        return self.cleaned_data


class RenameForm(BoundForm):
    title = TextField(max_length=200, strip=True)


class FeedbackForm(BoundForm):
    rating = forms.TypedChoiceField(
        choices=[("1", "Thumbs up"), ("-1", "Thumbs down")],
        coerce=int,
        error_messages={
            "required": "Choose thumbs up or thumbs down.",
            "invalid_choice": "Choose thumbs up or thumbs down.",
        },
    )
    comment = TextField(max_length=2000, strip=True)


class PromptTemplateForm(BoundForm):
    title = TextField(
        max_length=120,
        strip=True,
        required=True,
        error_messages={"required": "Give the template a title."},
    )
    tool = forms.ChoiceField(choices=[(Tool.CHAT, "Chat"), (Tool.REWRITE, "Rewrite")])
    body = TextField(
        max_length=20_000,
        required=True,
        error_messages={"required": "A template needs some text."},
    )
    shared = forms.BooleanField(required=False)  # the Admins' "Share with everyone", as before
    audience = forms.ChoiceField(
        choices=PromptTemplate.Audience.choices,
        required=False,
        error_messages={"invalid_choice": "Choose who can use the template."},
    )
