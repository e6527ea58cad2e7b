"""A redacted placeholder in the answer is shown to the employee as text, not swallowed
as an unknown HTML tag by the Markdown renderer and its sanitizer."""

from __future__ import annotations

from prompting.rendering import render_markdown


def test_a_redacted_placeholder_is_shown_in_the_rendered_answer() -> None:
    html = render_markdown("I refunded card <CREDIT_CARD_1> for **Olga**.")
    assert html.strip() == "<p>I refunded card &lt;CREDIT_CARD_1&gt; for <strong>Olga</strong>.</p>"


def test_real_html_is_still_not_interpreted() -> None:
    html = render_markdown("<script>alert(1)</script><img src=x onerror=alert(1)>")
    # Shown as text (escaped), never as elements: "onerror" may appear as words.
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert render_markdown("see <b_1>").strip() == "<p>see &lt;b_1&gt;</p>"
