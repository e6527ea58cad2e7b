from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django admin must not offer its password form (nobody has a password;
        # a form that can never succeed invites guessing). Its URLs are built
        # from these attributes when the URLconf loads, which is after ready().
        from django.contrib import admin

        from accounts import views

        admin.site.login = views.admin_login  # type: ignore[method-assign,assignment]
        admin.site.logout = views.logout_view  # type: ignore[method-assign,assignment]
