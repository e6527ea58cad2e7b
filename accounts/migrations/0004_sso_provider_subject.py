"""Accounts keyed by (provider, subject), not by subject alone (issue 15): a SAML NameID
equal to someone's OIDC `sub` must not reach their account.

Existing accounts get the provider of their allauth SocialAccount; one without (created
by an admin) gets the only provider configured, or "oidc" when both or neither are.
"""

from django.conf import settings
from django.db import migrations, models


def fill_provider(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    SocialAccount = apps.get_model("socialaccount", "SocialAccount")
    by_user = dict(
        SocialAccount.objects.filter(user__sso_subject__isnull=False).values_list(
            "user_id", "provider"
        )
    )
    only_saml = getattr(settings, "SSO_SAML_CONFIGURED", False) and not getattr(
        settings, "SSO_OIDC_CONFIGURED", False
    )
    fallback = "saml" if only_saml else "oidc"
    for user in User.objects.filter(sso_subject__isnull=False).only("pk"):
        provider = by_user.get(user.pk)
        value = fallback if provider is None else ("saml" if provider == "saml" else "oidc")
        User.objects.filter(pk=user.pk).update(sso_provider=value)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_insights_viewer_role"),
        ("socialaccount", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="sso_provider",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.RunPython(fill_provider, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="sso_subject",
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                fields=("sso_provider", "sso_subject"), name="accounts_user_sso_identity"
            ),
        ),
    ]
