from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config.health import healthz, healthz_live, healthz_ready
from config.metrics import metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/live", healthz_live, name="healthz_live"),
    path("healthz/ready", healthz_ready, name="healthz_ready"),
    path("metrics", metrics_view, name="metrics"),
    path("", RedirectView.as_view(pattern_name="prompting:chat", permanent=False), name="home"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("audit/", include("audit.urls")),
    path("insights/", include("insights.urls")),
    path("usage/", include("limits.urls")),
    path("", include("prompting.urls")),
    path(settings.ADMIN_URL_PATH, admin.site.urls),
]

handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
