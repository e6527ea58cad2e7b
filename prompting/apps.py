from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _record_allowlist(sender: Any, **kwargs: Any) -> None:
    # Imported here: apps.py loads before the models registry is ready.
    from prompting.allowlist import allowlist_record_if_changed

    allowlist_record_if_changed()


class PromptingConfig(AppConfig):
    name = "prompting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Once per deploy: migrate runs once, workers and web processes many times.
        post_migrate.connect(_record_allowlist, sender=self)
