"""Values people send that the app reads as ids or as a place to go back to.

Every id column is a 32-bit ``INTEGER`` on PostgreSQL, and SQLite refuses integers above
2^63 - 1 with an ``OverflowError``: an id read from a URL or a form is parsed here, and anything
that is not one (a sign, a superscript digit that ``str.isdigit`` accepts, a number above
:data:`MAX_ID`) reads as no id at all, so it can only ever match nothing.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_ID = 2**31 - 1
"""The largest id any table holds (PostgreSQL's ``INTEGER``)."""

_ID = re.compile(r"[0-9]{1,10}")
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x1f\x7f\\]")
MAX_NEXT_LENGTH = 2000


def parse_id(raw: object) -> int | None:
    """``raw`` as an id (0..MAX_ID), or None: ASCII digits only, no sign, no spaces."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 0 <= raw <= MAX_ID else None
    if not isinstance(raw, str) or not _ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects, no header
    injection): it starts with one ``/``, holds no control character (CR/LF would split the
    ``Location`` header) and no backslash (browsers read ``/\\host`` as ``//host``)."""
    if not target or len(target) > MAX_NEXT_LENGTH:
        return None
    if not target.startswith("/") or target.startswith("//") or _UNSAFE_IN_PATH.search(target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
        return None
    if parts.scheme or parts.netloc:
        return None
    return target
