"""The one SSE client of tests and benchmarks reads events however the bytes are cut."""

from __future__ import annotations

from tests.support.sse import SseEvent, SseParser

STREAM = (
    "retry: 1500\n\n"
    ": heartbeat\n\n"
    'id: 1-0\nevent: delta\ndata: {"text": "Hé"}\n\n'
    'id: 1-1\r\nevent: done\r\ndata: {"text": "Hé!"}\r\n\r\n'
)
EXPECTED = [
    SseEvent("1-0", "delta", {"text": "Hé"}),
    SseEvent("1-1", "done", {"text": "Hé!"}),
]


def test_events_come_out_whole_at_any_cut() -> None:
    """Cut at every position (as chunks of a slow network arrive): the same two events;
    the retry line and the heartbeat comment carry none."""
    for cut in range(len(STREAM) + 1):
        parser = SseParser()
        events = parser.feed(STREAM[:cut]) + parser.feed(STREAM[cut:])
        assert events == EXPECTED, cut


def test_an_unfinished_event_waits_for_its_blank_line() -> None:
    parser = SseParser()
    assert parser.feed('event: delta\ndata: {"text": "a"}\n') == []
    assert parser.feed("\n") == [SseEvent(None, "delta", {"text": "a"})]
