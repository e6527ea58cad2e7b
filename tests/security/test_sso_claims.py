"""SSO claims taken literally (issue 15): group lists are never split, email_verified
false refuses, an address has exactly one @ and its domain is compared in IDNA form,
OIDC sends and checks a nonce, accounts are keyed by (provider, subject)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.core import context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialAccount, SocialLogin
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from accounts.adapters import SocialAccountAdapter, roles_for
from accounts.models import User
from accounts.oidc import NonceOpenIDConnectProvider, nonce_matches
from accounts.roles import ADMIN, COMPLIANCE_REVIEWER, EMPLOYEE
from accounts.sso import (
    REFUSED_EMAIL_DOMAIN,
    REFUSED_EMAIL_UNVERIFIED,
    REFUSED_NO_EMAIL,
    REFUSED_NONCE,
    ClaimNames,
    SsoIdentity,
    email_domain,
    identity_from_claims,
    refusal_reason,
)
from audit.models import AuditEvent

SSO = {
    "SSO_ALLOWED_EMAIL_DOMAINS": ["company.com", "bücher.example"],
    "SSO_COMPLIANCE_GROUPS": ["coo-office"],
    "SSO_ADMIN_GROUPS": ["assistant-admins"],
    "SSO_GROUPS_CLAIM": "groups",
    "SSO_GROUPS_SEPARATOR": "",
    "SSO_DEPARTMENT_CLAIM": "department",
}
NAMES = ClaimNames()


def identity(claims: dict[str, Any], names: ClaimNames = NAMES) -> SsoIdentity:
    return identity_from_claims(provider="oidc", subject="s-1", claims=claims, names=names)


@pytest.mark.parametrize(
    "groups",
    [["Sales, coo-office"], ["assistant-admins,x"], "Sales, coo-office", "assistant-admins,x"],
)
def test_a_group_name_with_a_comma_grants_nothing(groups: Any) -> None:
    """The review's grants: a list item, or a single string without a configured
    separator, is one group name, whatever it contains."""
    with override_settings(**SSO):
        assert roles_for(identity({"groups": groups})) == {EMPLOYEE}


def test_a_single_string_is_split_on_the_configured_separator_only() -> None:
    names = ClaimNames(groups_separator=";")
    assert identity({"groups": "Sales;coo-office"}, names).groups == ("Sales", "coo-office")
    # The list is still a list, the separator notwithstanding.
    assert identity({"groups": ["Sales;coo-office"]}, names).groups == ("Sales;coo-office",)
    with override_settings(**{**SSO, "SSO_GROUPS_SEPARATOR": ";"}):
        assert roles_for(identity({"groups": "Sales;coo-office"}, names)) == {
            EMPLOYEE,
            COMPLIANCE_REVIEWER,
        }


@pytest.mark.parametrize(
    "groups", [{"coo-office": True}, True, [["coo-office"]], [{"name": "assistant-admins"}]]
)
def test_groups_of_the_wrong_type_grant_nothing(groups: Any) -> None:
    with override_settings(**SSO):
        assert roles_for(identity({"groups": groups})) == {EMPLOYEE}


def test_list_groups_still_grant_their_roles() -> None:
    with override_settings(**SSO):
        assert roles_for(identity({"groups": ["x", "assistant-admins"]})) == {EMPLOYEE, ADMIN}


@pytest.mark.parametrize(
    ("value", "verified"),
    [(False, False), ("false", False), (["false"], False), (True, True), (None, True)],
)
def test_email_verified_false_is_refused(value: Any, verified: bool) -> None:
    claims: dict[str, Any] = {"email": "a@company.com"}
    if value is not None:
        claims["email_verified"] = value
    person = identity(claims)
    assert person.email_verified is verified
    expected = None if verified else REFUSED_EMAIL_UNVERIFIED
    assert refusal_reason(person, allowed_domains=["company.com"]) == expected


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("x@gmail.com@company.com", ""),
        ("@company.com", ""),
        ("a@", ""),
        ("a@company.com.", "company.com"),
        ("a@BÜCHER.example", "xn--bcher-kva.example"),
        ("a@xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a@bad domain.com", ""),
        ("a@-bad-.com", ""),
    ],
)
def test_email_has_exactly_one_at_and_an_idna_domain(email: str, domain: str) -> None:
    assert email_domain(email) == domain


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("x@gmail.com@company.com", REFUSED_NO_EMAIL),
        ("a@BÜCHER.example", None),
        ("a@xn--bcher-kva.example", None),
        ("a@company.com", None),
        ("a@c\u043empany.com", REFUSED_EMAIL_DOMAIN),  # a Cyrillic o: another domain
    ],
)
def test_domains_are_compared_after_idna_normalisation(email: str, reason: str | None) -> None:
    person = SsoIdentity(provider="oidc", subject="s", email=email)
    assert refusal_reason(person, allowed_domains=["company.com", "bücher.example"]) == reason


# --- OIDC nonce -------------------------------------------------------------------------


def test_nonce_matches_only_the_same_value() -> None:
    assert nonce_matches({"nonce": "abc"}, {"nonce": "abc"})
    assert not nonce_matches({"nonce": "abc"}, {"nonce": "abd"})
    assert not nonce_matches({"nonce": "abc"}, {})
    assert not nonce_matches({}, {"nonce": "abc"})
    assert not nonce_matches({"nonce": ""}, {"nonce": ""})
    assert not nonce_matches(None, None)


@pytest.fixture
def allauth_request() -> Iterator[HttpRequest]:
    request = RequestFactory().get("/accounts/oidc/company/login/callback/")
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    request.user = AnonymousUser()
    request._messages = default_storage(request)  # type: ignore[attr-defined]
    with context.request_context(request):
        yield request


def oidc_login(sub: str, *, state_nonce: str | None, token_nonce: str | None) -> SocialLogin:
    account = SocialAccount(
        provider="company",
        uid=sub,
        extra_data={
            "userinfo": {"email": "new@company.com"},
            "id_token": {"sub": sub, **({"nonce": token_nonce} if token_nonce else {})},
        },
    )
    login = SocialLogin(account=account, user=User())
    login.state = {"nonce": state_nonce} if state_nonce else {}
    return login


@pytest.mark.django_db
@override_settings(**SSO)
@pytest.mark.parametrize(
    ("state_nonce", "token_nonce"), [("n-1", "n-2"), ("n-1", None), (None, "n-1"), (None, None)]
)
def test_an_id_token_without_this_sign_ins_nonce_is_refused(
    allauth_request: HttpRequest, state_nonce: str | None, token_nonce: str | None
) -> None:
    login = oidc_login("sub-new", state_nonce=state_nonce, token_nonce=token_nonce)
    with pytest.raises(ImmediateHttpResponse) as refused:
        SocialAccountAdapter().pre_social_login(allauth_request, login)
    assert refused.value.response.status_code == 403
    assert "did not match" in refused.value.response.content.decode()
    event = AuditEvent.objects.get(action="account.sign_in_refused")
    assert event.details["reason"] == REFUSED_NONCE


@pytest.mark.django_db
@override_settings(**SSO)
def test_the_matching_nonce_signs_in(allauth_request: HttpRequest) -> None:
    login = oidc_login("sub-new", state_nonce="n-1", token_nonce="n-1")
    SocialAccountAdapter().pre_social_login(allauth_request, login)  # no refusal


@pytest.mark.django_db
@override_settings(**SSO)
def test_the_authorization_request_carries_a_fresh_nonce_kept_in_state(
    allauth_request: HttpRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider's redirect sends `nonce` to the IdP and stashes the same value."""
    from allauth.socialaccount.models import SocialApp
    from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter

    config = {
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": "https://idp.example/token",
        "userinfo_endpoint": "https://idp.example/userinfo",
        "issuer": "https://idp.example",
        "jwks_uri": "https://idp.example/jwks",
    }
    monkeypatch.setattr(OpenIDConnectOAuth2Adapter, "openid_config", property(lambda s: config))
    # OIDC is not configured in the test settings, so its callback URL is not routed.
    monkeypatch.setattr(
        OpenIDConnectOAuth2Adapter, "get_callback_url", lambda self, request, app: "http://t/cb"
    )
    app = SocialApp(
        provider="openid_connect",
        provider_id="company",
        name="Company SSO",
        client_id="client",
        secret="secret",
        settings={"server_url": "https://idp.example", "token_auth_method": "client_secret_post"},
    )
    provider = NonceOpenIDConnectProvider(allauth_request, app=app)
    monkeypatch.setattr(OpenIDConnectOAuth2Adapter, "get_provider", lambda self: provider)
    nonces = []
    for _ in range(2):
        response = provider.redirect(allauth_request, "login")
        query = parse_qs(urlsplit(response["Location"]).query)
        nonces.append(query["nonce"][0])
        stashed = allauth_request.session["socialaccount_states"][query["state"][0]]
        assert stashed[0]["nonce"] == query["nonce"][0]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 32


