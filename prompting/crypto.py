"""Pseudonym mappings are encrypted at rest with Fernet (PSEUDONYM_KEY).

Rotation (docs/security.md): PSEUDONYM_KEY is one key or a comma-separated list. The
first key encrypts; every key in the list decrypts (cryptography's MultiFernet). To
rotate: put a new key first and keep the old ones after it, restart, run
`manage.py rotate_pseudonym_key` (re-encrypts every stored mapping with the first key),
then drop the old keys.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from prompting.policy.pseudonymizer import PseudonymMap


def key_list(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


@functools.cache
def _fernet(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in key_list(keys)])
    except ValueError:
        raise ImproperlyConfigured(
            "PSEUDONYM_KEY is malformed: each key must be a Fernet key (32 url-safe base64 bytes)"
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
            "The pseudonym mapping cannot be decrypted with PSEUDONYM_KEY (is the previous "
            "key still listed after the new one?)"
        ) from None
    return PseudonymMap.from_json(plain)


def reencrypt(token: bytes | memoryview) -> bytes:
    """The same mapping encrypted with the first key (raises InvalidToken if no key reads it)."""
    return _fernet(settings.PSEUDONYM_KEY).rotate(bytes(token))
