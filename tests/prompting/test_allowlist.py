"""The model allowlist: only listed models are used, and a change is recorded."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from prompting import services
from prompting.allowlist import ACTION, allowlist_record_if_changed
from prompting.errors import ModelNotAvailable
from prompting.runs import services as run_services
from prompting.selectors import model_allowlist

pytestmark = pytest.mark.django_db

CUSTOM = [
    {
        "id": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "label": "Haiku",
        "input_price_per_mtok": "1",
        "output_price_per_mtok": "5",
        "context_window": 200000,
        "max_output_tokens": 4096,
        "default": True,
    }
]


def test_a_changed_allowlist_is_recorded_once(settings: Any) -> None:
    """Recording twice with the same allowlist writes one event; a change writes another."""
    before = AuditEvent.objects.filter(action=ACTION).count()
    allowlist_record_if_changed()
    allowlist_record_if_changed()
    after_first = AuditEvent.objects.filter(action=ACTION).count()
    assert after_first - before <= 1
    settings.LLM_MODELS = CUSTOM
    assert allowlist_record_if_changed() is True
    event = AuditEvent.objects.filter(action=ACTION).order_by("-id").first()
    assert event is not None
    assert event.details["new_models"] == [CUSTOM[0]["id"]]
    assert allowlist_record_if_changed() is False


def test_a_model_outside_the_allowlist_is_refused(settings: Any, alice: Any) -> None:
    """Asking for any model not on the list is refused with a sentence, nothing queued."""
    settings.LLM_MODELS = CUSTOM
    assert [m.id for m in model_allowlist()] == [CUSTOM[0]["id"]]
    conversation = services.conversation_create(owner=alice)
    with pytest.raises(ModelNotAvailable):
        run_services.run_create(
            user=alice, conversation=conversation, text="hi", model_id="anthropic.claude-v2"
        )
    with pytest.raises(ModelNotAvailable):
        services.conversation_create(owner=alice, model_id="meta.llama3")
