"""Ed25519 keys for audit checkpoints (no Django here: settings import it).

The application signs with the private key (AUDIT_SIGNING_KEY); anyone with the
public key verifies, and nobody without the private key can forge. Keys travel as
the base64 of their 32 raw bytes; a key is named by its id, the first 16 hex
digits of SHA-256 of the raw public key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_RAW = serialization.Encoding.Raw


def _raw32(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"{what} must be the base64 of 32 bytes")
    return raw


@functools.lru_cache(maxsize=8)
def private_key(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_raw32(text, "an Ed25519 private key"))


@functools.lru_cache(maxsize=64)
def public_key(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_raw32(text, "an Ed25519 public key"))


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(public.public_bytes(_RAW, serialization.PublicFormat.Raw)).decode()


def key_id(public_text: str) -> str:
    return hashlib.sha256(_raw32(public_text, "an Ed25519 public key")).hexdigest()[:16]


def generate_private_key_text() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def sign(key: Ed25519PrivateKey, payload: bytes) -> str:
    return key.sign(payload).hex()


def signature_ok(public_text: str, payload: bytes, signature_hex: str) -> bool:
    try:
        public_key(public_text).verify(bytes.fromhex(signature_hex), payload)
    except (InvalidSignature, ValueError):
        return False
    return True
