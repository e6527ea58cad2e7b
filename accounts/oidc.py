"""OIDC specifics: the sign-in `nonce`, and the IdP's end-session endpoint (from
discovery) for the signed-out page."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

_CACHE_KEY = "accounts.oidc.end_session_endpoint"
NONCE_STATE_KEY = "nonce"


class NonceOpenIDConnectProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider, sending a fresh `nonce` with every
    authorization request (OIDC Core 3.1.2.1) and keeping it in allauth's state for the
    callback, where `nonce_matches` compares it with the ID token's claim: an ID token
    obtained for another sign-in (injected or replayed) is refused. allauth's generic
    provider sends none."""

    # Its URLs and views stay allauth's (the package is where allauth looks for urls.py).
    package = "allauth.socialaccount.providers.openid_connect"

    def redirect(
        self,
        request: HttpRequest,
        process: Any,
        next_url: str | None = None,
        data: Any = None,
        **kwargs: Any,
    ) -> HttpResponse:
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None)
        if auth_params is None:
            auth_params = self.get_auth_params()
        auth_params = {**auth_params, "nonce": nonce}
        kwargs[NONCE_STATE_KEY] = nonce  # stored with allauth's state (session)
        response: HttpResponse = super().redirect(
            request, process, next_url, data, auth_params=auth_params, **kwargs
        )
        return response


def nonce_matches(state: Mapping[str, Any] | None, id_token: Mapping[str, Any] | None) -> bool:
    """Whether the ID token carries the nonce this browser's sign-in sent."""
    expected = (state or {}).get(NONCE_STATE_KEY)
    received = (id_token or {}).get("nonce")
    if not isinstance(expected, str) or not expected or not isinstance(received, str):
        return False
    return hmac.compare_digest(expected.encode(), received.encode())


def discovery_url(server_url: str) -> str:
    # Same rule as allauth's provider: the issuer, or the full .well-known URL.
    if "/.well-known/" in server_url:
        return server_url
    return server_url.rstrip("/") + "/.well-known/openid-configuration"


def end_session_url() -> str | None:
    """Where the browser can also end the IdP session, or None when the IdP's
    discovery document has no end_session_endpoint (or cannot be read: signing
    out of this site must never depend on the IdP being up)."""
    if not settings.SSO_OIDC_CONFIGURED:
        return None
    endpoint = cache.get(_CACHE_KEY)
    if endpoint is None:
        try:
            reply = requests.get(discovery_url(settings.SSO_OIDC_SERVER_URL), timeout=5)
            reply.raise_for_status()
            endpoint = str(reply.json().get("end_session_endpoint") or "")
            cache.set(_CACHE_KEY, endpoint, 3600)
        except (requests.RequestException, ValueError) as exc:
            logger.warning("OIDC discovery failed, no end-session link: %s", exc)
            return None
    if not endpoint:
        return None
    # RP-initiated logout identifies the client by client_id when there is no
    # id_token_hint (allauth does not keep the raw ID token).
    return f"{endpoint}?{urlencode({'client_id': settings.SSO_OIDC_CLIENT_ID})}"
