from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("", views.insights_page, name="page"),
    path("export/<slug:slug>.csv", views.insights_csv, name="csv"),
    path("reports/<str:month>.<str:file_format>", views.report_download, name="report_download"),
]
