"""Evidence files attached to questions: checked, stored outside the static folder, served as
downloads only.

A file is accepted when its extension is on the allow-list *and* its content starts the way
that type does (magic bytes; for the zip-based office formats, the parts that make them what
they are), so a renamed executable or HTML page is refused. Files are written under the
app's ``UPLOAD_FOLDER`` with a random name (``secrets.token_hex``); the name people gave it is
kept, sanitised, only as the download name. Deleting marks the row; :func:`purge_deleted`
removes the files later.

An evidence question's answer mirrors its files: its :class:`~surveys.models.Answer` holds the
names of the files currently attached (None when there are none), so that completeness,
progress, relevance (``${doc} != ''``) and the answer history all see evidence like any
other answer.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session, col, select

from accounts.models import User, utcnow
from accounts.services import audit
from rubrics.schema import Rubric
from surveys import answers as store
from surveys.evidence.models import Evidence
from surveys.models import Assessment, PendingSave

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 10 * MiB
CHUNK = 64 * 1024

CONTENT_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "txt": "text/plain",
    "csv": "text/csv",
}
"""The allow-list: extension -> the content type it is stored and served with."""

ACCEPT = ",".join(f".{ext}" for ext in CONTENT_TYPES)
"""For ``<input type=file accept=...>`` (a hint to the browser; the server decides)."""

# Control characters that never appear in text files (tab, newlines, form feed and the DOS
# end-of-file mark aside): their presence means binary content under a .txt or .csv name.
_BINARY_BYTES = bytes(set(range(32)) - {9, 10, 11, 12, 13, 26})
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


class EvidenceError(ValueError):
    """A file that is refused. ``reason`` is one of ``type``, ``content``, ``size``, ``empty``."""

    def __init__(self, reason: str, filename: str, *, limit: int | None = None) -> None:
        self.reason = reason
        self.filename = filename
        self.limit = limit
        super().__init__(f"{filename}: {reason}")


def upload_folder(config: Any) -> Path:
    """Where evidence files are stored (the app's UPLOAD_FOLDER)."""
    return Path(config["UPLOAD_FOLDER"])


def max_bytes(config: Any) -> int:
    """The per-file limit: EVIDENCE_MAX_BYTES (default 10 MiB), never above the limit of the
    page's request (UPLOAD_REQUEST_MAX_BYTES, else MAX_CONTENT_LENGTH)."""
    limit = int(config.get("EVIDENCE_MAX_BYTES") or DEFAULT_MAX_BYTES)
    request_limit = config.get("UPLOAD_REQUEST_MAX_BYTES") or config.get("MAX_CONTENT_LENGTH")
    return min(limit, int(request_limit)) if request_limit else limit


def sanitise_filename(name: str) -> str:
    """A file name safe to keep and to offer as a download name: no path, no control,
    invisible formatting or reserved characters, no leading dots, at most 200 characters
    (extension kept). Letters of every script are kept (Greek names stay Greek)."""
    name = unicodedata.normalize("NFC", name or "")
    # Invisible format characters (bidirectional overrides such as U+202E, which show
    # "invoice\u202efdp.exe" as "invoiceexe.pdf", zero-width characters) are dropped.
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_NAME.sub("_", name)
    name = " ".join(name.split()).lstrip(". ")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext[:16]
    stem = stem[: 200 - len(ext) - 1].rstrip(". ") or "evidence"
    return f"{stem}.{ext}" if ext else stem


def extension(filename: str) -> str:
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot else ""


def sniff(ext: str, path: Path) -> bool:
    """Whether the file's content is what its extension says."""
    with path.open("rb") as handle:
        head = handle.read(2048)
    if ext == "pdf":
        return b"%PDF-" in head[:1024]
    if ext == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if ext in ("docx", "xlsx"):
        part = "word/document.xml" if ext == "docx" else "xl/workbook.xml"
        return head.startswith(b"PK\x03\x04") and _zip_has(path, {"[Content_Types].xml", part})
    if ext in ("odt", "ods"):
        return head.startswith(b"PK\x03\x04") and _odf_is(path, CONTENT_TYPES[ext])
    if ext in ("txt", "csv"):
        return _is_text(path)
    return False


def _zip_has(path: Path, names: set[str]) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:  # reads the directory only, extracts nothing
            return names <= set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _odf_is(path: Path, mimetype: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            if "content.xml" not in archive.namelist():
                return False
            with archive.open("mimetype") as member:
                return member.read(len(mimetype) + 1) == mimetype.encode()
    except (zipfile.BadZipFile, KeyError, OSError):
        return False


def _is_text(path: Path) -> bool:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            if any(byte in _BINARY_BYTES for byte in chunk):
                return False
    return True


@dataclass(frozen=True)
class Upload:
    """What the view hands over: the name the browser sent and a readable stream."""

    filename: str
    stream: IO[bytes]


def store_evidence(
    session: Session,
    assessment: Assessment,
    *,
    question_id: str,
    upload: Upload,
    folder: Path,
    limit: int,
    user: User | None,
) -> Evidence:
    """Check ``upload`` and store it as evidence for ``question_id``; raises
    :class:`EvidenceError` (and keeps nothing) when it is refused. A file identical to one
    already attached to the question (same name and content) is not stored twice."""
    original = sanitise_filename(upload.filename)
    ext = extension(original)
    if ext not in CONTENT_TYPES:
        raise EvidenceError("type", original)
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    target = folder / stored_name
    partial = folder / f"{stored_name}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        # O_EXCL: a random name never replaces a file; 0o600: only the app reads it.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := upload.stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise EvidenceError("size", original, limit=limit)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise EvidenceError("empty", original)
        if not sniff(ext, partial):
            raise EvidenceError("content", original)
        same = session.exec(
            select(Evidence).where(
                Evidence.assessment_id == assessment.id,
                Evidence.question_id == question_id,
                Evidence.sha256 == digest.hexdigest(),
                Evidence.original_filename == original,
                col(Evidence.deleted_at).is_(None),
            )
        ).first()
        if same is not None:  # the same file sent twice (a double click, a retry): kept once
            return same
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    evidence = Evidence(
        assessment_id=assessment.id,  # type: ignore[arg-type]
        question_id=question_id,
        original_filename=original,
        stored_name=stored_name,
        size=size,
        content_type=CONTENT_TYPES[ext],
        sha256=digest.hexdigest(),
        uploaded_by_id=user.id if user else None,
    )
    session.add(evidence)
    session.flush()
    _audit(session, "evidence_uploaded", evidence, assessment.organization_id, user)
    return evidence


def _audit(
    session: Session, action: str, evidence: Evidence, organization_id: int, user: User | None
) -> None:
    audit(
        session,
        actor=user,
        action=action,
        object_type="evidence",
        object_id=evidence.id,
        organization_id=organization_id,
        assessment_id=evidence.assessment_id,
        question_id=evidence.question_id,
        filename=evidence.original_filename,
        sha256=evidence.sha256,
    )


def live_evidence(session: Session, assessment_id: int) -> dict[str, list[Evidence]]:
    """The files currently attached, by question id, oldest first."""
    rows = session.exec(
        select(Evidence)
        .where(Evidence.assessment_id == assessment_id, col(Evidence.deleted_at).is_(None))
        .order_by(col(Evidence.uploaded_at), col(Evidence.id))
    ).all()
    found: dict[str, list[Evidence]] = {}
    for row in rows:
        found.setdefault(row.question_id, []).append(row)
    return found


def find_evidence(session: Session, assessment_id: int, evidence_id: int) -> Evidence | None:
    """The assessment's live file ``evidence_id`` (None: another assessment's, or deleted)."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.assessment_id != assessment_id or evidence.deleted_at:
        return None
    return evidence


def delete_evidence(session: Session, evidence: Evidence, *, user: User | None) -> None:
    """Mark ``evidence`` deleted; the file stays on disk until :func:`purge_deleted`."""
    evidence.deleted_at = utcnow()
    evidence.deleted_by_id = user.id if user else None
    session.add(evidence)
    session.flush()
    assessment = session.get(Assessment, evidence.assessment_id)
    organization_id = assessment.organization_id if assessment else 0
    _audit(session, "evidence_removed", evidence, organization_id, user)


def sync_answers(
    session: Session,
    assessment: Assessment,
    rubric: Rubric,
    question_ids: Iterable[str],
    *,
    user: User | None,
) -> None:
    """Make the answers of the evidence questions among ``question_ids`` list their files."""
    kinds = {q.id: q.type for _, _, q in rubric.questions()}
    wanted = [qid for qid in dict.fromkeys(question_ids) if kinds.get(qid) == "evidence"]
    if not wanted:
        return
    files = live_evidence(session, assessment.id)  # type: ignore[arg-type]
    answers = store.answers_of(session, assessment.id)  # type: ignore[arg-type]
    values = {qid: [f.original_filename for f in files.get(qid, [])] or None for qid in wanted}
    # Based on the stored version: a file added or removed is never a conflict.
    versions = {qid: answers[qid].version if qid in answers else None for qid in wanted}
    store.save_answers(session, assessment, values=values, base_versions=versions, user=user)


def path_of(folder: Path, evidence: Evidence) -> Path:
    return folder / evidence.stored_name


def purge_deleted(session: Session, folder: Path, *, before: datetime) -> int:
    """Remove the files of evidence deleted before ``before`` (the rows stay, for the record),
    and questionnaire pages stashed before then and never replayed. Returns files removed."""
    removed = 0
    rows = session.exec(
        select(Evidence).where(
            col(Evidence.deleted_at).is_not(None), col(Evidence.deleted_at) < before
        )
    ).all()
    for row in rows:
        path = path_of(folder, row)
        if path.exists():
            path.unlink()
            removed += 1
    for pending in session.exec(select(PendingSave).where(col(PendingSave.created_at) < before)):
        session.delete(pending)
    session.flush()
    return removed
