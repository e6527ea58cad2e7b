"""Entry points for verify_audit_log's spawned worker processes.

Importable before Django is set up (a spawned child unpickles these names
first): nothing here touches models at import time.
"""

from __future__ import annotations

from typing import Any


def init(database_name: str, user: str | None) -> None:
    """Set Django up on the parent's database and role (under tests both are only
    known at run time, not from the environment)."""
    import django

    django.setup()
    from django.db import connections

    connections["default"].settings_dict.update({"NAME": database_name, "USER": user})


def run_segment(arguments: tuple[Any, ...]) -> Any:
    from audit.verify.walk import walk_segment

    return walk_segment(*arguments)
