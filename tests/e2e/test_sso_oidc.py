"""Sign-in through a real OpenID provider (npm `oidc-provider`) in headless Chromium.

The site runs under uvicorn with production settings (DEBUG off, SSO from env);
the IdP runs on 127.0.0.1 with one confidential client whose redirect URI is the
site's callback, requires PKCE, and serves test users from a JSON file that a
test may rewrite between two sign-ins.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from tests.support.processes import ROOT, free_port, http_ok, logged_service
from tests.support.production import production_env, start_production_web

pytestmark = pytest.mark.e2e

NODE_DIR = ROOT / "tests" / "e2e" / "node"
IDP_SCRIPT = ROOT / "tests" / "e2e" / "idp" / "oidc_provider.mjs"
CLIENT_ID = "company-assistant"
CLIENT_SECRET = "e2e-client-secret-" + "x" * 20
COMPLIANCE_GROUP = "coo-office"
ADMIN_GROUP = "assistant-admins"
CALLBACK_PATH = "/accounts/oidc/company/login/callback/"

USERS: dict[str, dict[str, Any]] = {
    "00u-erin": {
        "email": "erin.employee@company.example",
        "name": "Erin Employee",
        "given_name": "Erin",
        "family_name": "Employee",
        "department": "Driver Support",
        "groups": ["everyone"],
    },
    "00u-rhea": {
        "email": "rhea.reviewer@company.example",
        "name": "Rhea Reviewer",
        "given_name": "Rhea",
        "family_name": "Reviewer",
        "department": "COO office",
        "groups": ["everyone", COMPLIANCE_GROUP],
    },
    "00u-gus": {
        "email": "gus.groups@company.example",
        "name": "Gus Groups",
        "department": "Finance",
        "groups": [COMPLIANCE_GROUP],
    },
    "00u-oscar": {
        "email": "oscar.outsider@partner.example",
        "name": "Oscar Outsider",
        "groups": [COMPLIANCE_GROUP],
    },
    "00u-nina": {
        "email": "nina.next@company.example",
        "name": "Nina Next",
        "groups": [],
    },
    "00u-tess": {
        "email": "tess.tamper@company.example",
        "name": "Tess Tamper",
        "groups": [],
    },
    "00u-ray": {
        "email": "ray.replay@company.example",
        "name": "Ray Replay",
        "groups": [],
    },
    "00u-sam": {
        "email": "sam.signout@company.example",
        "name": "Sam Signout",
        "groups": [],
    },
}


def _node_ready() -> None:
    if not shutil.which("node"):
        pytest.skip("node is not installed (apt-get install nodejs npm)")
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("oidc-provider is not installed (make e2e-deps: npm ci in tests/e2e/node)")


def sso_web_env(live_env: dict[str, str], **sso: str) -> dict[str, str]:
    """Production-like settings for the site under test: DEBUG off, SSO on.

    Plain http on 127.0.0.1: Chromium treats loopback as a secure context, so
    the Secure session and CSRF cookies of DEBUG-off settings still work.
    """
    env = production_env(live_env)
    env.update(
        {
            "SSO_ALLOWED_EMAIL_DOMAINS": "company.example",
            "SSO_COMPLIANCE_GROUPS": COMPLIANCE_GROUP,
            "SSO_ADMIN_GROUPS": ADMIN_GROUP,
            "SSO_DEPARTMENT_CLAIM": "department",
            "SSO_GROUPS_CLAIM": "groups",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    env.update(sso)
    return env


@pytest.fixture(scope="module")
def oidc_users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("oidc") / "users.json"
    path.write_text(json.dumps(USERS))
    return path


@pytest.fixture(scope="module")
def oidc_site(
    live_env: dict[str, str], oidc_users_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The site and the OpenID provider, each knowing the other's address."""
    _node_ready()
    idp_port = free_port()
    issuer = f"http://127.0.0.1:{idp_port}"
    web, site = start_production_web(
        sso_web_env(
            live_env,
            SSO_OIDC_SERVER_URL=issuer,
            SSO_OIDC_CLIENT_ID=CLIENT_ID,
            SSO_OIDC_CLIENT_SECRET=CLIENT_SECRET,
            SSO_OIDC_NAME="Company SSO",
        )
    )
    config = tmp_path_factory.mktemp("oidc-config") / "config.json"
    config.write_text(
        json.dumps(
            {
                "port": idp_port,
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                # Exactly what allauth builds from the request host: 127.0.0.1,
                # not localhost (a different redirect URI to the IdP).
                "redirectUri": f"{site}{CALLBACK_PATH}",
                "postLogoutRedirectUri": f"{site}/accounts/signed-out/",
                "usersFile": str(oidc_users_file),
            }
        )
    )
    idp = logged_service("oidc-provider", ["node", str(IDP_SCRIPT), str(config)], dict(live_env))
    try:
        idp.wait_until(lambda: http_ok(f"{issuer}/.well-known/openid-configuration"), timeout=30)
    except Exception:
        web.stop()
        raise
    yield {"site": site, "issuer": issuer}
    idp.stop()
    web.stop()


