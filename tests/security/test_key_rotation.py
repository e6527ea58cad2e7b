"""Every key can be rotated without losing data (issue 15): PSEUDONYM_KEY through
MultiFernet (the first key encrypts, all decrypt) and `rotate_pseudonym_key`."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings

from prompting import services
from prompting.crypto import decrypt_mapping, encrypt_mapping
from prompting.models import Conversation
from prompting.policy.pseudonymizer import PseudonymMap

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def stored(owner: Any, name: str) -> Conversation:
    mapping = PseudonymMap()
    mapping.placeholder_for("PERSON", name)
    conversation = services.conversation_create(owner=owner)
    Conversation.objects.filter(pk=conversation.pk).update(
        pseudonym_map_encrypted=encrypt_mapping(mapping)
    )
    conversation.refresh_from_db()
    return conversation


def value_of(conversation: Conversation) -> str | None:
    conversation.refresh_from_db()
    return decrypt_mapping(conversation.pseudonym_map_encrypted).original_of("<PERSON_1>")


def test_rotation_keeps_every_mapping_readable(alice: Any) -> None:
    with override_settings(PSEUDONYM_KEY=OLD):
        first = stored(alice, "Maria Gonzalez")
        second = stored(alice, "John Smith")
    # Without the old key nothing is readable: the failure this fixes.
    with override_settings(PSEUDONYM_KEY=NEW), pytest.raises(ImproperlyConfigured):
        value_of(first)
    with override_settings(PSEUDONYM_KEY=f"{NEW},{OLD}"):
        assert value_of(first) == "Maria Gonzalez"  # old mappings still read
        out = StringIO()
        call_command("rotate_pseudonym_key", stdout=out)
        assert "Re-encrypted 2 pseudonym mappings" in out.getvalue()
        third = stored(alice, "Ana Lima")  # new ones use the first key
    with override_settings(PSEUDONYM_KEY=NEW):  # the old key removed
        assert value_of(first) == "Maria Gonzalez"
        assert value_of(second) == "John Smith"
        assert value_of(third) == "Ana Lima"


def test_a_mapping_no_key_reads_is_reported_not_lost(alice: Any) -> None:
    with override_settings(PSEUDONYM_KEY=OLD):
        conversation = stored(alice, "Maria Gonzalez")
        before = bytes(conversation.pseudonym_map_encrypted)
    err = StringIO()
    with override_settings(PSEUDONYM_KEY=NEW), pytest.raises(CommandError, match="keep"):
        call_command("rotate_pseudonym_key", stderr=err, stdout=StringIO())
    assert f"conversation {conversation.pk}" in err.getvalue()
    conversation.refresh_from_db()
    assert bytes(conversation.pseudonym_map_encrypted) == before  # untouched
