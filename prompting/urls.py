from django.urls import path

from prompting.views import (
    chat,
    preview,
    prompt_templates,
    rewrite,
    runs,
    stream,
    summarize,
)

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
    path(
        "templates/<int:template_id>/moderate",
        prompt_templates.template_moderate,
        name="template_moderate",
    ),
    path("summarize/", summarize.summarize_page, name="summarize"),
    path("summarize/<uuid:run_id>/", summarize.summary_page, name="summarize_summary"),
    path("summarize/<uuid:run_id>/delete", summarize.summary_delete, name="summarize_delete"),
    # Upload routes start with /summarize/documents: config/upload_limit.py guards them.
    path("summarize/documents", summarize.document_upload, name="summarize_upload"),
    path(
        "summarize/documents/<str:document_id>",
        summarize.document_status,
        name="summarize_document",
    ),
    path(
        "summarize/documents/<str:document_id>/start",
        summarize.summary_start,
        name="summarize_start",
    ),
    path(
        "summarize/documents/<str:document_id>/preview",
        preview.document_policy_preview,
        name="summarize_preview",
    ),
    path("summarize/runs/<str:run_id>", summarize.summary_result, name="summarize_result"),
    path("summarize/runs/<str:run_id>/cancel", summarize.summary_cancel, name="summarize_cancel"),
    path("policy/preview", preview.policy_preview, name="policy_preview"),
    path("runs/<str:run_id>/", runs.run_status, name="run_status"),
    path("runs/<str:run_id>/events", stream.run_events, name="run_events"),
    path("runs/<str:run_id>/cancel", runs.run_cancel, name="run_cancel"),
    path("runs/<str:run_id>/retry", runs.run_retry, name="run_retry"),
]
