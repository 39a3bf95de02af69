"""Signals other packages listen to (rubrics cannot import them: they sit above it)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

version_published = _signals.signal("version-published")
"""Sent by :func:`rubrics.services.publish` with the session as sender and ``version=``."""
