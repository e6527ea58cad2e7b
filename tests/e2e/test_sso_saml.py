"""Sign-in through a real SAML 2.0 IdP (npm `saml-idp`) in headless Chromium.

The site runs under uvicorn with production settings and only SAML configured,
reading the IdP's metadata from its URL; the IdP signs assertions with a key
made for this test run.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.processes import ROOT, free_port, http_ok, logged_service
from tests.support.production import production_env, start_production_web

pytestmark = pytest.mark.e2e

NODE_DIR = ROOT / "tests" / "e2e" / "node"
IDP_SCRIPT = ROOT / "tests" / "e2e" / "idp" / "saml_idp.js"
IDP_ENTITY_ID = "urn:company-assistant:e2e-idp"
NAME_ID = "saml-7f3c9a-persistent"
USER = {
    "userName": NAME_ID,
    "nameIdFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "firstName": "Sally",
    "lastName": "Saml",
    "displayName": "Sally Saml",
    "email": "sally.saml@company.example",
    "department": "Legal",
    "groups": "everyone, coo-office",
}
ATTRIBUTES = [
    {"id": "firstName", "optional": False, "displayName": "First Name", "multiValue": False},
    {"id": "lastName", "optional": False, "displayName": "Last Name", "multiValue": False},
    {"id": "displayName", "optional": True, "displayName": "Display Name", "multiValue": False},
    {"id": "email", "optional": False, "displayName": "E-Mail Address", "multiValue": False},
    {"id": "department", "optional": True, "displayName": "Department", "multiValue": False},
    {"id": "groups", "optional": True, "displayName": "Groups", "multiValue": True},
]


def _node_ready() -> None:
    if not shutil.which("node"):
        pytest.skip("node is not installed (apt-get install nodejs npm)")
    if not (NODE_DIR / "node_modules" / "saml-idp").is_dir():
        pytest.skip("saml-idp is not installed (make e2e-deps: npm ci in tests/e2e/node)")
    try:
        import onelogin.saml2.auth  # noqa: F401
    except ImportError:
        pytest.skip("python3-saml/xmlsec are not installed (pip install -r requirements.txt)")


def _signing_pair(folder: Path) -> tuple[Path, Path]:
    """A self-signed RSA certificate for the IdP, made for this run only."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "e2e test IdP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "idp-cert.pem", folder / "idp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
def saml_site(
    live_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The site (SAML only, DEBUG off) and saml-idp, each knowing the other."""
    _node_ready()
    folder = tmp_path_factory.mktemp("saml")
    idp_port = free_port()
    idp_url = f"http://127.0.0.1:{idp_port}"
    env = production_env(live_env)
    env.update(
        {
            "SSO_SAML_METADATA_URL": f"{idp_url}/metadata",
            "SSO_SAML_ENTITY_ID": IDP_ENTITY_ID,
            "SSO_SAML_NAME": "Company SAML",
            "SSO_ALLOWED_EMAIL_DOMAINS": "company.example",
            "SSO_COMPLIANCE_GROUPS": "coo-office",
            "SSO_DEPARTMENT_CLAIM": "department",
            "SSO_GROUPS_CLAIM": "groups",
        }
    )
    web, site = start_production_web(env)
    cert_file, key_file = _signing_pair(folder)
    config = folder / "config.json"
    config.write_text(
        json.dumps(
            {
                "port": idp_port,
                "issuer": IDP_ENTITY_ID,
                "acsUrl": f"{site}/accounts/saml/company/acs/",
                # allauth's default SP entity id: its metadata URL.
                "audience": f"{site}/accounts/saml/company/metadata/",
                "certFile": str(cert_file),
                "keyFile": str(key_file),
                "user": USER,
                "metadata": ATTRIBUTES,
            }
        )
    )
    idp = logged_service("saml-idp", ["node", str(IDP_SCRIPT), str(config)], dict(live_env))
    try:
        idp.wait_until(lambda: http_ok(f"{idp_url}/metadata"), timeout=30)
    except Exception:
        web.stop()
        raise
    yield {"site": site, "idp": idp_url}
    idp.stop()
    web.stop()


def test_saml_sign_in_provisions_the_user_with_roles(
    transactional_db: None, saml_site: dict[str, str], page: Any
) -> None:
    """A person signs in through the SAML IdP (signed assertion, SP-initiated)
    and lands on the chat page; the account is keyed on the NameID and carries
    name, email, department and the roles from the groups attribute."""
    from accounts.models import User
    from audit.models import AuditEvent

    site = saml_site["site"]
    page.goto(f"{site}/chat/")
    page.get_by_role("button", name="Sign in with Company SAML").click()
    page.wait_for_url(f"{saml_site['idp']}/**")
    page.click("#btn-sign-in")
    page.wait_for_url(f"{site}/chat/")
    assert "Sally Saml" in page.locator(".user-name").inner_text()

    user = User.objects.get(sso_subject=NAME_ID)
    assert (user.email, user.first_name, user.last_name, user.department) == (
        "sally.saml@company.example",
        "Sally",
        "Saml",
        "Legal",
    )
    assert set(user.groups.values_list("name", flat=True)) == {"Employee", "Compliance reviewer"}
    sign_in = AuditEvent.objects.filter(action="account.sign_in", actor_id=user.pk).get()
    assert sign_in.details == {"method": "saml"}
    response = page.goto(f"{site}/audit/")
    assert response is not None and response.status == 200


def test_sp_metadata_is_public(transactional_db: None, saml_site: dict[str, str]) -> None:
    """The SP metadata the IdP admin imports is served without signing in, with
    the ACS URL and entity ID this site expects."""
    session = requests.Session()
    session.trust_env = False
    site = saml_site["site"]
    reply = session.get(f"{site}/accounts/saml/company/metadata/", timeout=10)
    assert reply.status_code == 200 and "xml" in reply.headers["content-type"]
    assert f'entityID="{site}/accounts/saml/company/metadata/"' in reply.text
    assert f'Location="{site}/accounts/saml/company/acs/"' in reply.text
