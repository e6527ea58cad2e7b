from __future__ import annotations

from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import DevLoginForm
from accounts.oidc import end_session_url


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


def _sso_buttons(request: HttpRequest, next_url: str) -> list[dict[str, str]]:
    """One button per configured provider, each a POST to allauth's login view
    (allauth refuses to start a sign-in on GET: SOCIALACCOUNT_LOGIN_ON_GET off)."""
    buttons = []
    for app in get_social_adapter().list_apps(request):
        provider = app.get_provider(request)
        buttons.append(
            {"name": provider.name, "url": provider.get_login_url(request, next=next_url)}
        )
    return buttons


@login_not_required
def login_page(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    return render(
        request,
        "accounts/login.html",
        {"next": next_url, "sso_buttons": _sso_buttons(request, next_url)},
    )


@login_not_required
def dev_login(request: HttpRequest) -> HttpResponse:
    if not settings.DEV_LOGIN_ENABLED:
        raise Http404
    form = DevLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.dev_user_sign_in(**form.cleaned_data)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_safe_next(request))
    return render(request, "accounts/dev_login.html", {"form": form, "next": _safe_next(request)})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.user_sign_out(user=request.user)
    logout(request)
    return redirect("accounts:signed_out")


@login_not_required
def signed_out(request: HttpRequest) -> HttpResponse:
    """This site's session is gone; the IdP's may live on, so offer its sign-out."""
    return render(request, "accounts/signed_out.html", {"idp_sign_out_url": end_session_url()})


@login_not_required
def admin_login(request: HttpRequest) -> HttpResponse:
    """Django admin's own password form replaced: admins sign in through SSO."""
    if request.user.is_authenticated:
        # Signed in but not staff: sending them to sign in again would loop.
        raise PermissionDenied
    next_url = _safe_next(request)
    return redirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")


@login_not_required
def not_offered(request: HttpRequest) -> HttpResponse:
    """allauth pages that have no place in SSO-only sign-in (account connections,
    the social sign-up form)."""
    raise Http404
