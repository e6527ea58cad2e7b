"""A browser following one run, as EventSource does: reconnect after the server's
`retry:` delay with Last-Event-ID, to whatever web address is current (a restarted web
process may listen elsewhere). Records when each event arrived, for "final within 30 s"."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.support.sse import TERMINAL, SseEvent, iter_events, open_stream

RECONNECT_S = 1.5


@dataclass
class Followed:
    events: list[SseEvent] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # time.monotonic() of each event
    connections: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def deltas(self) -> list[SseEvent]:
        return [e for e in self.events if e.event == "delta"]

    @property
    def shown(self) -> str:
        return "".join(e.data["text"] for e in self.deltas)

    @property
    def final(self) -> SseEvent | None:
        last = self.events[-1] if self.events else None
        return last if last is not None and last.event in TERMINAL else None

    @property
    def final_at(self) -> float | None:
        return self.arrived[-1] if self.final is not None else None

    def statuses(self) -> list[str]:
        return [e.data.get("message", "") for e in self.events if e.event == "status"]

    def assert_each_entry_once(self) -> None:
        ids = [e.id for e in self.events if e.id]
        assert len(ids) == len(set(ids)), f"an entry was delivered twice: {ids}"
        numbers = [tuple(int(p) for p in i.split("-")) for i in ids]
        assert numbers == sorted(numbers), f"entries out of order: {ids}"


class Browser:
    """Follows `run` in a thread until a final event or `deadline_s`."""

    def __init__(self, base_url: str, run: Any, cookie: str, *, deadline_s: float = 60) -> None:
        self.base_url = base_url
        self.path = f"/runs/{run.pk}/events"
        self.cookie = cookie
        self.seen = Followed()
        self._deadline = time.monotonic() + deadline_s
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def wait(self, timeout: float = 60) -> Followed:
        self.seen.done.wait(timeout)
        return self.seen

    def _follow(self) -> None:
        last_id: str | None = None
        try:
            while time.monotonic() < self._deadline:
                try:
                    connection, response = open_stream(
                        self.base_url, self.path, self.cookie, last_event_id=last_id, timeout=30
                    )
                except OSError:
                    time.sleep(RECONNECT_S)
                    continue
                self.seen.connections += 1
                try:
                    if response.status == 200:
                        for event in iter_events(response):
                            self.seen.events.append(event)
                            self.seen.arrived.append(time.monotonic())
                            last_id = event.id or last_id
                            if event.event in TERMINAL:
                                return
                except (OSError, http.client.HTTPException):
                    pass
                finally:
                    connection.close()
                time.sleep(RECONNECT_S)
        finally:
            self.seen.done.set()
