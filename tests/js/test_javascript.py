"""The JavaScript unit tests (node's built-in runner) run as part of `make test`, and the
server's Markdown rendering agrees with the browser's for a corpus of answers."""

from __future__ import annotations

import json
import shutil
import subprocess

from prompting.rendering import render_markdown
from tests.support.processes import ROOT

NODE = shutil.which("node")
JSDOM = ROOT / "frontend" / "node_modules" / "jsdom"


def _require_tools() -> str:
    assert NODE, "node is required (apt-get install nodejs); see README"
    assert JSDOM.exists(), "run `make e2e-deps` (npm ci in frontend/) first"
    return NODE


def test_node_unit_tests_pass() -> None:
    node = _require_tools()
    result = subprocess.run(
        [node, "--test", "tests/js/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = [line for line in result.stdout.splitlines() if line.startswith("# ")]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed = next(int(line.split()[-1]) for line in summary if line.startswith("# pass"))
    assert passed >= 10, summary


CORPUS = [
    "Plain text.",
    '**bold**, *em*, `code`, ~~gone~~ and a [link](https://example.com/a?b=1&c=2 "title").',
    "# H1\n\n## H2\n\n### H3\n\ntext",
    "- a\n- b\n  - nested\n\n1. one\n2. two\n\n7. seven",
    "- [ ] open task\n- [x] done task with **bold**",
    "> quoted\n> > nested quote\n\nafter",
    "| a | b |\n|:--|--:|\n| 1 | 2 |\n| x | `y` |",
    "```python\ndef f():\n    return '<b>'\n```\n\n```\nno language\n```",
    "    indented code\n\ntext",
    "Line one  \nhard break\nsoft break",
    "<script>alert(1)</script> <b>raw</b> &amp; &lt;",
    "[js](javascript:alert(1)) [data](data:text/html,x) [mail](mailto:a@b.example)",
    "![image](https://tracker.example/p.png)",
    "***\n\n---\n\nText_with_underscores and 2 * 3 * 4",
    "A | not a table\n\n| unterminated",
    "[ref]\n\n[ref]: https://example.com",
    "Autolink <https://example.com> and www.example.com",
    "Card <CREDIT_CARD_1> was refunded to <PERSON_1>; see <EMAIL_ADDRESS_2>.",
]


def test_placeholders_the_answer_keeps_are_shown_as_text() -> None:
    """A redacted or typed placeholder looks like an HTML tag; with raw HTML off it is
    text, not a dropped element ("card  was refunded")."""
    html = render_markdown("Card <CREDIT_CARD_1> was refunded to <PERSON_1>.")
    assert html == "<p>Card &lt;CREDIT_CARD_1&gt; was refunded to &lt;PERSON_1&gt;.</p>\n"


def test_the_server_and_the_browser_render_markdown_alike() -> None:
    node = _require_tools()
    cases = [{"text": text, "server": render_markdown(text)} for text in CORPUS]
    result = subprocess.run(
        [node, "tests/js/agreement.mjs"],
        cwd=ROOT,
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout) == []
