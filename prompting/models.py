"""Conversations, messages, generation runs, policy versions and templates.

Original (unsanitized) user text lives only here, with the conversation, and is
purged with it after CONVERSATION_RETENTION_DAYS. The pseudonym mapping is
encrypted at rest (prompting/crypto.py).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Tool(models.TextChoices):
    CHAT = "chat", "Chat"
    REWRITE = "rewrite", "Rewrite"
    SUMMARIZE = "summarize", "Summarize"


class PolicyVersion(models.Model):
    """One immutable version of the data-processing policy. Editing creates a new row."""

    version = models.PositiveIntegerField(unique=True)
    rules = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Policy v{self.version}"


class Conversation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    tool = models.CharField(max_length=20, choices=Tool.choices, default=Tool.CHAT)
    title = models.CharField(max_length=200, blank=True)
    model_id = models.CharField(max_length=200)
    # Fernet token of the PseudonymMap JSON; deleted with the conversation.
    pseudonym_map_encrypted = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "tool", "-updated_at"])]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    # What the user typed / what is shown to the owner (placeholders restored).
    content = models.TextField(blank=True)
    # What Bedrock saw (user) or said (assistant), with placeholders.
    sanitized_content = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role} message {self.pk}"


class Run(models.Model):
    """One generation: a call (or a refusal to call) to Bedrock."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        STREAMING = "streaming", "Streaming"
        DONE = "done", "Done"
        BLOCKED = "blocked", "Blocked"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"
        CANCELLED = "cancelled", "Cancelled"

    FINAL_STATUSES = frozenset(
        {Status.DONE, Status.BLOCKED, Status.FAILED, Status.INTERRUPTED, Status.CANCELLED}
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="runs"
    )
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="runs")
    user_message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    assistant_message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    tool = models.CharField(max_length=20, choices=Tool.choices, default=Tool.CHAT)
    # Rewrite: the preset key (or "custom"), carried into the audit events for insights.
    preset = models.CharField(max_length=40, null=True, blank=True)
    # Summaries of long documents: one run per part (map) under the combining run (reduce).
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="parts"
    )
    part_index = models.PositiveIntegerField(null=True, blank=True)
    # Summaries: the section titles a part covered (the reduce run: all of them), so the
    # result can say what fed it; and the output cap that the chosen length sets.
    source_sections = models.JSONField(default=list, blank=True)
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True)
    document = models.ForeignKey(
        "Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    model_id = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    policy_version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=20, blank=True)  # allow|pseudonymize|redact|block
    findings_summary = models.JSONField(default=dict, blank=True)  # counts by entity type
    # Findings the employee marked as false positives, with reasons.
    overrides = models.JSONField(default=list, blank=True)
    system_prompt = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the policy allowed it: the generator's pickup deadline counts from here.
    judged_at = models.DateTimeField(null=True, blank=True)
    # One entry per Bedrock request of this run ({"n", "outcome", "ms", "backoff_ms"}).
    attempts = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES


class Document(models.Model):
    """An uploaded or pasted document for Summarize. The text is extracted in a worker."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        EXTRACTING = "extracting", "Reading the document"
        READY = "ready", "Ready"
        FAILED = "failed", "Could not be read"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents"
    )
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    filename = models.CharField(max_length=255, blank=True)
    declared_type = models.CharField(max_length=100, blank=True)  # from the extension
    size_bytes = models.PositiveBigIntegerField(default=0)
    upload = models.FileField(upload_to="uploads/%Y/%m/", blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    error_message = models.TextField(blank=True)
    text = models.TextField(blank=True)
    # [{"title": str, "start": int, "end": int}] — headings/pages, for "which sections fed it".
    sections = models.JSONField(default=list, blank=True)
    token_estimate = models.PositiveIntegerField(null=True, blank=True)
    # Sentences about what extraction skipped (e.g. pages without text), shown with it.
    notes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename or f"Pasted text {self.pk}"


class Feedback(models.Model):
    class Rating(models.IntegerChoices):
        DOWN = -1, "Thumbs down"
        UP = 1, "Thumbs up"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="feedback")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    rating = models.SmallIntegerField(choices=Rating.choices)
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on message {self.message_id}"


class PromptTemplate(models.Model):
    """A template for its owner, their department, or everyone. `shared` means "everyone
    sees it": an Admin's own choice, or an Admin's approval of an employee's request
    (audience "everyone" with shared False is waiting for that approval)."""

    class Audience(models.TextChoices):
        PRIVATE = "private", "Only me"
        DEPARTMENT = "department", "My department"
        EVERYONE = "everyone", "Everyone"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompt_templates"
    )
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.PRIVATE)
    shared = models.BooleanField(default=False)
    tool = models.CharField(max_length=20, choices=Tool.choices, default=Tool.CHAT)
    title = models.CharField(max_length=120)
    body = models.TextField(max_length=20_000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
