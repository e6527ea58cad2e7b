"""Shared fixtures: users by role, the embedded Redis, and CI's no-skip rule."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"

pytest_plugins = ["tests.support.live", "tests.support.redis_fixtures", "tests.support.s3"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """The owner creates and migrates the test database (tests/support/audit_db.py)."""
    from tests.support import audit_db

    audit_db.before_setup()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Then tests run as the application's role, and flush through test-only objects."""
    from tests.support import audit_db

    with django_db_blocker.unblock():
        audit_db.after_setup()
    with audit_db.flush_patched():
        yield
    with django_db_blocker.unblock():
        audit_db.before_teardown()


def pytest_configure(config: pytest.Config) -> None:
    # Tests start their own embedded Redis when REDIS_URL is not set, before any
    # test (or worker thread) needs it; it stops with the session.
    from django.conf import settings

    if settings.USES_EMBEDDED_REDIS:
        from config import embedded_redis

        socket_path = settings.EMBEDDED_REDIS_SOCKET
        if not embedded_redis.is_up(socket_path):
            config._embedded_redis = embedded_redis.start(socket_path)  # type: ignore[attr-defined]
    if settings.TESTING:
        # `make test` owns this Redis database: stale Celery messages or streams
        # from an earlier, killed run must not leak into this one.
        from config.redis_client import redis_client

        redis_client().flushdb()


def pytest_unconfigure(config: pytest.Config) -> None:
    process = getattr(config, "_embedded_redis", None)
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


# The newcomer's subset (`make test-newcomer`, and `.ci/run` on a fresh clone with no
# environment variables): configuration, the policy, the audit log and one chat end to end.
NEWCOMER_DIRECTORIES = ("tests/config/", "tests/audit/", "tests/prompting/policy/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(f"/{d}" in f"/{item.nodeid}" for d in NEWCOMER_DIRECTORIES):
            item.add_marker(pytest.mark.newcomer)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """In CI a test that would be skipped (missing chromium, node, …) fails instead."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"


class Dispatched(list[tuple[str, tuple[Any, ...]]]):
    """The steps dispatched (task name, args), in order. Names in `inline` also run here,
    at once, as the worker would run them."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: set[str] = set()

    def names(self) -> list[str]:
        return [name for name, _args in self]


@pytest.fixture
def dispatched() -> Iterator[Dispatched]:
    """Redirect every dispatched step (prompting/runs/dispatch.py) to a list instead of
    Celery: tests without a worker see what would have been queued. Dispatch still waits
    for the commit: wrap the action in `django_capture_on_commit_callbacks(execute=True)`."""
    from config import celery_app
    from prompting import tasks  # registers the tasks, so `inline` can run them
    from prompting.runs import dispatch

    assert tasks.policy_step.name == dispatch.POLICY_STEP
    record = Dispatched()

    def sender(name: str, args: Any) -> None:
        record.append((name, tuple(args)))
        if name in record.inline:
            celery_app.tasks[name](*args)

    with dispatch.sending_to(sender):
        yield record


def make_user(username: str, *roles: str, department: str = "Support") -> Any:
    from accounts.models import User
    from accounts.roles import EMPLOYEE
    from accounts.services import user_roles_sync

    user = User.objects.create(
        username=username,
        email=f"{username}@example.com",
        display_name=username.capitalize(),
        department=department,
        sso_provider="oidc",
        sso_subject=f"sub-{username}",
    )
    user_roles_sync(user=user, roles={EMPLOYEE, *roles}, source="test")
    return user


@pytest.fixture
def alice(db: None) -> Any:
    return make_user("alice")


@pytest.fixture
def bob(db: None) -> Any:
    return make_user("bob", department="Finance")


@pytest.fixture
def reviewer(db: None) -> Any:
    from accounts.roles import COMPLIANCE_REVIEWER

    return make_user("rita", COMPLIANCE_REVIEWER, department="COO office")


@pytest.fixture
def admin_user(db: None) -> Any:
    from accounts.roles import ADMIN

    return make_user("adam", ADMIN, department="IT")


@pytest.fixture(autouse=True)
def _fresh_limit_counters(request: pytest.FixtureRequest) -> Iterator[None]:
    """Limit counters live in Redis, outside the test's rolled-back transaction, and user
    ids repeat between tests: each test starts with none (limits/counters.py). Outside
    tests/limits/ the in-process defaults are "no limit", so a test that sends five
    messages as one user tests its feature, not the limits (live stacks keep the real
    defaults: their settings come from the environment)."""
    from django.conf import settings

    from config.redis_client import redis_client
    from limits import policy

    client = redis_client()
    keys = list(client.scan_iter("lim:*", count=1000))
    if keys:
        client.delete(*keys)
    if "tests/limits/" in request.node.nodeid:
        yield
        return
    saved = settings.LIMITS_USER_DEFAULTS, settings.LIMITS_DEPARTMENT_DEFAULTS
    settings.LIMITS_USER_DEFAULTS, settings.LIMITS_DEPARTMENT_DEFAULTS = {}, {}
    policy.user_defaults.cache_clear()
    policy.department_defaults.cache_clear()
    try:
        yield
    finally:
        settings.LIMITS_USER_DEFAULTS, settings.LIMITS_DEPARTMENT_DEFAULTS = saved
        policy.user_defaults.cache_clear()
        policy.department_defaults.cache_clear()
