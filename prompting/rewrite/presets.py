"""Rewrite presets and how a rewrite request becomes one user message.

The preset instructions are ours (fixed text), so they go in the system prompt. An
employee's own instruction is *their* text: it may name a customer, so it must pass the
policy like the text itself. run_judge judges only the user message, therefore a custom
instruction is put into the user message, on its first line, never in the system prompt.
The browser builds the same message for the policy preview (static/js/rewrite.js,
`composeMessage`), so the offsets of false-positive marks line up.
"""

from __future__ import annotations

from dataclasses import dataclass

ANSWER_ONLY = (
    " Answer with the rewritten text only: no preamble, no explanation, no quotation marks"
    " around it. Keep placeholders such as <PERSON_1> exactly as they are."
)


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    instruction: str


PRESETS: tuple[Preset, ...] = (
    Preset("shorter", "Shorter", "Rewrite the user's text to be shorter, keeping every fact."),
    Preset("formal", "More formal", "Rewrite the user's text in a more formal, professional tone."),
    Preset("friendly", "Friendlier", "Rewrite the user's text in a warmer, friendlier tone."),
    Preset(
        "grammar",
        "Fix grammar and spelling",
        "Correct the grammar, spelling and punctuation of the user's text; change nothing else.",
    ),
    Preset(
        "bullets", "Bullet points", "Rewrite the user's text as a concise list of bullet points."
    ),
    Preset(
        "plain",
        "Plain English",
        "Rewrite the user's text in plain English: short sentences, common words, no jargon.",
    ),
)
PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}
CUSTOM = "custom"

CUSTOM_SYSTEM_PROMPT = (
    "You rewrite text for an employee. The message starts with a line 'Instruction: …' "
    "giving what to do, then a line 'Text:' followed by the text to rewrite. Follow the "
    "instruction." + ANSWER_ONLY
)
INSTRUCTION_PREFIX = "Instruction: "
TEXT_SEPARATOR = "\n\nText:\n"
MAX_INSTRUCTION_CHARS = 1000


def normalize_instruction(instruction: str) -> str:
    """One line: the separator below must be the first blank line of the message."""
    return " ".join(instruction.split())[:MAX_INSTRUCTION_CHARS]


def system_prompt_for(preset_key: str) -> str:
    if preset_key == CUSTOM:
        return CUSTOM_SYSTEM_PROMPT
    return PRESETS_BY_KEY[preset_key].instruction + ANSWER_ONLY


def compose_message(*, preset_key: str, instruction: str, text: str) -> str:
    """The user message Bedrock gets (after the policy): the text, or instruction + text."""
    if preset_key != CUSTOM:
        return text
    return f"{INSTRUCTION_PREFIX}{normalize_instruction(instruction)}{TEXT_SEPARATOR}{text}"


def split_message(content: str, *, custom: bool) -> tuple[str, str]:
    """(instruction, original text) of a stored rewrite message; instruction "" for a preset."""
    if custom and content.startswith(INSTRUCTION_PREFIX) and TEXT_SEPARATOR in content:
        head, _, text = content.partition(TEXT_SEPARATOR)
        if "\n" not in head:
            return head[len(INSTRUCTION_PREFIX) :], text
    return "", content


def label_for(system_prompt: str) -> str:
    """Which preset produced a stored run (for the history list)."""
    for preset in PRESETS:
        if system_prompt == preset.instruction + ANSWER_ONLY:
            return preset.label
    return "Own instruction"
