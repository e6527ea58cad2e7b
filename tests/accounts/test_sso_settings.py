"""Settings from the environment, checked in a fresh interpreter per case
(settings are read once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.support.processes import ROOT

OIDC = {
    "SSO_OIDC_SERVER_URL": "https://company.okta.example",
    "SSO_OIDC_CLIENT_ID": "client-1",
    "SSO_OIDC_CLIENT_SECRET": "secret-1",
    "SSO_ALLOWED_EMAIL_DOMAINS": "company.example",
}


def run_settings(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SSO_", "DEBUG", "SESSION_"))}
    full.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", **env})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )


def settings_json(env: dict[str, str], expression: str) -> Any:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({expression}, default=str))"
    )
    result = run_settings(env, code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_oidc_from_env_has_pkce_and_socialaccount_only() -> None:
    """The OIDC app comes from env with PKCE on; allauth is socialaccount-only and
    the SAML provider (and python3-saml) stays out when SAML is not configured."""
    value = settings_json(
        OIDC,
        "[s.SOCIALACCOUNT_PROVIDERS['openid_connect'], s.SOCIALACCOUNT_ONLY, "
        "'allauth.socialaccount.providers.saml' in s.INSTALLED_APPS, s.DEV_LOGIN_ENABLED, "
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']]",
    )
    provider, only, saml_installed, dev_login, form_action = value
    app = provider["APPS"][0]
    assert provider["OAUTH_PKCE_ENABLED"] is True and app["settings"]["oauth_pkce_enabled"] is True
    assert app["settings"]["server_url"] == "https://company.okta.example"
    assert (app["client_id"], app["secret"]) == ("client-1", "secret-1")
    assert only is True and saml_installed is False and dev_login is False
    assert form_action == ["'self'", "https://company.okta.example"]


def test_saml_from_a_metadata_file_path() -> None:
    """SSO_SAML_METADATA_URL may be a file path; it is read as a file:// URL."""
    env = {
        "SSO_SAML_METADATA_URL": "/etc/company/idp-metadata.xml",
        "SSO_SAML_ENTITY_ID": "urn:idp",
        "SSO_ALLOWED_EMAIL_DOMAINS": "company.example",
    }
    idp = settings_json(env, "s.SOCIALACCOUNT_PROVIDERS['saml']['APPS'][0]['settings']['idp']")
    assert idp == {"entity_id": "urn:idp", "metadata_url": "file:///etc/company/idp-metadata.xml"}


def test_sso_without_allowed_domains_refuses_to_start() -> None:
    """Configuring SSO without SSO_ALLOWED_EMAIL_DOMAINS stops start-up with one line."""
    env = {k: v for k, v in OIDC.items() if k != "SSO_ALLOWED_EMAIL_DOMAINS"}
    result = run_settings(env, "import django; django.setup()")
    assert result.returncode != 0
    assert "SSO_ALLOWED_EMAIL_DOMAINS is required" in result.stderr


def test_session_lifetime_from_env() -> None:
    """SESSION_MAX_AGE_HOURS sets the session lifetime; allauth keeps it (remember on)."""
    value = settings_json(
        {**OIDC, "SESSION_MAX_AGE_HOURS": "8"},
        "[s.SESSION_COOKIE_AGE, s.ACCOUNT_SESSION_REMEMBER]",
    )
    assert value == [8 * 3600, True]


def test_site_starts_without_saml_libraries_when_saml_is_off() -> None:
    """With OIDC only, the whole URLconf loads even when python3-saml/xmlsec
    cannot be imported (they are needed only for SAML)."""
    code = (
        "import sys; sys.modules['onelogin'] = None; sys.modules['xmlsec'] = None; "
        "import django; django.setup(); from django.urls import reverse; "
        "print(reverse('openid_connect_login', kwargs={'provider_id': 'company'}))"
    )
    result = run_settings(OIDC, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("/accounts/oidc/company/login/")
