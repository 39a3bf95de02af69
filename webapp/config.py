"""Configuration defaults. Environment variables (``SECRET_KEY``, ``DATABASE_URL``, and any
``EVALUATOR_*`` key) override them; see README.md "Configuration"."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused outside debug/testing

MiB = 1024 * 1024


def defaults(instance_path: str) -> dict[str, Any]:
    return {
        "SECRET_KEY": DEV_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'evaluator.sqlite3'}",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 20 * MiB,
        "MAX_FORM_MEMORY_SIZE": 2 * MiB,
        "UPLOAD_FOLDER": str(Path(instance_path) / "uploads"),
        "EVIDENCE_MAX_BYTES": 10 * MiB,
        "BABEL_DEFAULT_LOCALE": "en",
        "LANGUAGES": ["en", "el"],
        "PEER_MIN_GROUP": 5,  # the smallest peer group whose statistics a scorecard shows
        # E-mail (accounts.mail): no MAIL_SERVER, no mail; links are shown and logged instead.
        "MAIL_SERVER": None,
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_FROM": "evaluator@localhost",
        "BASE_URL": None,  # e.g. https://evaluator.example.org, for links in messages
        "INVITATION_DAYS": 7,
        "RESET_HOURS": 2,
        "REMINDER_DAYS": 7,  # remind NGOs this many days before the deadline
        # A questionnaire page's request (answers and evidence files): larger than one file's
        # limit, so that a file too large is refused alone and the typed answers are saved.
        "UPLOAD_REQUEST_MAX_BYTES": 100 * MiB,
        "SESSION_IDLE_MINUTES": 120,  # a login ends after this long without a request
        "LOGIN_THROTTLE_WINDOW": 15 * 60,  # seconds over which failed logins are counted
        "LOGIN_ACCOUNT_LIMIT": 10,  # failed logins per account within the window
        "LOGIN_ADDRESS_LIMIT": 50,  # failed logins per address within the window
        "LOGIN_THROTTLE_REDIS_URL": None,  # count failed logins in Redis instead of the database
        "HTTPS": None,  # Secure cookies and HSTS; None: on, except in debug and testing
        "TRUSTED_ORIGINS": [],  # other origins whose pages may post here (besides our own)
        "TRUSTED_PROXIES": 0,  # reverse proxies in front: trust that many X-Forwarded-* hops
        "API_RATE_LIMIT": 600,  # API requests per token per window (0: no limit)
        "API_RATE_WINDOW": 60,  # seconds
    }


def from_environment() -> dict[str, Any]:
    """The settings given by the environment (``SECRET_KEY``, ``DATABASE_URL``)."""
    found: dict[str, Any] = {}
    for key in ("SECRET_KEY", "DATABASE_URL"):
        if os.environ.get(key):
            found[key] = os.environ[key]
    return found


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
