"""POST /policy/preview: what the policy would do with this text (async: waits on Redis).

The server composes what is judged: with `preset` (the Rewrite page), the message is
built by `rewrite_message`, the function that builds what is sent, so the preview's
offsets (and the false-positive marks made on them) match the sent message exactly.
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from config.middleware import signed_in_user
from config.redis_client import async_redis_client
from prompting.errors import ApplicationError, NotFound
from prompting.rewrite.services import rewrite_message
from prompting.runs.preview import WAIT_S, preview_request, result_key
from prompting.summarize import preview as summary_preview


def _preview_start(user: Any, data: dict[str, Any]) -> str:
    raw_conversation = data.get("conversation_id") or None
    conversation_id = int(raw_conversation) if raw_conversation else None
    text = data.get("text", "")
    tool = "chat"
    if data.get("preset"):
        tool = "rewrite"
        text = rewrite_message(
            text=text, preset=data["preset"], instruction=data.get("instruction", "")
        )
    # `attempt=1`: the page refused to send this text because the preview blocks it; the
    # check runs again here (the browser's word is not taken) and a block is recorded as
    # a refused attempt (prompt.blocked), so the reviewer's "Blocked" counts it.
    return preview_request(
        user=user,
        text=text,
        conversation_id=conversation_id,
        attempt_tool=tool if data.get("attempt") == "1" else "",
    )


@require_POST
async def policy_preview(request: HttpRequest) -> JsonResponse:
    user = await signed_in_user(request)
    try:
        request_id = await sync_to_async(_preview_start)(user, request.POST.dict())
    except (NotFound, ValueError):
        raise Http404 from None
    except ApplicationError as exc:
        return JsonResponse({"error": exc.user_message, "code": exc.code}, status=exc.status)
    return await _answer(request_id, WAIT_S)


@require_POST
async def document_policy_preview(request: HttpRequest, document_id: str) -> JsonResponse:
    """Summarize's preview: the whole document, judged as the summary will judge it."""
    user = await signed_in_user(request)
    data = request.POST.dict()
    try:
        request_id = await sync_to_async(summary_preview.document_preview_request)(
            user=user,
            document_id=document_id,
            model_id=data.get("model", ""),
            length=data.get("length", ""),
        )
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        return JsonResponse({"error": exc.user_message, "code": exc.code}, status=exc.status)
    return await _answer(request_id, summary_preview.WAIT_S)


async def _answer(request_id: str, wait_s: int) -> JsonResponse:
    client = async_redis_client()
    try:
        reply = await client.blpop([result_key(request_id)], timeout=wait_s)  # type: ignore[misc]
    finally:
        await client.aclose()
    if reply is None:
        return JsonResponse(
            {
                "error": "The check is taking too long; you can still send, it is checked then.",
                "code": "preview_timeout",
            },
            status=504,
        )
    return JsonResponse(json.loads(reply[1]))
