"""Model output is Markdown, never trusted as HTML: rendered on the server, then
sanitized with an allowlist (nh3). No script, no event handlers, no images (they
would load from wherever the model points), links only to http(s)/mailto.

The rules live in ONE file, `markdown_policy.json`, which the browser reads too
(`static/js/markdown.js`: markdown-it + DOMPurify, the same parser family as
markdown-it-py here), so an answer rendered while it streams and the same answer
rendered here agree (`tests/js/test_markdown_agreement.py` compares them).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.tasklists import tasklists_plugin

POLICY_PATH = Path(__file__).with_name("markdown_policy.json")


@cache
def markdown_policy() -> dict[str, Any]:
    """The shared policy, as the page receives it (json_script "markdown-policy")."""
    policy: dict[str, Any] = json.loads(POLICY_PATH.read_text(encoding="utf-8"))
    return policy


@cache
def _parser() -> MarkdownIt:
    options = markdown_policy()["markdown"]
    parser = MarkdownIt(options["preset"], options["options"])
    parser.enable(options["enable"]).disable(options["disable"])
    return parser.use(tasklists_plugin, label=options["task_lists"]["label"])


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    return {k: re.compile(v) for k, v in markdown_policy()["attribute_patterns"].items()}


def _attribute_filter(_tag: str, attribute: str, value: str) -> str | None:
    pattern = _patterns().get(attribute)
    if pattern is None or pattern.fullmatch(value):
        return value
    return None


def render_markdown(text: str) -> str:
    # Raw HTML in the model's Markdown is escaped by the parser (html: false), and
    # whatever the parser emits is held to the allowlist by nh3.
    policy = markdown_policy()
    html = _parser().render(text)
    return nh3.clean(
        html,
        tags=set(policy["tags"]),
        attributes={tag: set(names) for tag, names in policy["attributes"].items()},
        attribute_filter=_attribute_filter,
        set_tag_attribute_values=policy["force_attributes"],
        url_schemes=set(policy["url_schemes"]),
        link_rel=policy["link_rel"],
        strip_comments=True,
    )
