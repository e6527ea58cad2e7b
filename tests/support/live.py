"""Fixtures for tests through the real parts: uvicorn, a Celery worker, the Bedrock
emulator, and headless Chromium. Registered from tests/conftest.py."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from config.supervisor import Service
from tests.support.processes import (
    OUTPUT,
    start_web,
    start_worker,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def _test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture(scope="session")
def live_env(django_db_setup: None, django_db_blocker: Any) -> dict[str, str]:
    """Environment for product subprocesses: the test database and the test Redis."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "TESTING": "true",
            "DEBUG": "true",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture(scope="session")
def bedrock_emulator(live_env: dict[str, str]) -> Iterator[Any]:
    """The project's Bedrock emulator, in this process (so tests can read `.received`),
    reached over HTTP by the worker subprocesses and by this process."""
    from prompting.llm.emulator import EmulatorDefaults, start_emulator

    server, _thread = start_emulator(defaults=EmulatorDefaults(ttft_ms=30, token_delay_ms=5))
    live_env["BEDROCK_ENDPOINT_URL"] = server.url
    live_env["BEDROCK_EMULATOR"] = "true"
    live_env["BEDROCK_READ_TIMEOUT"] = "4"  # stalled-stream tests finish quickly
    previous = (settings.BEDROCK_ENDPOINT_URL, settings.BEDROCK_EMULATOR)
    settings.BEDROCK_ENDPOINT_URL, settings.BEDROCK_EMULATOR = server.url, True
    yield server
    settings.BEDROCK_ENDPOINT_URL, settings.BEDROCK_EMULATOR = previous
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def celery_worker_process(live_env: dict[str, str], bedrock_emulator: str) -> Iterator[Service]:
    """A real Celery worker process consuming both queues from the test Redis."""
    # No beat here: the reaper is tested on private stacks (tests/support/stack.py), and
    # a second reaper on this shared database would finish their runs against this
    # stack's Redis, so their browsers would never hear of it.
    worker = start_worker(live_env, beat=False)
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def live_site(
    live_env: dict[str, str], bedrock_emulator: Any, celery_worker_process: Service
) -> Iterator[str]:
    """The site under uvicorn (ASGI, like production), with a worker and the emulator."""
    web, url = start_web(live_env)
    yield url
    web.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls
    # made by the test itself are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context; a screenshot is saved under test-output/screenshots."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    (OUTPUT / "screenshots").mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
    try:
        page.screenshot(path=str(OUTPUT / "screenshots" / f"{name}.png"), full_page=True)
    finally:
        context.close()


def sign_in(page: Any, base_url: str, user: Any) -> None:
    """Give the browser a session for `user` (as Django's force_login does)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base_url}]
    )


# The per-test private stack (own Redis, workers, beat, web) for tests that break things.
from tests.support.stack import private_stack  # noqa: E402, F401
