"""Model output is Markdown, never trusted as HTML: rendered on the server, then
sanitized with an allowlist (nh3). No script, no event handlers, no images (they
would load from wherever the model points), links only to http(s)/mailto."""

from __future__ import annotations

import re

import markdown
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

# A placeholder the answer keeps (a redacted `<CREDIT_CARD_1>`, a typed `<PERSON_1>`)
# looks like an HTML tag to Markdown, and the sanitizer would drop it: the employee would
# see "card  was refunded". Written as entities, it is shown as text.
_PLACEHOLDER_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9_]*_[0-9]{1,30})>")


def render_markdown(text: str) -> str:
    # Raw HTML in the model's Markdown is escaped by nh3 below, not interpreted.
    text = _PLACEHOLDER_TAG.sub(r"&lt;\1&gt;", text)
    html = markdown.markdown(text, extensions=["fenced_code", "tables", "sane_lists"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
