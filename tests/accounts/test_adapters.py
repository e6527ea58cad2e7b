"""allauth hooks: who is let in, who is refused (and how that is recorded), and
that the IdP's data lands on the account at every sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from accounts.adapters import AccountAdapter, SocialAccountAdapter, identity_for
from accounts.models import User
from accounts.roles import COMPLIANCE_REVIEWER, EMPLOYEE
from audit.models import AuditEvent

SSO = {
    "SSO_ALLOWED_EMAIL_DOMAINS": ["company.com", "example.com"],
    "SSO_COMPLIANCE_GROUPS": ["coo-office"],
    "SSO_ADMIN_GROUPS": ["assistant-admins"],
    "SSO_GROUPS_CLAIM": "groups",
    "SSO_DEPARTMENT_CLAIM": "department",
}
SAML_PROVIDERS = {
    "saml": {
        "APPS": [
            {
                "provider_id": "saml",
                "client_id": "company",
                "settings": {
                    "attribute_mapping": {
                        "email": ["mail", "email"],
                        "first_name": ["givenName"],
                        "last_name": ["sn"],
                    }
                },
            }
        ]
    }
}


@pytest.fixture(autouse=True)
def allauth_request_context() -> Iterator[None]:
    # allauth reads the current request from a context variable its middleware sets.
    with context.request_context(make_request()):
        yield


def make_request() -> HttpRequest:
    request = RequestFactory().get("/accounts/oidc/company/login/callback/")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    request.user = AnonymousUser()
    request._messages = default_storage(request)  # type: ignore[attr-defined]
    return request


def oidc_login(sub: str, *, nonce: str | None = "n-1", **claims: Any) -> SocialLogin:
    """An OIDC sign-in whose ID token carries the nonce its request sent (accounts/oidc.py)."""
    account = SocialAccount(
        provider="company",
        uid=sub,
        extra_data={"userinfo": claims, "id_token": {"sub": sub, "nonce": nonce}},
    )
    login = SocialLogin(account=account, user=User())
    login.state = {"nonce": "n-1"}
    return login


def test_identity_merges_id_token_and_userinfo() -> None:
    """Claims only in the ID token (Entra's groups) count; userinfo wins on conflict."""
    account = SocialAccount(
        provider="company",
        uid="sub-1",
        extra_data={
            "id_token": {"groups": ["coo-office"], "email": "old@company.com"},
            "userinfo": {"email": "new@company.com", "name": "N"},
        },
    )
    with override_settings(**SSO):
        identity = identity_for(SocialLogin(account=account, user=User()))
    assert (identity.provider, identity.email, identity.groups) == (
        "oidc",
        "new@company.com",
        ("coo-office",),
    )


@override_settings(SOCIALACCOUNT_PROVIDERS=SAML_PROVIDERS, **SSO)
def test_identity_from_saml_attributes_uses_the_attribute_mapping() -> None:
    """SAML attributes are mapped by the configured attribute names, for
    existing accounts too (allauth itself maps them only into new users)."""
    account = SocialAccount(
        provider="saml",
        uid="name-id-1",
        extra_data={
            "mail": ["s@company.com"],
            "givenName": ["Sam"],
            "sn": ["Lee"],
            "groups": ["coo-office"],
            "department": ["Legal"],
        },
    )
    identity = identity_for(SocialLogin(account=account, user=User()))
    assert (identity.provider, identity.subject, identity.email) == (
        "saml",
        "name-id-1",
        "s@company.com",
    )
    assert (identity.display_name, identity.department, identity.groups) == (
        "Sam Lee",
        "Legal",
        ("coo-office",),
    )


@pytest.mark.django_db
@override_settings(**SSO)
@pytest.mark.parametrize(
    ("email", "reason", "domain"),
    [
        ("eve@gmail.com", "email_domain", "gmail.com"),
        ("eve@company.com.evil.net", "email_domain", "company.com.evil.net"),
        ("", "no_email", ""),
    ],
)
def test_refused_sign_in_renders_a_page_and_is_audited_by_domain_only(
    email: str, reason: str, domain: str
) -> None:
    """A refused identity gets a 403 page saying why; the audit event has no
    actor and only the domain, never the address or other claims."""
    sociallogin = oidc_login("sub-eve", email=email, name="Eve Outsider")
    with pytest.raises(ImmediateHttpResponse) as refused:
        SocialAccountAdapter().pre_social_login(make_request(), sociallogin)
    assert refused.value.response.status_code == 403
    assert b"Sign-in refused" in refused.value.response.content
    event = AuditEvent.objects.get(action="account.sign_in_refused")
    assert (event.actor_id, event.outcome) == (None, "refused")
    assert event.details == {"reason": reason, "provider": "oidc", "domain": domain}
    assert "eve" not in str(event.details).replace("evil", "") + event.actor_label


@pytest.mark.django_db
@override_settings(**SSO)
def test_email_of_another_subject_is_refused(alice: Any) -> None:
    """A new IdP identity claiming alice's address does not get into alice's
    account, nor a second account with her address (allauth #3675)."""
    sociallogin = oidc_login("sub-impostor", email=alice.email.upper())
    with pytest.raises(ImmediateHttpResponse):
        SocialAccountAdapter().pre_social_login(make_request(), sociallogin)
    assert AuditEvent.objects.get(action="account.sign_in_refused").details["reason"] == (
        "email_in_use"
    )
    assert not SocialAccount.objects.exists()


@pytest.mark.django_db
@override_settings(**SSO)
def test_connecting_a_second_identity_is_refused(alice: Any) -> None:
    """process=connect (attach another IdP identity to a signed-in user) is refused."""
    sociallogin = oidc_login("sub-other", email="other@company.com")
    sociallogin.state = {"process": "connect"}
    with pytest.raises(ImmediateHttpResponse):
        SocialAccountAdapter().pre_social_login(make_request(), sociallogin)
    assert not SocialAccount.objects.exists()


@pytest.mark.django_db
@override_settings(**SSO)
def test_account_with_the_same_subject_is_reused_not_matched_by_email(alice: Any) -> None:
    """An account that already carries the IdP subject (but has no allauth
    record) is the one signed in to: the subject is the key."""
    sociallogin = oidc_login(alice.sso_subject, email=alice.email)
    SocialAccountAdapter().pre_social_login(make_request(), sociallogin)
    assert sociallogin.is_existing and sociallogin.user == alice
    assert SocialAccount.objects.get().user == alice


@pytest.mark.django_db
@override_settings(**SSO)
def test_new_user_is_populated_from_the_idp() -> None:
    """Just-in-time provisioning fills name, email, department and the subject;
    the username never comes from the IdP's (editable) preferred_username."""
    sociallogin = oidc_login(
        "sub-new",
        email="nora@company.com",
        name="Nora New",
        given_name="Nora",
        family_name="New",
        department="Pricing",
        preferred_username="admin",
    )
    user = SocialAccountAdapter().populate_user(
        make_request(), sociallogin, {"username": "admin", "email": "nora@company.com"}
    )
    assert (user.email, user.display_name, user.department, user.sso_subject) == (
        "nora@company.com",
        "Nora New",
        "Pricing",
        "sub-new",
    )
    assert user.username == ""


@pytest.mark.django_db
@override_settings(**SSO)
def test_post_login_syncs_roles_and_records_the_sign_in(alice: Any) -> None:
    """Every SSO sign-in makes the roles match the groups claim (adding and
    removing) and records account.sign_in."""
    request = make_request()
    request.user = alice  # post_login runs after allauth has logged the user in
    adapter = AccountAdapter(request)
    kwargs: dict[str, Any] = {
        "email_verification": "none",
        "email": None,
        "signup": False,
        "redirect_url": None,
    }
    grant = oidc_login(alice.sso_subject, email=alice.email, groups=["coo-office"])
    adapter.post_login(request, alice, signal_kwargs={"sociallogin": grant}, **kwargs)
    assert set(alice.groups.values_list("name", flat=True)) == {EMPLOYEE, COMPLIANCE_REVIEWER}

    revoke = oidc_login(alice.sso_subject, email=alice.email, groups=[])
    adapter.post_login(request, alice, signal_kwargs={"sociallogin": revoke}, **kwargs)
    assert set(alice.groups.values_list("name", flat=True)) == {EMPLOYEE}
    changes = list(
        AuditEvent.objects.filter(
            action="account.role_change", details__source="sso-oidc"
        ).order_by("id")
    )
    assert [c.details["added"] for c in changes] == [[COMPLIANCE_REVIEWER], []]
    assert [c.details["removed"] for c in changes] == [[], [COMPLIANCE_REVIEWER]]
    assert AuditEvent.objects.filter(action="account.sign_in", actor=alice).count() == 2


@pytest.mark.django_db
def test_allauth_initiated_sign_out_is_audited(alice: Any) -> None:
    """When allauth ends a session itself (SAML single logout from the IdP), the
    sign-out is recorded like the site's own button."""
    request = make_request()
    request.user = alice
    AccountAdapter(request).logout(request)
    assert AuditEvent.objects.filter(action="account.sign_out", actor=alice).count() == 1
    assert not request.user.is_authenticated
