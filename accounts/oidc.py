"""The IdP's end-session endpoint, from OIDC discovery, for the signed-out page."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

_CACHE_KEY = "accounts.oidc.end_session_endpoint"


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
