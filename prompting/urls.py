from django.urls import path

from prompting.views import pages

app_name = "prompting"

urlpatterns = [
    path("chat/", pages.chat, name="chat"),
    path("rewrite/", pages.rewrite, name="rewrite"),
    path("summarize/", pages.summarize, name="summarize"),
]
