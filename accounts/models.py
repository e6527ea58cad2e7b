from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """An employee. Nobody has a usable password: sign-in is the company SSO.

    `sso_subject` is the IdP's immutable subject (`sub` / SAML NameID) and `sso_provider`
    the protocol that vouched for it ("oidc" or "saml"); accounts are keyed on the pair,
    never on the email address (which an IdP may let users edit), and never on the
    subject alone (a SAML NameID may equal someone's OIDC `sub`).
    """

    email = models.EmailField("email address", blank=True, db_index=True)
    display_name = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=200, blank=True, db_index=True)
    sso_provider = models.CharField(max_length=20, blank=True, default="")
    sso_subject = models.CharField(max_length=255, null=True, blank=True)

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(
                fields=["sso_provider", "sso_subject"], name="accounts_user_sso_identity"
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.email or self.username
