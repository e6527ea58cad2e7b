from django.apps import AppConfig


class PromptingConfig(AppConfig):
    name = "prompting"
    default_auto_field = "django.db.models.BigAutoField"
