"""The codebook in use, and saving an edited one.

Where an edited codebook lives: in the database (:class:`~rubrics.models.CodebookRevision`),
not in the repository's file nor in the instance folder. The file ``rubrics/codebook.yaml`` is
the seed, in use until the first save. The database because it is what every worker and every
server of an installation shares (an instance folder is per machine), what ``flask backup``
copies, and where a compare-and-set between two evaluators saving at once is one unique
constraint; and because each save is kept, who changed the codebook and when is never lost.

Services take the session and flush; the view commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from accounts.models import User
from accounts.services import audit
from rubrics.codebook import CODEBOOK_FILE, Codebook, check_links, load_codebook_text
from rubrics.models import CodebookRevision, RubricRecord, RubricVersion, VersionStatus
from rubrics.schema import RubricError, parse_rubric

SOURCE = "codebook.yaml"  # the name problems are reported under (FILE:LINE)


class CodebookConflict(Exception):
    """Someone saved the codebook after the revision the editor started from."""

    def __init__(self, seen: int, current: int) -> None:
        super().__init__(f"the codebook is at revision {current}, the edit started from {seen}")
        self.seen = seen
        self.current = current


class CodebookInUse(ValueError):
    """An edited codebook that published rubric versions would no longer validate against
    (a code they use removed, a scale that leaves their mapping out of range)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CurrentCodebook:
    codebook: Codebook
    text: str
    revision: CodebookRevision | None  # None: the shipped file

    @property
    def number(self) -> int:
        return self.revision.number if self.revision is not None else 0


_parsed: dict[str, Codebook] = {}  # content hash -> codebook (a revision's text never changes)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def latest_revision(session: Session) -> CodebookRevision | None:
    return session.exec(
        select(CodebookRevision).order_by(col(CodebookRevision.number).desc())
    ).first()


def current_codebook(session: Session) -> CurrentCodebook:
    """The codebook in use: the newest saved revision, else the shipped file."""
    revision = latest_revision(session)
    if revision is None:
        text = CODEBOOK_FILE.read_text(encoding="utf-8")
        key = _hash(text)
    else:
        text, key = revision.text, revision.content_hash
    codebook = _parsed.get(key)
    if codebook is None:
        codebook = load_codebook_text(text, SOURCE)
        if len(_parsed) > 32:
            _parsed.clear()
        _parsed[key] = codebook
    return CurrentCodebook(codebook, text, revision)


def active_codebook(session: Session) -> Codebook:
    """The codebook rubrics are checked against (at upload, in the editor, at publication)."""
    return current_codebook(session).codebook


def broken_links(session: Session, codebook: Codebook) -> list[str]:
    """What ``codebook`` would break in the published rubric versions, one line each."""
    found: list[str] = []
    rows = session.exec(
        select(RubricRecord.code, RubricVersion.number, RubricVersion.content)
        .join(RubricRecord, col(RubricRecord.id) == col(RubricVersion.rubric_id))
        .where(col(RubricVersion.status) == VersionStatus.PUBLISHED.value)
        .order_by(col(RubricRecord.code), col(RubricVersion.number))
    ).all()
    for code, number, content in rows:
        try:
            rubric = parse_rubric(content)
        except RubricError:  # pragma: no cover - a published version validated when published
            continue
        found.extend(
            f"{code} v{number}: {problem.dotted}: {problem.message}"
            for problem in check_links(rubric, codebook)
        )
    return found


def save_codebook(
    session: Session, text: str, *, seen: int, by: User | None = None
) -> CodebookRevision:
    """Store ``text`` as the codebook in use, if it was edited from revision ``seen``.

    Raises :class:`~rubrics.loader.RubricFileError` (problems at ``FILE:LINE``) for a codebook
    that does not validate, :class:`CodebookInUse` when published rubric versions would no
    longer validate against it, :class:`CodebookConflict` when someone saved since ``seen``
    (also when two saves race: the revision number is unique, one insert wins).
    """
    codebook = load_codebook_text(text, SOURCE)
    broken = broken_links(session, codebook)
    if broken:
        raise CodebookInUse(broken)
    latest = latest_revision(session)
    current = latest.number if latest is not None else 0
    if current != seen:
        raise CodebookConflict(seen, current)
    revision = CodebookRevision(
        number=seen + 1,
        text=text,
        content_hash=_hash(text),
        created_by_id=by.id if by is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(revision)
    except IntegrityError:
        raise CodebookConflict(seen, seen + 1) from None
    _parsed[revision.content_hash] = codebook
    audit(
        session,
        actor=by,
        action="codebook_saved",
        object_type="codebook_revision",
        object_id=revision.id,
        number=revision.number,
        indicators=len(codebook.indicators),
    )
    return revision


def history(session: Session, limit: int = 20) -> list[CodebookRevision]:
    """The newest saved revisions, newest first."""
    return list(
        session.exec(
            select(CodebookRevision).order_by(col(CodebookRevision.number).desc()).limit(limit)
        ).all()
    )
