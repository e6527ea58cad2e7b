"""A previewed, unchanged text is not analysed twice.

The preview stores its judgement (and the map as judging left it, encrypted) under a key
made of everything the judgement depends on: the owner, the exact texts, the policy
version, the conversation's stored map (its encrypted bytes, which change with every
save) and the false-positive marks. The policy step computes the same key; a hit is used
once (GETDEL) instead of analysing, a miss (the text, the policy, the map or the marks
changed, or ten minutes passed) analyses as before. The cache holds no original value in
clear: sanitized texts carry placeholders, findings offsets and keyed digests, and the
map is Fernet-encrypted like the stored one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any, cast

from config.redis_client import redis_client
from prompting.crypto import decrypt_mapping, encrypt_mapping
from prompting.policy import Judgement, PseudonymMap

logger = logging.getLogger(__name__)

TTL_S = 600


def judgement_key(
    *,
    user_id: Any,
    texts: Sequence[str],
    policy_version: int,
    mapping_token: bytes | memoryview | None,
    overrides: Any = (),
) -> str:
    digest = hashlib.sha256()
    fields = [
        str(user_id),
        str(policy_version),
        hashlib.sha256(bytes(mapping_token or b"")).hexdigest(),
        json.dumps(list(overrides), sort_keys=True),
        *texts,
    ]
    for field in fields:
        data = field.encode()
        digest.update(len(data).to_bytes(8, "big") + data)  # length-prefixed: unambiguous
    return f"policy:judged:{digest.hexdigest()}"


def remember(key: str, judgements: Sequence[Judgement], mapping: PseudonymMap) -> None:
    """Keep a preview's judgements for the send. An analysis that failed is not kept."""
    if any(j.decision == "block" and j.reason != "blocked_entities" for j in judgements):
        return
    payload = {
        "judgements": [j.to_dict() for j in judgements],
        "mapping": encrypt_mapping(mapping).decode(),
    }
    try:
        redis_client().set(key, json.dumps(payload), ex=TTL_S)
    except Exception:
        logger.warning("could not keep a preview's judgement; the send analyses again")


def recall(key: str) -> tuple[list[Judgement], PseudonymMap] | None:
    """The kept judgements and map for `key`, once; None if there are none."""
    try:
        raw = cast("str | None", redis_client().getdel(key))
        if raw is None:
            return None
        payload = json.loads(raw)
        judgements = [Judgement.from_dict(j) for j in payload["judgements"]]
        return judgements, decrypt_mapping(payload["mapping"].encode())
    except Exception:
        logger.warning("could not read a preview's judgement; analysing again")
        return None


# --- A previewed message is stored without its redacted values from the start ----------
#
# The web request that creates the run already knows, from the preview kept above, what
# the policy step will decide; it stores the message with its redacted values replaced
# (`Judgement.stored_text`), so the original never reaches the database, and hands the
# judgement to the policy step under the run's id. The step uses it if the conversation's
# map is still the one judged against; otherwise it judges the stored text again.


def _token_digest(mapping_token: bytes | memoryview | None) -> str:
    return hashlib.sha256(bytes(mapping_token or b"")).hexdigest()


def _run_key(run_id: Any) -> str:
    return f"policy:judged:run:{run_id}"


def prejudged_for_send(
    *, user_id: Any, text: str, policy_version: int, mapping_token: Any, overrides: Any
) -> tuple[str, dict[str, Any] | None]:
    """The text to store for a new message and, when the preview judged exactly this
    text in this state, what to hand to the policy step (`keep_for_run`)."""
    key = judgement_key(
        user_id=user_id,
        texts=[text],
        policy_version=policy_version,
        mapping_token=mapping_token,
        overrides=overrides,
    )
    try:
        raw = cast("str | None", redis_client().get(key))
        if raw is None:
            return text, None
        payload = json.loads(raw)
        if len(payload["judgements"]) != 1:
            return text, None
        judgement = Judgement.from_dict(payload["judgements"][0])
    except Exception:
        logger.warning("could not read a preview's judgement; the message is judged as sent")
        return text, None
    handed = {
        **payload,
        "token": _token_digest(mapping_token),
        "input_chars": len(text),
        "policy_version": policy_version,
    }
    return judgement.stored_text(text), handed


def keep_for_run(run_id: Any, handed: dict[str, Any]) -> None:
    try:
        redis_client().set(_run_key(run_id), json.dumps(handed), ex=TTL_S)
    except Exception:
        logger.warning("could not hand a preview's judgement to the policy step")


def recall_for_run(
    run_id: Any, *, mapping_token: Any, policy_version: int
) -> tuple[list[Judgement], PseudonymMap, int] | None:
    """The judgement handed over at creation, if still valid for this map and policy
    version: (judgements, map, characters of the original text). Read once."""
    try:
        raw = cast("str | None", redis_client().getdel(_run_key(run_id)))
        if raw is None:
            return None
        payload = json.loads(raw)
        if payload["token"] != _token_digest(mapping_token):
            return None  # another turn was stored meanwhile: judge the stored text again
        if payload["policy_version"] != policy_version:
            return None
        judgements = [Judgement.from_dict(j) for j in payload["judgements"]]
        mapping = decrypt_mapping(payload["mapping"].encode())
        return judgements, mapping, int(payload["input_chars"])
    except Exception:
        logger.warning("could not read a handed-over judgement; analysing again")
        return None
