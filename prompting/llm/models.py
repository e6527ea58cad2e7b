"""The model allowlist as data, and what a call costs.

Settings hold `LLM_MODELS` as a list of plain dicts (so they can come from the environment or
a JSON file); `parse_model_allowlist` turns them into `ModelSpec`s once, with error messages
that name the entry and field at fault, so a typo fails at start-up rather than mid-request.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from prompting.llm.errors import ModelNotAllowed

__all__ = [
    "DEFAULT_MODELS",
    "ModelAllowlistError",
    "ModelNotAllowed",
    "ModelSpec",
    "cost_usd",
    "default_model",
    "estimate_tokens",
    "parse_model_allowlist",
    "resolve_model",
]

_MILLION = Decimal(1_000_000)
# Costs are stored to the micro-dollar: a one-token call on Haiku costs $0.000001.
COST_QUANTUM = Decimal("0.000001")
# The rule of thumb Anthropic and AWS both give for English text. Used only for estimates
# (the emulator's counts, the "your input is about N tokens" message), never for billing.
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class ModelSpec:
    """One allowed model. `id` is what is sent as Bedrock's `modelId`: a model id, an
    inference-profile id (e.g. `us.anthropic...`) or an ARN."""

    id: str
    label: str
    input_price_per_mtok: Decimal
    output_price_per_mtok: Decimal
    context_window: int
    max_output_tokens: int
    default: bool = False


# Published on-demand prices (USD per million tokens). Claude 4.5 models on Bedrock are only
# invocable through inference profiles, hence the `us.` ids. max_output_tokens is capped below
# the models' 64K because Bedrock reserves maxTokens against the tokens-per-minute quota
# for the whole duration of a call: a smaller cap means fewer throttles. Admins can raise it.
DEFAULT_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        label="Claude Sonnet 4.5",
        input_price_per_mtok=Decimal("3"),
        output_price_per_mtok=Decimal("15"),
        context_window=200_000,
        max_output_tokens=8_192,
        default=True,
    ),
    ModelSpec(
        id="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        label="Claude Haiku 4.5 (fast)",
        input_price_per_mtok=Decimal("1"),
        output_price_per_mtok=Decimal("5"),
        context_window=200_000,
        max_output_tokens=8_192,
    ),
)


class ModelAllowlistError(ValueError):
    """LLM_MODELS is malformed. The message names the entry and the field."""


_REQUIRED = (
    "id",
    "label",
    "input_price_per_mtok",
    "output_price_per_mtok",
    "context_window",
    "max_output_tokens",
)
_KNOWN = frozenset(_REQUIRED) | {"default"}


def _price(where: str, value: Any) -> Decimal:
    # bool is an int subclass; True as a price is certainly a mistake.
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ModelAllowlistError(f"{where}: must be a number, got {value!r}")
    try:
        # Through str so that 0.1 (a float) becomes Decimal("0.1"), not 0.1000000000000000055…
        price = Decimal(str(value))
    except InvalidOperation:
        raise ModelAllowlistError(f"{where}: must be a number, got {value!r}") from None
    if not price.is_finite() or price < 0:
        raise ModelAllowlistError(f"{where}: must be a non-negative number, got {value!r}")
    return price


def _positive_int(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ModelAllowlistError(f"{where}: must be a positive integer, got {value!r}")
    return value


def _non_blank(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ModelAllowlistError(f"{where}: must be a non-empty string, got {value!r}")
    return value


def _parse_entry(index: int, raw: Any) -> ModelSpec:
    where = f"LLM_MODELS[{index}]"
    if not isinstance(raw, dict):
        raise ModelAllowlistError(f"{where}: must be a dict, got {type(raw).__name__}")
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise ModelAllowlistError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise ModelAllowlistError(f"{where}: unknown field(s) {', '.join(unknown)}")
    model_id = _non_blank(f"{where}.id", raw["id"])
    if model_id != model_id.strip() or any(ch.isspace() for ch in model_id):
        raise ModelAllowlistError(f"{where}.id: must not contain whitespace, got {model_id!r}")
    context_window = _positive_int(f"{where}.context_window", raw["context_window"])
    max_output = _positive_int(f"{where}.max_output_tokens", raw["max_output_tokens"])
    if max_output > context_window:
        raise ModelAllowlistError(
            f"{where}.max_output_tokens: {max_output} exceeds context_window {context_window}"
        )
    default = raw.get("default", False)
    if not isinstance(default, bool):
        raise ModelAllowlistError(f"{where}.default: must be true or false, got {default!r}")
    return ModelSpec(
        id=model_id,
        label=_non_blank(f"{where}.label", raw["label"]),
        input_price_per_mtok=_price(f"{where}.input_price_per_mtok", raw["input_price_per_mtok"]),
        output_price_per_mtok=_price(
            f"{where}.output_price_per_mtok", raw["output_price_per_mtok"]
        ),
        context_window=context_window,
        max_output_tokens=max_output,
        default=default,
    )


def parse_model_allowlist(raw: Sequence[dict[str, Any]]) -> list[ModelSpec]:
    """Validate LLM_MODELS. At least one model, unique ids, at most one `default: true`."""
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise ModelAllowlistError(f"LLM_MODELS: must be a list of dicts, got {type(raw).__name__}")
    if not raw:
        raise ModelAllowlistError("LLM_MODELS: at least one model is required")
    specs = [_parse_entry(index, entry) for index, entry in enumerate(raw)]
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        if spec.id in seen:
            raise ModelAllowlistError(f"LLM_MODELS[{index}].id: duplicate id {spec.id!r}")
        seen.add(spec.id)
    defaults = [spec.id for spec in specs if spec.default]
    if len(defaults) > 1:
        raise ModelAllowlistError(f"LLM_MODELS: more than one default: {', '.join(defaults)}")
    return specs


def model_spec_to_dict(spec: ModelSpec) -> dict[str, Any]:
    """The inverse of parsing: handy for settings defaults (`LLM_MODELS` from DEFAULT_MODELS)."""
    return {
        "id": spec.id,
        "label": spec.label,
        "input_price_per_mtok": str(spec.input_price_per_mtok),
        "output_price_per_mtok": str(spec.output_price_per_mtok),
        "context_window": spec.context_window,
        "max_output_tokens": spec.max_output_tokens,
        "default": spec.default,
    }


def resolve_model(model_id: str, allowlist: Iterable[ModelSpec]) -> ModelSpec:
    """The allowlisted spec for `model_id` (exact match), else ModelNotAllowed."""
    for spec in allowlist:
        if spec.id == model_id:
            return spec
    raise ModelNotAllowed(model_id)


def default_model(allowlist: Sequence[ModelSpec], preferred_id: str | None = None) -> ModelSpec:
    """`preferred_id` (LLM_DEFAULT_MODEL) if given, else the one marked default, else the first."""
    if preferred_id:
        return resolve_model(preferred_id, allowlist)
    for spec in allowlist:
        if spec.default:
            return spec
    if not allowlist:
        raise ModelAllowlistError("LLM_MODELS: at least one model is required")
    return allowlist[0]


def cost_usd(spec: ModelSpec, input_tokens: int, output_tokens: int) -> Decimal:
    """Price of one call in USD, rounded half-up to the micro-dollar."""
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError("token counts cannot be negative")
    raw = (
        Decimal(input_tokens) * spec.input_price_per_mtok
        + Decimal(output_tokens) * spec.output_price_per_mtok
    ) / _MILLION
    return raw.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def estimate_tokens(text: str) -> int:
    """A rough token count (~4 characters per token), for messages and the emulator only."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)
