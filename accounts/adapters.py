"""django-allauth hooks: where an SSO sign-in is checked, provisioned and recorded.

allauth does the protocol work (state, PKCE, token and signature checks); these
adapters only decide who may sign in and keep the user in step with the IdP.
The rules themselves live in `accounts.sso`, the writes in `accounts.services`.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import services
from accounts.models import User
from accounts.oidc import nonce_matches
from accounts.sso import (
    REFUSED_CONNECT,
    REFUSED_EMAIL_IN_USE,
    REFUSED_NONCE,
    ClaimNames,
    SsoIdentity,
    identity_from_claims,
    refusal_reason,
    roles_for_groups,
)

SAML_PROVIDER = "saml"


def _claim_names() -> ClaimNames:
    return ClaimNames(
        groups=settings.SSO_GROUPS_CLAIM,
        department=settings.SSO_DEPARTMENT_CLAIM,
        groups_separator=settings.SSO_GROUPS_SEPARATOR,
    )


def _saml_claims(attributes: dict[str, Any]) -> dict[str, Any]:
    # allauth maps email/name attributes only into a *new* user; an existing
    # account's user is loaded from the database, so apply the mapping here to
    # see what the IdP says today.
    mapping = settings.SOCIALACCOUNT_PROVIDERS[SAML_PROVIDER]["APPS"][0]["settings"][  # type: ignore[index]
        "attribute_mapping"
    ]
    claims = dict(attributes)
    for key, names in mapping.items():
        for name in [names] if isinstance(names, str) else names:
            if attributes.get(name):
                claims[key] = attributes[name]
                break
    return claims


def identity_for(sociallogin: SocialLogin) -> SsoIdentity:
    """The identity behind an allauth SocialLogin, from its provider's raw data."""
    account = sociallogin.account
    extra = account.extra_data or {}
    if account.provider == SAML_PROVIDER:
        claims = _saml_claims(extra)
        provider = "saml"
    else:
        # allauth prefers userinfo and ignores the ID token when both exist; Entra
        # puts `groups` only into the ID token, so merge them (userinfo wins).
        claims = {**extra.get("id_token", {}), **extra.get("userinfo", {})} or dict(extra)
        provider = "oidc"
    return identity_from_claims(
        provider=provider, subject=account.uid, claims=claims, names=_claim_names()
    )


def roles_for(identity: SsoIdentity) -> set[str]:
    return roles_for_groups(
        identity.groups,
        compliance_groups=settings.SSO_COMPLIANCE_GROUPS,
        admin_groups=settings.SSO_ADMIN_GROUPS,
        insights_groups=settings.SSO_INSIGHTS_GROUPS,
    )


def refused_response(request: HttpRequest, identity: SsoIdentity, reason: str) -> HttpResponse:
    return render(
        request,
        "accounts/sign_in_refused.html",
        {"reason": reason, "domain": identity.email_domain},
        status=403,
    )


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # No local accounts: people exist here because the IdP says so.
        return False

    def is_safe_url(self, url: str | None) -> bool:
        # Stricter than allauth's default, which also trusts every ALLOWED_HOSTS
        # entry: after sign-in we only ever go to a page of this very host.
        from allauth.core import context

        request = context.request
        return bool(url) and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )

    def logout(self, request: HttpRequest) -> None:
        # allauth signs people out itself on a SAML single-logout request from the
        # IdP, and before a signed-in browser signs in as someone else: both are
        # sign-outs for the audit log. (The site's own button uses views.logout_view.)
        if request.user.is_authenticated:
            services.user_sign_out(user=request.user)
        super().logout(request)

    def post_login(
        self,
        request: HttpRequest,
        user: Any,
        *,
        signal_kwargs: dict[str, Any] | None,
        **kwargs: Any,
    ) -> HttpResponse:
        sociallogin = (signal_kwargs or {}).get("sociallogin")
        if sociallogin is not None:
            identity = identity_for(sociallogin)
            services.user_sso_sign_in(user=user, identity=identity, roles=roles_for(identity))
        return super().post_login(request, user, signal_kwargs=signal_kwargs, **kwargs)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True  # just-in-time provisioning; who may sign in is pre_social_login's job

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True  # never show allauth's "complete your sign-up" form

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Runs after the IdP vouched for the person and before they are signed in."""
        identity = identity_for(sociallogin)
        reason = None
        if identity.provider == "oidc" and not nonce_matches(
            sociallogin.state, (sociallogin.account.extra_data or {}).get("id_token")
        ):
            # An ID token issued for another sign-in (injected or replayed).
            reason = REFUSED_NONCE
        reason = reason or refusal_reason(
            identity, allowed_domains=settings.SSO_ALLOWED_EMAIL_DOMAINS
        )
        if reason is None and sociallogin.state.get("process") == "connect":
            # One person, one IdP identity: no attaching a second one.
            reason = REFUSED_CONNECT
        if reason is None:
            others = User.objects.filter(email__iexact=identity.email).exclude(
                sso_provider=identity.provider, sso_subject=identity.subject
            )
            if sociallogin.is_existing:
                others = others.exclude(pk=sociallogin.user.pk)
            if others.exists():
                # Someone else's address: signing in as them is the takeover of
                # allauth #3675, and a second account would blur the audit log.
                reason = REFUSED_EMAIL_IN_USE
        if reason is not None:
            services.sso_sign_in_refuse(identity=identity, reason=reason)
            raise ImmediateHttpResponse(refused_response(request, identity, reason))
        if not sociallogin.is_existing:
            # An account keyed on this (provider, subject) but without allauth's record
            # of it (created by an admin): it is this person. Only the same provider:
            # a SAML NameID equal to someone's OIDC `sub` is somebody else.
            known = User.objects.filter(
                sso_provider=identity.provider, sso_subject=identity.subject
            ).first()
            if known is not None:
                # save(connect=True) rather than connect(): the latter would also
                # mail the user an "account connected" notice about nothing new.
                sociallogin.user = known
                sociallogin.save(request, connect=True)

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: Any) -> Any:
        user = super().populate_user(request, sociallogin, data)
        identity = identity_for(sociallogin)
        # The IdP's preferred_username is neither unique nor stable here: let
        # allauth generate a unique username from the name instead.
        user.username = ""
        user.email = identity.email
        user.display_name = identity.display_name
        user.department = identity.department
        user.sso_provider = identity.provider
        user.sso_subject = identity.subject
        return user

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Any = None,
        extra_context: Any = None,
    ) -> None:
        # Tampered state, a replayed code, a bad signature: worth a line in the
        # audit log (no claims are known yet, so no domain).
        services.sso_sign_in_error(provider=getattr(provider, "id", ""), error=str(error or ""))
