from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_page, name="login"),
    path("dev-login/", views.dev_login, name="dev_login"),
    path("logout/", views.logout_view, name="logout"),
]