def idp_sign_in(page: Any, sub: str) -> None:
    """oidc-provider's development sign-in form: the login is the user's sub."""
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", sub)
    page.fill("input[name=password]", "any password: this is a test IdP")
    page.click("button[type=submit]")


def sign_in_through_idp(page: Any, site: str, sub: str, *, start: str = "/chat/") -> None:
    page.goto(f"{site}{start}")
    page.get_by_role("button", name="Sign in with Company SSO").click()
    idp_sign_in(page, sub)


def record_requests(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def user_for(sub: str) -> Any:
    from accounts.models import User

    return User.objects.get(sso_subject=sub)


def roles_of(user: Any) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def events(action: str) -> list[Any]:
    from audit.models import AuditEvent

    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_employee_signs_in_with_pkce_and_lands_on_chat(
    transactional_db: None, oidc_site: dict[str, str], page: Any
) -> None:
    """An employee clicks through the IdP (authorization code + PKCE S256) and
    lands on the chat page as that user, provisioned with name, email and
    department, as Employee only, for SESSION_MAX_AGE_HOURS."""
    site = oidc_site["site"]
    seen = record_requests(page)
    sign_in_through_idp(page, site, "00u-erin")
    page.wait_for_url(f"{site}/chat/")
    assert "Erin Employee" in page.locator(".user-name").inner_text()

    authorize = next(url for url in seen if url.startswith(f"{oidc_site['issuer']}/auth?"))
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43

    user = user_for("00u-erin")
    assert (user.email, user.display_name, user.department) == (
        "erin.employee@company.example",
        "Erin Employee",
        "Driver Support",
    )
    assert not user.has_usable_password()
    assert roles_of(user) == {"Employee"}
    assert [e.details["method"] for e in events("account.sign_in") if e.actor_id == user.pk] == [
        "oidc"
    ]
    session = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    assert 11.9 * 3600 < session["expires"] - time.time() <= 12 * 3600


def test_compliance_group_member_reaches_the_audit_page(
    transactional_db: None, oidc_site: dict[str, str], page: Any
) -> None:
    """A member of an SSO_COMPLIANCE_GROUPS group becomes Compliance reviewer at
    sign-in and can open the audit log; the role change is audited."""
    site = oidc_site["site"]
    sign_in_through_idp(page, site, "00u-rhea", start="/audit/")
    page.wait_for_url(f"{site}/audit/")
    assert page.get_by_role("heading", name="Audit log").is_visible()
    user = user_for("00u-rhea")
    assert roles_of(user) == {"Employee", "Compliance reviewer"}
    change = [e for e in events("account.role_change") if e.actor_id == user.pk]
    assert change and "Compliance reviewer" in change[-1].details["added"]


def test_disallowed_email_domain_is_refused(
    transactional_db: None, oidc_site: dict[str, str], page: Any
) -> None:
    """An IdP account whose email domain is not in SSO_ALLOWED_EMAIL_DOMAINS
    gets a clear refusal page, no account, no session; the audit event names the
    domain but not the address."""
    from accounts.models import User

    site = oidc_site["site"]
    sign_in_through_idp(page, site, "00u-oscar")
    page.wait_for_url(f"{site}{CALLBACK_PATH}**")
    assert page.get_by_role("heading", name="Sign-in refused").is_visible()
    assert "@partner.example" in page.locator("main").inner_text()
    assert not User.objects.filter(sso_subject="00u-oscar").exists()
    refused = [e for e in events("account.sign_in_refused") if e.details.get("domain")]
    assert refused[-1].details == {
        "reason": "email_domain",
        "provider": "oidc",
        "domain": "partner.example",
    }
    assert refused[-1].actor_id is None
    assert "oscar" not in json.dumps(refused[-1].details) + refused[-1].actor_label
    page.goto(f"{site}/chat/")
    assert urlsplit(page.url).path == "/accounts/login/"


def idp_code_for(authorize_url: str, sub: str, site: str) -> dict[str, str]:
    """Sign `sub` in at the IdP outside the browser and return the query of the
    redirect to the site's callback (code, state, iss), which stays unused."""
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy
    url = authorize_url
    for _ in range(10):
        reply = session.get(url, allow_redirects=False, timeout=10)
        if reply.status_code == 200 and 'name="login"' in reply.text:
            action = re.search(r'action="([^"]+)"', reply.text)
            assert action is not None
            reply = session.post(
                urljoin(url, html.unescape(action.group(1))),
                data={"prompt": "login", "login": sub, "password": "any"},
                allow_redirects=False,
                timeout=10,
            )
        location = urljoin(url, reply.headers.get("location", ""))
        if location.startswith(f"{site}{CALLBACK_PATH}"):
            return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert reply.is_redirect, (reply.status_code, reply.text[:500])
        url = location
    raise AssertionError("the IdP never redirected to the callback")


def start_sign_in(page: Any, site: str, issuer: str) -> str:
    """Click the sign-in button and return the authorization request the site made."""
    seen = record_requests(page)
    page.goto(f"{site}/chat/")
    page.get_by_role("button", name="Sign in with Company SSO").click()
    page.wait_for_selector("input[name=login]")
    return next(url for url in seen if url.startswith(f"{issuer}/auth?"))


def test_tampered_state_is_rejected(
    transactional_db: None, oidc_site: dict[str, str], page: Any
) -> None:
    """A callback whose `state` was altered signs nobody in, although its code is
    genuine and unused: the same code with the untouched state then works."""
    from accounts.models import User

    site, issuer = oidc_site["site"], oidc_site["issuer"]
    query = idp_code_for(start_sign_in(page, site, issuer), "00u-tess", site)
    tampered = dict(query, state=("A" if query["state"][0] != "A" else "B") + query["state"][1:])
    page.goto(f"{site}{CALLBACK_PATH}?{urlencode(tampered)}")
    assert page.get_by_role("heading", name="Sign-in failed").is_visible()
    assert not User.objects.filter(sso_subject="00u-tess").exists()
    page.goto(f"{site}/chat/")
    assert urlsplit(page.url).path == "/accounts/login/"
    protocol_errors = [e for e in events("account.sign_in_refused") if e.outcome == "error"]
    assert protocol_errors and protocol_errors[-1].actor_id is None

    page.goto(f"{site}{CALLBACK_PATH}?{urlencode(query)}")
    page.wait_for_url(f"{site}/chat/")
    assert User.objects.filter(sso_subject="00u-tess").exists()


def test_replayed_authorization_code_is_rejected(
    transactional_db: None, oidc_site: dict[str, str], browser: Any
) -> None:
    """An authorization code that was already used signs nobody in, even when
    paired with a fresh, valid `state` of another browser's sign-in."""
    site, issuer = oidc_site["site"], oidc_site["issuer"]
    first = browser.new_context()
    page = first.new_page()
    seen = record_requests(page)
    sign_in_through_idp(page, site, "00u-ray")
    page.wait_for_url(f"{site}/chat/")
    used = next(url for url in seen if url.startswith(f"{site}{CALLBACK_PATH}"))
    code = parse_qs(urlsplit(used).query)["code"][0]
    first.close()

    second = browser.new_context()
    try:
        page = second.new_page()
        seen = record_requests(page)
        page.goto(f"{site}/chat/")
        page.get_by_role("button", name="Sign in with Company SSO").click()
        page.wait_for_selector("input[name=login]")
        authorize = next(url for url in seen if url.startswith(f"{issuer}/auth?"))
        fresh_state = parse_qs(urlsplit(authorize).query)["state"][0]
        replay = {"code": code, "state": fresh_state, "iss": issuer}
        page.goto(f"{site}{CALLBACK_PATH}?{urlencode(replay)}")
        assert page.get_by_role("heading", name="Sign-in failed").is_visible()
        page.goto(f"{site}/chat/")
        assert urlsplit(page.url).path == "/accounts/login/"
    finally:
        second.close()


@pytest.mark.parametrize(
    "start",
    [
        "/accounts/login/?next=https://evil.example/chat/",
        "/accounts/login/?next=//evil.example/chat/",
        "/accounts/oidc/company/login/?next=https://evil.example/chat/",
    ],
)
def test_next_pointing_at_another_host_stays_on_site(
    transactional_db: None, oidc_site: dict[str, str], page: Any, start: str
) -> None:
    """`next=` naming another host, on the site's sign-in page or on allauth's
    provider page, never sends the browser off-site after sign-in."""
    site = oidc_site["site"]
    page.route(lambda url: urlsplit(url).hostname == "evil.example", lambda route: route.abort())
    page.goto(f"{site}{start}")
    if "/oidc/" in start:
        page.get_by_role("button", name="Continue").click()
    else:
        page.get_by_role("button", name="Sign in with Company SSO").click()
    idp_sign_in(page, "00u-nina")
    page.wait_for_url(f"{site}/chat/")
    assert urlsplit(page.url).netloc == urlsplit(site).netloc


def test_removed_group_removes_the_role_at_next_sign_in(
    transactional_db: None, oidc_site: dict[str, str], browser: Any, oidc_users_file: Path
) -> None:
    """Roles follow the IdP's groups at every sign-in: after the compliance group
    is removed at the IdP, the next sign-in drops Compliance reviewer (audited)
    and the audit page answers 404."""
    site = oidc_site["site"]
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in_through_idp(page, site, "00u-gus", start="/audit/")
        page.wait_for_url(f"{site}/audit/")
        assert "Compliance reviewer" in roles_of(user_for("00u-gus"))
    finally:
        context.close()

    users = json.loads(oidc_users_file.read_text())
    users["00u-gus"]["groups"] = []
    oidc_users_file.write_text(json.dumps(users))

    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in_through_idp(page, site, "00u-gus")
        page.wait_for_url(f"{site}/chat/")
        user = user_for("00u-gus")
        assert roles_of(user) == {"Employee"}
        last_change = [e for e in events("account.role_change") if e.actor_id == user.pk][-1]
        assert last_change.details["removed"] == ["Compliance reviewer"]
        response = page.goto(f"{site}/audit/")
        assert response is not None and response.status == 404
    finally:
        context.close()


def test_sign_out_ends_the_session_and_offers_the_idp_sign_out(
    transactional_db: None, oidc_site: dict[str, str], page: Any
) -> None:
    """Sign-out ends the Django session (audited) and links to the IdP's
    end_session_endpoint from discovery."""
    site, issuer = oidc_site["site"], oidc_site["issuer"]
    sign_in_through_idp(page, site, "00u-sam")
    page.wait_for_url(f"{site}/chat/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{site}/accounts/signed-out/")
    link = page.get_by_role("link", name="sign out of the company account too")
    href = link.get_attribute("href") or ""
    assert href.startswith(f"{issuer}/session/end?") and f"client_id={CLIENT_ID}" in href
    user = user_for("00u-sam")
    assert [e.actor_id for e in events("account.sign_out")][-1] == user.pk
    page.goto(f"{site}/chat/")
    assert urlsplit(page.url).path == "/accounts/login/"
    link_page = page.context.new_page()
    link_page.goto(href)
    assert urlsplit(link_page.url).netloc == urlsplit(issuer).netloc
