"""Pseudonym mappings are encrypted at rest with Fernet (PSEUDONYM_KEY)."""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from prompting.policy.pseudonymizer import PseudonymMap


@functools.cache
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        raise ImproperlyConfigured(
            "PSEUDONYM_KEY is malformed: it must be a Fernet key (32 url-safe base64 bytes)"
        ) from None


def encrypt_mapping(mapping: PseudonymMap) -> bytes:
    return _fernet(settings.PSEUDONYM_KEY).encrypt(mapping.to_json().encode())


def decrypt_mapping(token: bytes | memoryview | None) -> PseudonymMap:
    if not token:
        return PseudonymMap()
    try:
        plain = _fernet(settings.PSEUDONYM_KEY).decrypt(bytes(token))
    except InvalidToken:
        # A rotated or wrong key: fail loudly rather than restore nothing silently.
        raise ImproperlyConfigured(
            "The pseudonym mapping cannot be decrypted with PSEUDONYM_KEY"
        ) from None
    return PseudonymMap.from_json(plain)
