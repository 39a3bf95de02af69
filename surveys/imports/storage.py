"""An upload kept between the dry run and the import: the file's bytes and what the dry run
saw, under the upload folder with a random name, read back only as data (never executed, never
served), only by the person who uploaded it for the same cycle, and deleted after an hour."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEEP_SECONDS = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class Stored:
    token: str
    data: bytes
    meta: dict[str, Any]


def folder_of(upload_folder: str | Path) -> Path:
    return Path(upload_folder) / "imports"


def keep(folder: Path, data: bytes, meta: dict[str, Any]) -> str:
    """Store an upload; return its token. Old uploads are removed on the way."""
    folder.mkdir(parents=True, exist_ok=True)
    purge(folder)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.upload").write_bytes(data)
    update(folder, token, meta)
    return token


def update(folder: Path, token: str, meta: dict[str, Any]) -> None:
    (folder / f"{token}.json").write_text(json.dumps({**meta, "at": time.time()}))


def load(folder: Path, token: str, *, user_id: int | None, cycle_id: int) -> Stored | None:
    """The upload ``token``, if it is this person's for this cycle and not expired."""
    if not _TOKEN.match(token):
        return None
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / f"{token}.upload").read_bytes()
    except (OSError, ValueError):
        return None
    if (
        not isinstance(meta, dict)
        or meta.get("user_id") != user_id
        or meta.get("cycle_id") != cycle_id
        or time.time() - float(meta.get("at", 0)) > KEEP_SECONDS
    ):
        return None
    return Stored(token, data, meta)


def forget(folder: Path, token: str) -> None:
    for suffix in (".upload", ".json"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def purge(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.glob("*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:  # removed by another request meanwhile
            continue
