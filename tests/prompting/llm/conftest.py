"""Fixtures: a real emulator on a free port, and real boto3 clients pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from prompting.llm.client import install_call_hooks
from prompting.llm.emulator import EmulatorDefaults, EmulatorServer, start_emulator
from prompting.llm.models import ModelSpec

# Fast defaults: the tests are about behaviour, the benchmark is about timing.
TEST_TTFT_MS = 20
TEST_TOKEN_DELAY_MS = 2


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    server, thread = start_emulator(
        defaults=EmulatorDefaults(ttft_ms=TEST_TTFT_MS, token_delay_ms=TEST_TOKEN_DELAY_MS)
    )
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def make_client(emulator: EmulatorServer) -> Callable[..., Any]:
    """A fresh boto3 client per test (not the cached one), so timeouts can differ per test."""

    def make(*, read_timeout: float = 10.0) -> Any:
        client = boto3.client(
            "bedrock-runtime",
            endpoint_url=emulator.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(
                connect_timeout=2,
                read_timeout=read_timeout,
                # As the product's client: botocore never retries (client.RetryPolicy does).
                retries={"mode": "standard", "total_max_attempts": 1},
            ),
        )
        install_call_hooks(client)
        return client

    return make


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    return make_client()


@pytest.fixture
def sonnet() -> ModelSpec:
    from decimal import Decimal

    return ModelSpec(
        id="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        label="Claude Sonnet 4.5",
        input_price_per_mtok=Decimal("3"),
        output_price_per_mtok=Decimal("15"),
        context_window=200_000,
        max_output_tokens=1_000,
        default=True,
    )


@pytest.fixture
def unique() -> str:
    """A word no other test sends, to find this test's requests in the emulator's log."""
    return f"tag{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sent(emulator: EmulatorServer) -> Callable[[str], list[Any]]:
    """The requests the emulator received whose last user message contains a word."""

    def find(word: str) -> list[Any]:
        return [r for r in list(emulator.received) if word in r.last_user_text]

    return find
