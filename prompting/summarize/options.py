"""What an employee chooses for a summary (length, style) and the instructions each
becomes. The page's choices and the script's labels come from here (forms.py), so the
form, the prompt and the page cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

from prompting.summarize.parts import describe_sections


@dataclass(frozen=True)
class Length:
    label: str
    words: str  # what the model is asked for
    max_output_tokens: int  # the cap, which also bounds the cost estimate


@dataclass(frozen=True)
class Style:
    label: str
    instruction: str


LENGTHS: dict[str, Length] = {
    "short": Length("Short", "about 150 words", 400),
    "medium": Length("Medium", "about 400 words", 1_000),
    "long": Length("Long", "about 900 words", 2_400),
}
DEFAULT_LENGTH = "medium"
STYLES: dict[str, Style] = {
    "bullets": Style(
        "Bullet points", "Write the summary as Markdown bullet points, most important first."
    ),
    "executive": Style(
        "Executive summary",
        "Write an executive summary: a one-sentence bottom line, then short paragraphs on "
        "findings, risks and decisions needed.",
    ),
    "actions": Style(
        "Action items",
        "List the action items as a Markdown checklist: who (if named), what, and by when "
        "(if stated). Then one line on anything left open.",
    ),
}
DEFAULT_STYLE = "bullets"
PLACEHOLDER_RULE = (
    "Placeholders such as <PERSON_1> or <EMAIL_ADDRESS_2> stand for personal data that was "
    "removed; keep them exactly as written and never guess what they stand for."
)


def instructions(length: str, style: str) -> str:
    return f"{STYLES[style].instruction} Length: {LENGTHS[length].words}. {PLACEHOLDER_RULE}"


def part_label(part_index: int, total: int, titles: list[str]) -> str:
    where = describe_sections(titles)
    return f"Part {part_index + 1} of {total}" + (f" ({where})" if where else "")
