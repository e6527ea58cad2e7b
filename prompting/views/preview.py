"""POST /policy/preview: what the policy would do with this text (async: waits on Redis)."""

from __future__ import annotations

import json

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from config.redis_client import async_redis_client
from prompting.errors import ApplicationError, NotFound
from prompting.preview import WAIT_S, preview_request, result_key


@require_POST
async def policy_preview(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    raw_conversation = request.POST.get("conversation_id") or None
    try:
        conversation_id = int(raw_conversation) if raw_conversation else None
        request_id = await sync_to_async(preview_request)(
            user=user, text=request.POST.get("text", ""), conversation_id=conversation_id
        )
    except (NotFound, ValueError):
        raise Http404 from None
    except ApplicationError as exc:
        return JsonResponse({"error": exc.user_message, "code": exc.code}, status=exc.status)
    client = async_redis_client()
    try:
        reply = await client.blpop([result_key(request_id)], timeout=WAIT_S)  # type: ignore[misc]
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
