"""The model allowlist: validation with clear messages, lookup, defaults, and cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from prompting.llm.errors import ModelNotAllowed
from prompting.llm.models import (
    DEFAULT_MODELS,
    ModelAllowlistError,
    ModelSpec,
    cost_usd,
    default_model,
    model_spec_to_dict,
    parse_model_allowlist,
    resolve_model,
)


def entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "label": "Haiku",
        "input_price_per_mtok": "1",
        "output_price_per_mtok": 5,
        "context_window": 200_000,
        "max_output_tokens": 8_192,
    }
    base.update(overrides)
    return base


def test_valid_allowlist_parses_prices_as_exact_decimals() -> None:
    """Prices become Decimals; a float 0.1 becomes exactly Decimal('0.1')."""
    [spec] = parse_model_allowlist([entry(input_price_per_mtok=0.1)])
    assert spec.input_price_per_mtok == Decimal("0.1")
    assert spec.output_price_per_mtok == Decimal("5")
    assert spec.default is False


def test_default_models_survive_a_round_trip_through_settings_dicts() -> None:
    """DEFAULT_MODELS, written as LLM_MODELS dicts, parse back to the same specs."""
    assert parse_model_allowlist([model_spec_to_dict(s) for s in DEFAULT_MODELS]) == list(
        DEFAULT_MODELS
    )
    assert [s.id for s in DEFAULT_MODELS if s.default] == [
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "at least one model"),
        ("us.anthropic.x", "must be a list"),
        (["not a dict"], "LLM_MODELS[0]: must be a dict"),
        ([{k: v for k, v in entry().items() if k != "label"}], "LLM_MODELS[0]: missing label"),
        ([entry(colour="blue")], "unknown field(s) colour"),
        ([entry(id="")], "LLM_MODELS[0].id: must be a non-empty string"),
        ([entry(id="a model")], "must not contain whitespace"),
        ([entry(input_price_per_mtok="cheap")], ".input_price_per_mtok: must be a number"),
        ([entry(output_price_per_mtok=-1)], ".output_price_per_mtok: must be a non-negative"),
        ([entry(input_price_per_mtok=True)], ".input_price_per_mtok: must be a number"),
        ([entry(input_price_per_mtok="NaN")], "must be a non-negative number"),
        ([entry(context_window=0)], ".context_window: must be a positive integer"),
        ([entry(max_output_tokens="8192")], ".max_output_tokens: must be a positive integer"),
        ([entry(max_output_tokens=300_000)], "exceeds context_window"),
        ([entry(default="yes")], ".default: must be true or false"),
        ([entry(), entry(label="again")], "LLM_MODELS[1].id: duplicate id"),
        (
            [entry(default=True), entry(id="b", default=True)],
            "more than one default",
        ),
    ],
)
def test_invalid_allowlists_are_refused_with_the_field_named(raw: Any, message: str) -> None:
    """Every malformed LLM_MODELS fails with a message naming the entry and field."""
    with pytest.raises(ModelAllowlistError) as caught:
        parse_model_allowlist(raw)
    assert message in str(caught.value)


def test_resolve_model_refuses_ids_not_on_the_allowlist() -> None:
    """Only exact ids are allowed; a near miss (base id instead of profile) is refused."""
    assert resolve_model(DEFAULT_MODELS[1].id, DEFAULT_MODELS) is DEFAULT_MODELS[1]
    with pytest.raises(ModelNotAllowed) as caught:
        resolve_model("anthropic.claude-sonnet-4-5-20250929-v1:0", DEFAULT_MODELS)
    assert caught.value.code == "model_not_allowed"
    assert "not available" in caught.value.user_message


def test_default_model_prefers_the_setting_then_the_flag_then_the_first() -> None:
    """LLM_DEFAULT_MODEL wins; else the entry marked default; else the first one."""
    specs = parse_model_allowlist([entry(), entry(id="b", default=True)])
    assert default_model(specs).id == "b"
    assert default_model(specs, specs[0].id) is specs[0]
    assert default_model(parse_model_allowlist([entry(), entry(id="b")])).id == entry()["id"]
    with pytest.raises(ModelNotAllowed):
        default_model(specs, "missing")


@pytest.mark.parametrize(
    ("input_tokens", "output_tokens", "expected"),
    [
        (1_000_000, 0, Decimal("3.000000")),
        (0, 1_000_000, Decimal("15.000000")),
        (1_234, 567, Decimal("0.012207")),  # 0.003702 + 0.008505
        (1, 0, Decimal("0.000003")),
        (0, 0, Decimal("0.000000")),
    ],
)
def test_cost_is_priced_per_million_tokens_to_the_micro_dollar(
    input_tokens: int, output_tokens: int, expected: Decimal
) -> None:
    """Sonnet 4.5 at $3 in / $15 out per million tokens."""
    sonnet = DEFAULT_MODELS[0]
    assert cost_usd(sonnet, input_tokens, output_tokens) == expected


def test_cost_rounds_half_up() -> None:
    """Half a micro-dollar rounds up (0.5 µ$ -> 1 µ$)."""
    spec = ModelSpec("m", "m", Decimal("0.5"), Decimal("0"), 10, 1)
    assert cost_usd(spec, 1, 0) == Decimal("0.000001")
    with pytest.raises(ValueError, match="negative"):
        cost_usd(spec, -1, 0)
