from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_page, name="login"),
    path("dev-login/", views.dev_login, name="dev_login"),
    path("logout/", views.logout_view, name="logout"),
    path("signed-out/", views.signed_out, name="signed_out"),
    # Included before allauth.urls under the same prefix, so these shadow
    # allauth's connections page and social sign-up form.
    path("3rdparty/", views.not_offered),
    path("3rdparty/signup/", views.not_offered),
]
