from django.urls import path

from prompting.views import chat, pages, preview, prompt_templates, rewrite, runs, stream

app_name = "prompting"

urlpatterns = [
    path("chat/", chat.chat_page, name="chat"),
    path("chat/send", chat.chat_send, name="chat_send"),
    path("chat/<int:conversation_id>/", chat.chat_conversation, name="chat_conversation"),
    path("chat/<int:conversation_id>/rename", chat.chat_rename, name="chat_rename"),
    path("chat/<int:conversation_id>/delete", chat.chat_delete, name="chat_delete"),
    path("messages/<int:message_id>/feedback", chat.message_feedback, name="message_feedback"),
    path("rewrite/", rewrite.rewrite_page, name="rewrite"),
    path("rewrite/send", rewrite.rewrite_send, name="rewrite_send"),
    path("rewrite/<int:conversation_id>/", rewrite.rewrite_detail, name="rewrite_detail"),
    path("templates/", prompt_templates.template_list, name="template_list"),
    path("templates/new", prompt_templates.template_create, name="template_create"),
    path("templates/<int:template_id>/edit", prompt_templates.template_edit, name="template_edit"),
    path(
        "templates/<int:template_id>/delete",
        prompt_templates.template_delete,
        name="template_delete",
    ),
    path("summarize/", pages.summarize, name="summarize"),
    path("policy/preview", preview.policy_preview, name="policy_preview"),
    path("runs/<str:run_id>/", runs.run_status, name="run_status"),
    path("runs/<str:run_id>/events", stream.run_events, name="run_events"),
    path("runs/<str:run_id>/cancel", runs.run_cancel, name="run_cancel"),
    path("runs/<str:run_id>/retry", runs.run_retry, name="run_retry"),
]
