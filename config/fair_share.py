"""One browser session's burst of POSTs does not crowd out everyone else's in a web process.

Django runs each request's synchronous part in a thread of its own; under the GIL, N
requests in progress share one core N ways. When one employee fires 40 sends at once (or
a script 1,000), another employee's one message gets 1/41 of the web process until they
are all through — and every one of those 40 is answered (most with a refusal from the
limits, which still costs a session read, the limits' look and an audit event).

`PostsPerSessionGate` wraps the ASGI application: at most `WEB_POSTS_PER_SESSION` POSTs of
one session cookie are inside Django at a time; the rest wait here, on the event loop,
in arrival order (asyncio.Semaphore is FIFO), costing nothing while they wait. Other
sessions are never held back by it. GETs (pages, SSE streams) and requests without a
session cookie pass straight through: streams are capped per employee elsewhere
(limits/streams.py), and sign-in traffic has no session to group by yet.

The cookie is not verified here (that needs the database): a forged or stale cookie only
groups the requests that carry it. Admission — what an employee may run — stays with
limits/ (per employee, across every process); this only orders work inside one process.
"""

from __future__ import annotations

import asyncio

from django.conf import settings

from config.asgi_scope import ASGIApp, Receive, Scope, Send, session_key


class _Slots:
    """The semaphore of one session and how many requests hold or wait for it."""

    __slots__ = ("requests", "semaphore")

    def __init__(self, size: int) -> None:
        self.semaphore = asyncio.Semaphore(size)
        self.requests = 0


class PostsPerSessionGate:
    def __init__(self, app: ASGIApp, *, per_session: int | None = None) -> None:
        self.app = app
        self.per_session = per_session or int(settings.WEB_POSTS_PER_SESSION)
        # Only sessions with a POST in progress or waiting are here (no growth over time).
        self._sessions: dict[bytes, _Slots] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = session_key(scope) if scope["type"] == "http" and scope["method"] == "POST" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        slots = self._sessions.get(key)
        if slots is None:
            slots = self._sessions[key] = _Slots(self.per_session)
        slots.requests += 1
        try:
            async with slots.semaphore:
                await self.app(scope, receive, send)
        finally:
            slots.requests -= 1
            if slots.requests == 0:
                del self._sessions[key]

    def sessions_in_progress(self) -> int:
        return len(self._sessions)
