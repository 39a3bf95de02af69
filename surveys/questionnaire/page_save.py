"""Saving one posted questionnaire page: answers, comments and evidence files, in one service
that returns an outcome (saved, conflicts with both values, or errors per question).

The view parses the request into a :class:`PostedPage`, calls :func:`save_posted_page`, commits
once and answers 302, 409 or 422; the replay of a page posted after the session expired calls
the same service. Kept apart from :mod:`surveys.questionnaire.services` because it uses
:mod:`surveys.evidence.services`, which itself stores its files' answers through
:mod:`surveys.answers`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from accounts.models import User
from rubrics.schema import Question, Rubric
from surveys import answers as store
from surveys.evidence import services as evidence
from surveys.models import Assessment
from surveys.questionnaire import services


@dataclass(frozen=True)
class PostedPage:
    """What a person posted on one page, as read from the request (see
    :mod:`surveys.questionnaire.forms`)."""

    values: Mapping[str, Any]
    comments: Mapping[str, str | None]
    base_versions: Mapping[str, int | None]  # the answer versions the page was built from
    errors: Mapping[str, list[str]]  # fields that did not validate: not saved
    take_theirs: frozenset[str] = frozenset()  # conflicts settled by taking the stored answer
    remove_evidence: Sequence[int] = ()  # evidence ids ticked for removal
    uploads: Mapping[str, Sequence[evidence.Upload]] = field(default_factory=dict)
    watch_shown: bool = False  # report questions that the save newly shows (no page script)


@dataclass
class PageSaveOutcome:
    """What happened. ``base_versions`` are the versions the page should now be based on, per
    question, so that saving it again (after settling conflicts) works."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    rejected: dict[str, list[evidence.EvidenceError]] = field(default_factory=dict)
    conflicts: dict[str, store.Conflict] = field(default_factory=dict)
    base_versions: dict[str, int | None] = field(default_factory=dict)
    newly_shown: list[str] = field(default_factory=list)

    @property
    def invalid(self) -> bool:
        return bool(self.errors or self.rejected)

    @property
    def ok(self) -> bool:
        return not self.invalid and not self.conflicts


def save_posted_page(
    session: Session,
    assessment: Assessment,
    rubric: Rubric,
    questions: Sequence[Question],
    posted: PostedPage,
    *,
    user: User | None,
    folder: Path,
    limit: int,
) -> PageSaveOutcome:
    """Save a posted page: every valid answer, the removals ticked, the files for questions
    shown. Flushes; the caller commits (what was saved stays saved even when other questions
    of the page conflict or are invalid)."""
    assessment_id: int = assessment.id  # type: ignore[assignment]
    page_ids = {q.id for q in questions}
    before = store.answers_of(session, assessment_id)  # read once: the save returns the rest
    # Relevance is evaluated by the engine (a few ms on a large rubric): only when needed.
    shown_before = (
        store.relevant_questions(rubric, store.values_of(before)) if posted.watch_shown else {}
    )
    result = services.save_page(
        session,
        assessment,
        rubric,
        values=posted.values,
        comments=posted.comments,
        base_versions=posted.base_versions,
        user=user,
        take_theirs=posted.take_theirs,
        stored=before,
    )
    outcome = PageSaveOutcome(errors={qid: list(e) for qid, e in posted.errors.items()})
    outcome.conflicts = {c.question_id: c for c in result.conflicts}
    stored = result.answers
    after_page = {qid: answer.version for qid, answer in stored.items()}  # a snapshot
    rebased = dict(posted.base_versions)
    for qid in [*result.saved, *outcome.conflicts, *(set(result.unchanged) & set(posted.values))]:
        rebased[qid] = after_page.get(qid)

    # Evidence: removals ticked on the page, then the files posted for shown questions.
    changed: set[str] = set()
    for evidence_id in posted.remove_evidence:
        item = evidence.find_evidence(session, assessment_id, evidence_id)
        if item is not None and item.question_id in page_ids:
            evidence.delete_evidence(session, item, user=user)
            changed.add(item.question_id)
    uploading = any(posted.uploads.get(q.id) for q in questions)
    shown = store.relevant_questions(rubric, store.values_of(stored)) if uploading else {}
    for question in questions:
        if not shown.get(question.id, True):
            continue
        for upload in posted.uploads.get(question.id, ()):
            try:
                evidence.store_evidence(
                    session,
                    assessment,
                    question_id=question.id,
                    upload=upload,
                    folder=folder,
                    limit=limit,
                    user=user,
                )
            except evidence.EvidenceError as exc:
                outcome.rejected.setdefault(question.id, []).append(exc)
            else:
                changed.add(question.id)
    evidence.sync_answers(session, assessment, rubric, changed, user=user)
    session.flush()

    final = store.answers_of(session, assessment_id) if changed else stored
    for qid in changed:  # rebase on the files' own change unless a colleague's came first
        if rebased.get(qid) == after_page.get(qid):
            rebased[qid] = final[qid].version if qid in final else None
    outcome.base_versions = {q.id: rebased.get(q.id) for q in questions}

    if posted.watch_shown:
        # Without the page's script, questions hidden when the page was shown stayed hidden:
        # if answers on this page now show some, say so, so that they can be answered.
        values = store.values_of(final)
        now_shown = store.relevant_questions(rubric, values)
        outcome.newly_shown = [
            q.id
            for q in questions
            if now_shown.get(q.id, True)
            and not shown_before.get(q.id, True)
            and store.is_blank(values.get(q.id))
        ]
    return outcome
