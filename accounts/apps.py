from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django admin must not offer its password form (nobody has a password;
        # a form that can never succeed invites guessing). Its URLs are built
        # from these attributes when the URLconf loads, which is after ready().
        from django.contrib import admin
        from django.core import checks

        from accounts import views
        from config.startup import deploy_check

        # `manage.py check --deploy` lists every unsafe production setting (issue 15).
        checks.register(deploy_check, checks.Tags.security, deploy=True)

        admin.site.login = views.admin_login  # type: ignore[method-assign,assignment]
        admin.site.logout = views.logout_view  # type: ignore[method-assign,assignment]
