"""Start-up safety: one clear line for a bad variable, and no unsafe production start.

Entry points call `exit_on_config_error` so a bad variable is one line, not a traceback.

`production_problems` is the one list of what makes a DEBUG=false start unsafe (issue 15):
an empty, short or unusable secret, TESTING set, no SSO provider, no ALLOWED_HOSTS.
Settings raise the first problem as a ConfigError when DEBUG is false, so the web server
(uvicorn config.asgi), the Celery worker and beat (celery -A config), and every
`manage.py` command refuse to start with one sentence naming the variable;
`manage.py check --deploy` reports the same list as errors through `deploy_check`, whatever
DEBUG says, so a configuration can be vetted before it is deployed.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from config.env import ConfigError

# Django's own deploy check wants 50 characters with at least 5 different ones.
SECRET_KEY_MIN_CHARS = 50
SECRET_KEY_MIN_UNIQUE = 5


@contextmanager
def exit_on_config_error() -> Iterator[None]:
    try:
        yield
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def secret_key_problem(name: str, value: str) -> str | None:
    if not value:
        return (
            f"{name} is required when DEBUG is false: set at least "
            f"{SECRET_KEY_MIN_CHARS} random characters"
        )
    if (
        len(value) < SECRET_KEY_MIN_CHARS
        or len(set(value)) < SECRET_KEY_MIN_UNIQUE
        or value.startswith("django-insecure-")
    ):
        return f"{name} is malformed: use at least {SECRET_KEY_MIN_CHARS} random characters"
    return None


def fernet_keys_problem(name: str, value: str) -> str | None:
    """PSEUDONYM_KEY: one Fernet key, or a comma list (the first encrypts, see crypto.py)."""
    from cryptography.fernet import Fernet

    keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        return (
            f"{name} is required when DEBUG is false: a Fernet key (python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")'
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            which = "" if len(keys) == 1 else f" (key {position} of {len(keys)})"
            return (
                f"{name} is malformed{which}: each key must be a Fernet key "
                "(32 url-safe base64 bytes)"
            )
    return None


def signing_key_problem(name: str, value: str) -> str | None:
    # By name, like settings: audit.signing is plain Python, and accounts (which registers
    # deploy_check) may not import audit (the import contracts in pyproject.toml).
    private_key = importlib.import_module("audit.signing").private_key

    if not value:
        return (
            f"{name} is required when DEBUG is false: the base64 of a 32-byte Ed25519 key "
            "(`manage.py audit_keygen` makes one)"
        )
    try:
        private_key(value)
    except ValueError:
        return (
            f"{name} is malformed: use the base64 of a 32-byte Ed25519 key "
            "(`manage.py audit_keygen` makes one)"
        )
    return None


def production_problems(
    *,
    secret_key: str,
    secret_key_fallbacks: Sequence[str] = (),
    pseudonym_key: str,
    audit_signing_key: str,
    testing: bool,
    sso_configured: bool,
    allowed_hosts: Sequence[str],
) -> list[str]:
    """Every reason a production (DEBUG=false) start would be unsafe, one sentence each,
    each naming its variable; empty when it is safe."""
    problems = [
        secret_key_problem("SECRET_KEY", secret_key),
        *(secret_key_problem("SECRET_KEY_FALLBACKS", k) for k in secret_key_fallbacks),
        None
        if allowed_hosts
        else "ALLOWED_HOSTS is required when DEBUG is false (comma-separated host names)",
        "TESTING is set: it is for the test suite only; unset it (or set TESTING=false) "
        "when DEBUG is false"
        if testing
        else None,
        None
        if sso_configured
        else "SSO_OIDC_SERVER_URL is required when DEBUG is false: configure OIDC or SAML sign-in",
        fernet_keys_problem("PSEUDONYM_KEY", pseudonym_key),
        signing_key_problem("AUDIT_SIGNING_KEY", audit_signing_key),
    ]
    return [p for p in problems if p]


def problems_of(settings: Any) -> list[str]:
    return production_problems(
        secret_key=settings.SECRET_KEY,
        secret_key_fallbacks=list(getattr(settings, "SECRET_KEY_FALLBACKS", [])),
        pseudonym_key=settings.PSEUDONYM_KEY,
        audit_signing_key=settings.AUDIT_SIGNING_KEY,
        testing=settings.TESTING,
        sso_configured=settings.SSO_CONFIGURED,
        allowed_hosts=settings.ALLOWED_HOSTS,
    )


def refuse_unsafe_start(problems: list[str]) -> None:
    """Called by settings when DEBUG is false: the first problem stops the process."""
    if problems:
        raise ConfigError(problems[0])


def deploy_check(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """`manage.py check --deploy`: the same problems as system-check errors."""
    from django.conf import settings
    from django.core.checks import Error

    return [
        Error(problem, id=f"config.E{index:03d}")
        for index, problem in enumerate(problems_of(settings), start=1)
    ]
