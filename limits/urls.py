from django.urls import path

from limits import views

app_name = "limits"

urlpatterns = [
    path("", views.usage_page, name="usage"),
    path("<str:kind>.csv", views.usage_csv, name="usage_csv"),
]
