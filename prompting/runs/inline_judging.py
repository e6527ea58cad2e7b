"""Short messages are judged by the interactive worker that will answer them (issue 13).

A message's usual way is two queue hops: the cpu queue's policy step (a prefork child,
~7.6 ms to get there) judges it and queues its generation on the interactive queue (~5.7
ms more). Most chat messages are a line or two, judged in ~5-15 ms; for them the hops
cost as much as the judging. So a message of at most `POLICY_INLINE_MAX_CHARS` is sent
straight to the interactive queue (`first_step`), and the worker thread that picks it up
judges it and, if it may be sent, answers it at once (`prompting/tasks.py`).

Where that is not faster, the message goes the usual way instead (`run_judge_here`
forwards it to the cpu queue): while this process is already judging another message
(a burst: NER holds the GIL, and the relay threads of every stream this process answers
wait behind it, where the cpu queue has a process per core), and until this process has
loaded the policy engine (the first load takes seconds). Longer texts always go the
usual way. The judging itself is the same function either way (`judging.run_judge_or_block`,
fail closed); what a run may do next is decided by its state, as always, so a message
judged here and forwarded is judged once.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from prompting.runs import dispatch, judging

# One inline judgement at a time per process: a second one would share the same core under
# the GIL (no faster than waiting) while holding up this process's token relays twice as long.
_judging_slot = threading.BoundedSemaphore(1)
# Set once this process has loaded and exercised the policy engine (prompting/tasks.py).
_engine_ready = threading.Event()


def first_step(text: str) -> str:
    """The task that starts a single run for this message text."""
    if len(text) <= settings.POLICY_INLINE_MAX_CHARS:
        return dispatch.JUDGE_THEN_GENERATE
    return dispatch.POLICY_STEP


def mark_engine_ready() -> None:
    _engine_ready.set()


def run_judge_here(*, run_id: Any) -> bool:
    """Judge the run in this thread if this process can do it now; otherwise queue the cpu
    queue's policy step for it. True if it was judged here and may go to Bedrock."""
    if not _engine_ready.is_set() or not _judging_slot.acquire(blocking=False):
        dispatch.dispatch(dispatch.POLICY_STEP, str(run_id))
        return False
    try:
        return judging.run_judge_or_block(run_id=run_id)
    finally:
        _judging_slot.release()
