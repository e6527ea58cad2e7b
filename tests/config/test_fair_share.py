"""config/fair_share.py: one session's burst of POSTs waits its turn; nobody else does.

The gate is ASGI, in front of Django: these drive it with ASGI scopes and an inner app
that holds each request until the test lets it go, so "inside Django" is observable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from config.asgi_scope import session_key
from config.fair_share import PostsPerSessionGate


class HeldApp:
    """Records which requests are inside, and keeps each there until released."""

    def __init__(self) -> None:
        self.inside: list[str] = []
        self.entered: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.most_inside_per_session: dict[bytes | None, int] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        name = scope["name"]
        self.entered.append(name)
        self.inside.append(name)
        key = session_key(scope)
        now = sum(1 for other in self.inside if other.split("#")[0] == name.split("#")[0])
        self.most_inside_per_session[key] = max(self.most_inside_per_session.get(key, 0), now)
        self.release.setdefault(name, asyncio.Event())
        try:
            if scope.get("fail"):
                raise RuntimeError("the view failed")
            await self.release[name].wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
        finally:
            self.inside.remove(name)


def scope(name: str, *, method: str = "POST", cookie: bytes | None = None, **extra: Any) -> dict:
    headers = [(b"cookie", b"csrftoken=t; sessionid=" + cookie)] if cookie else []
    return {"type": "http", "method": method, "path": "/chat/send", "headers": headers} | {
        "name": name,
        **extra,
    }


async def noop_receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def collect(_message: Any) -> None:
    return None


async def settle() -> None:
    for _ in range(10):  # let every runnable task reach its next await
        await asyncio.sleep(0)


def start(gate: PostsPerSessionGate, scopes: list[dict]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(gate(s, noop_receive, collect)) for s in scopes]


async def release_all(app: HeldApp, tasks: list[asyncio.Task[None]]) -> None:
    for event in app.release.values():
        event.set()
    await asyncio.gather(*tasks)


def run(coroutine: Any) -> Any:
    # In a thread of its own: an earlier browser test may leave an event loop running here.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def app_and_gate() -> Iterator[tuple[HeldApp, PostsPerSessionGate]]:
    app = HeldApp()
    yield app, PostsPerSessionGate(app, per_session=2)


def test_a_sessions_burst_is_let_in_two_at_a_time_in_arrival_order(app_and_gate):
    app, gate = app_and_gate

    async def scenario() -> None:
        burst = start(gate, [scope(f"heavy#{i}", cookie=b"H") for i in range(6)])
        await settle()
        assert app.inside == ["heavy#0", "heavy#1"]
        # Another employee's POST goes straight in while four of the burst still wait.
        [other] = start(gate, [scope("other#0", cookie=b"O")])
        await settle()
        assert "other#0" in app.inside
        assert len([n for n in app.inside if n.startswith("heavy")]) == 2
        for i in range(6):
            app.release.setdefault(f"heavy#{i}", asyncio.Event()).set()
            await settle()
        app.release["other#0"].set()
        await asyncio.gather(*burst, other)
        assert [n for n in app.entered if n.startswith("heavy")] == [f"heavy#{i}" for i in range(6)]
        assert gate.sessions_in_progress() == 0  # nothing kept once a session is idle

    run(scenario())
    assert app.most_inside_per_session[b"H"] == 2


def test_gets_and_requests_without_a_session_are_not_held(app_and_gate):
    app, gate = app_and_gate

    async def scenario() -> None:
        scopes = [scope(f"page#{i}", method="GET", cookie=b"H") for i in range(4)]
        scopes += [scope(f"anon#{i}") for i in range(4)]
        tasks = start(gate, scopes)
        await settle()
        assert len(app.inside) == 8
        await release_all(app, tasks)

    run(scenario())


def test_a_failing_request_gives_its_turn_back(app_and_gate):
    app, gate = app_and_gate

    async def scenario() -> None:
        failing = [
            gate(scope(f"heavy#{i}", cookie=b"H", fail=True), noop_receive, collect)
            for i in range(3)
        ]
        results = await asyncio.gather(*failing, return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        assert gate.sessions_in_progress() == 0
        # The session is not left with fewer turns than before.
        later = start(gate, [scope(f"later#{i}", cookie=b"H") for i in range(2)])
        await settle()
        assert sorted(app.inside) == ["later#0", "later#1"]
        await release_all(app, later)

    run(scenario())


def test_a_cancelled_wait_leaves_no_slot_behind(app_and_gate):
    """A browser that disconnects while its POST waits: uvicorn cancels the task."""
    app, gate = app_and_gate

    async def scenario() -> None:
        holders = start(gate, [scope(f"heavy#{i}", cookie=b"H") for i in range(2)])
        [waiting] = start(gate, [scope("heavy#2", cookie=b"H")])
        await settle()
        waiting.cancel()
        await settle()
        await release_all(app, holders)
        assert "heavy#2" not in app.entered
        assert gate.sessions_in_progress() == 0

    run(scenario())


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"sessionid=abc", b"abc"),
        (b"csrftoken=x; sessionid=abc; theme=dark", b"abc"),
        (b"sessionid=", None),
        (b"xsessionid=abc", None),
        (b"csrftoken=x", None),
    ],
)
def test_session_key_reads_the_session_cookie_only(header, expected):
    assert session_key({"headers": [(b"cookie", header)]}) == expected
