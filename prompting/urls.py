from django.urls import path

from prompting.views import pages, preview, runs, stream

app_name = "prompting"

urlpatterns = [
    path("chat/", pages.chat, name="chat"),
    path("rewrite/", pages.rewrite, name="rewrite"),
    path("summarize/", pages.summarize, name="summarize"),
    path("policy/preview", preview.policy_preview, name="policy_preview"),
    path("runs/<str:run_id>/", runs.run_status, name="run_status"),
    path("runs/<str:run_id>/events", stream.run_events, name="run_events"),
    path("runs/<str:run_id>/cancel", runs.run_cancel, name="run_cancel"),
    path("runs/<str:run_id>/retry", runs.run_retry, name="run_retry"),
]
