from django.urls import path

from limits import views

app_name = "limits"

urlpatterns = [
    path("", views.usage_page, name="usage"),
    # Two fixed addresses, not a parameter: nothing here names an object of someone's.
    path("users.csv", views.usage_csv, {"kind": "users"}, name="usage_users_csv"),
    path(
        "departments.csv",
        views.usage_csv,
        {"kind": "departments"},
        name="usage_departments_csv",
    ),
]
