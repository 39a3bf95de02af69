"""The time, as sessions and login throttling see it: ``now()`` reads the app's ``CLOCK``
setting (a callable returning an aware datetime) when there is one, so tests move time forward
instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, has_app_context

from accounts.models import utcnow


def now() -> datetime:
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return aware(clock())
    return utcnow()


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored in UTC): read them as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
