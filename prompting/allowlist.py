"""The model allowlist lives in settings (LLM_MODELS); a change is recorded in the audit log.

Deploys run `migrate` once, so the check runs after migrations (post_migrate): it
compares the allowlist in force with the one the last event recorded.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import audit_record
from prompting.llm.models import model_spec_to_dict
from prompting.selectors import model_allowlist

ACTION = Action.MODELS_ALLOWLIST_CHANGED


def allowlist_snapshot() -> dict[str, Any]:
    models = [model_spec_to_dict(spec) for spec in model_allowlist()]
    digest = hashlib.sha256(json.dumps(models, sort_keys=True, default=str).encode()).hexdigest()
    return {"models": [m["id"] for m in models], "sha256": digest, "entries": models}


def allowlist_record_if_changed() -> bool:
    """Record the allowlist in force if it differs from the last recorded one."""
    snapshot = allowlist_snapshot()
    with transaction.atomic():
        last = AuditEvent.objects.filter(action=ACTION).order_by("-id").first()
        previous = last.details if last else {}
        if previous.get("sha256") == snapshot["sha256"]:
            return False
        audit_record(
            actor=None,
            action=ACTION,
            details={
                "old_models": previous.get("models", []),
                "new_models": snapshot["models"],
                "sha256": snapshot["sha256"],
                "entries": json.loads(json.dumps(snapshot["entries"], default=str)),
            },
        )
    return True
