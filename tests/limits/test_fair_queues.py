"""Judging comes first in the cpu queue: previews and document work wait behind it."""

from __future__ import annotations

from typing import Any

from config import celery_app
from config.redis_client import redis_client
from prompting.runs import dispatch


def test_judging_is_routed_ahead_of_previews_and_documents() -> None:
    def priority(name: str) -> Any:
        return celery_app.amqp.router.route({}, name, (), {}).get("priority") or 0

    assert priority(dispatch.POLICY_STEP) == 0
    assert priority(dispatch.POLICY_PREVIEW) > 0
    assert priority(dispatch.EXTRACT_DOCUMENT) > priority(dispatch.POLICY_PREVIEW)
    assert priority(dispatch.SUMMARY_POLICY_STEP) > 0
    for name in (dispatch.POLICY_PREVIEW, dispatch.EXTRACT_DOCUMENT, dispatch.POLICY_STEP):
        assert celery_app.amqp.router.route({}, name, (), {})["queue"].name == "cpu"


def test_a_chat_judgement_is_taken_before_earlier_previews_on_real_redis() -> None:
    """Messages sent to a queue of the test Redis (no worker reads it): previews sent
    first, then a policy step; a consumer that takes the next message gets the policy
    step, as a cpu worker would."""
    queue = "fairness-test"
    with celery_app.connection_for_write() as connection:
        for name, args in (
            (dispatch.POLICY_PREVIEW, ["r1", 1, None]),
            (dispatch.EXTRACT_DOCUMENT, [7]),
            (dispatch.POLICY_PREVIEW, ["r2", 1, None]),
            (dispatch.POLICY_STEP, ["run-1"]),
        ):
            options = celery_app.amqp.router.route({}, name, (), {})
            celery_app.send_task(
                name,
                args=args,
                queue=queue,
                priority=options.get("priority"),
                connection=connection,
            )
        simple = connection.SimpleQueue(queue)
        try:
            first = simple.get(timeout=5)
            first.ack()
            taken = first.headers["task"]
        finally:
            simple.close()
    assert taken == dispatch.POLICY_STEP
    for key in redis_client().scan_iter(f"{queue}*"):
        redis_client().delete(key)