# --- (provider, subject) ----------------------------------------------------------------


@pytest.mark.django_db
@override_settings(**SSO)
def test_a_saml_name_id_equal_to_an_oidc_sub_is_another_person(
    allauth_request: HttpRequest, alice: Any
) -> None:
    """Alice signed in with OIDC as `sub-alice`; a SAML assertion whose NameID is
    `sub-alice` is not linked to her account."""
    saml = SocialAccount(
        provider="saml", uid=alice.sso_subject, extra_data={"email": ["mallory@company.com"]}
    )
    login = SocialLogin(account=saml, user=User())
    with override_settings(
        SOCIALACCOUNT_PROVIDERS={
            "saml": {"APPS": [{"settings": {"attribute_mapping": {"email": ["email"]}}}]}
        }
    ):
        SocialAccountAdapter().pre_social_login(allauth_request, login)
    assert login.user.pk is None  # a new account, not Alice's
    assert not SocialAccount.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_the_same_subject_may_exist_once_per_provider(alice: Any) -> None:
    User.objects.create(username="saml-twin", sso_provider="saml", sso_subject=alice.sso_subject)
    with pytest.raises(IntegrityError):
        User.objects.create(
            username="oidc-twin", sso_provider="oidc", sso_subject=alice.sso_subject
        )
