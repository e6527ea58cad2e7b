from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """An employee. Nobody has a usable password: sign-in is the company SSO.

    `sso_subject` is the IdP's immutable subject (`sub` / SAML NameID); accounts are
    keyed on it, never on the email address, which an IdP may let users edit.
    """

    email = models.EmailField("email address", blank=True, db_index=True)
    display_name = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=200, blank=True, db_index=True)
    sso_subject = models.CharField(max_length=255, unique=True, null=True, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.email or self.username
