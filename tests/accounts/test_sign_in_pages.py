"""The sign-in surface: no password pages anywhere, Django admin's login sends
people to SSO, sign-out is audited, and next= stays on the site."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/password/change/",
        "/accounts/password/set/",
        "/accounts/email/",
        "/accounts/login/code/confirm/",
        "/accounts/reauthenticate/",
        "/accounts/3rdparty/",
        "/accounts/3rdparty/signup/",
        "/accounts/social/connections/",
    ],
)
@pytest.mark.parametrize("signed_in", [False, True])
def test_password_and_signup_pages_do_not_exist(
    client: Client, alice: Any, path: str, signed_in: bool
) -> None:
    """Socialaccount-only mode: local sign-up, password and connection pages
    lead to a 404 (an anonymous visitor may first be asked to sign in), never
    to a form."""
    if signed_in:
        client.force_login(alice)
    response = client.get(path, follow=True)
    if response.status_code == 200:
        assert not signed_in and response.redirect_chain[-1][0].startswith("/accounts/login/")
    else:
        assert response.status_code == 404


@pytest.mark.django_db
def test_login_post_with_a_password_is_not_a_sign_in(client: Client, alice: Any) -> None:
    """Posting a username and password to the sign-in page signs nobody in."""
    alice.set_password("hunter2-hunter2")
    alice.save()
    client.post("/accounts/login/", {"login": "alice", "password": "hunter2-hunter2"})
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/admin/login/?next=/admin/"])
def test_admin_login_redirects_to_site_sign_in(client: Client, path: str) -> None:
    """Django admin's password form is replaced by a redirect to the site's sign-in."""
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_admin_login_rejects_password_posts(client: Client, alice: Any) -> None:
    """Even a correct password posted to admin's login signs nobody in."""
    alice.set_password("hunter2-hunter2")
    alice.is_staff = True
    alice.save()
    client.post("/admin/login/", {"username": "alice", "password": "hunter2-hunter2"})
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_admin_for_signed_in_non_admin_is_403_not_a_loop(client: Client, alice: Any) -> None:
    """A signed-in employee opening the admin gets the 403 page, not a redirect loop."""
    client.force_login(alice)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 1


@pytest.mark.django_db
def test_admin_role_opens_the_admin(client: Client, admin_user: Any) -> None:
    """The Admin role (is_staff from user_roles_sync) reaches Django admin after SSO."""
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/x", "https:evil.example", "/\\evil.example"],
)
def test_next_to_another_host_is_ignored(client: Client, alice: Any, next_url: str) -> None:
    """A signed-in user visiting the sign-in page with an off-site next= stays here."""
    client.force_login(alice)
    response = client.get("/accounts/login/", {"next": next_url})
    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.django_db
def test_next_on_this_site_is_kept(client: Client, alice: Any) -> None:
    """A relative next= is honoured."""
    client.force_login(alice)
    assert client.get("/accounts/login/", {"next": "/audit/"})["Location"] == "/audit/"


@pytest.mark.django_db
def test_sign_out_ends_the_session_and_is_audited(client: Client, alice: Any) -> None:
    """Sign-out (POST) ends the session, records account.sign_out and shows the
    signed-out page (no IdP link without OIDC)."""
    client.force_login(alice)
    response = client.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/signed-out/"
    assert b"You are signed out" in response.content
    assert b"sign out of the company account" not in response.content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="account.sign_out", actor=alice).exists()


@pytest.mark.django_db
def test_sign_out_by_get_does_nothing(client: Client, alice: Any) -> None:
    """A GET (an image tag on another site) cannot sign anyone out."""
    client.force_login(alice)
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session


@pytest.mark.django_db
def test_pages_require_sign_in(client: Client) -> None:
    """Anonymous visitors are sent to the sign-in page, keeping where they were going."""
    response = client.get("/chat/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/chat/"


@pytest.mark.django_db
def test_allauth_error_pages_use_the_site_layout(client: Client) -> None:
    """allauth's own pages (here: sign-in cancelled) render inside base.html."""
    response = client.get("/accounts/3rdparty/login/cancelled/")
    assert response.status_code == 200
    assert b"Sign-in cancelled" in response.content
    assert b'class="site-header"' in response.content
