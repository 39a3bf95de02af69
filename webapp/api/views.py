"""The API's resources. Thin, like the pages: parse (the models of :mod:`webapp.api.schemas`),
load through the permissions core, call the services the pages call, answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask import abort, g, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlmodel import col

from accounts import permissions
from accounts.inputs import MAX_ID
from accounts.models import Organization
from reports import directory, export_views, queries
from reports.data_exports import export_stream, filename
from rubrics.codebook import Codebook, shared_code, shared_value
from rubrics.codebook_services import active_codebook, current_codebook
from rubrics.models import RubricRecord, RubricVersion
from rubrics.schema import Question, Rubric
from rubrics.services import get_version, list_rubrics, rubric_of
from surveys import answers as store
from surveys import workflow
from surveys.access import load_assessment, load_cycle
from surveys.cycles import services as cycles
from surveys.models import EDITABLE, AssessmentCycle, Source
from surveys.models import Assessment as AssessmentRow
from surveys.questionnaire import services as questionnaire
from webapp.api import schemas
from webapp.api.answers import read_changes
from webapp.api.problems import ApiError, invalid
from webapp.api.routing import operation
from webapp.extensions import db, dbsession

ASSESSMENT_ERRORS = (403, 404)

# --- cursors ------------------------------------------------------------------------------


# A cursor is opaque to clients: the id the next page starts after, masked, as 8 hex digits.
# Every string of that form reads as some position (past the end: an empty page), so a cursor
# the schema allows is never refused.
CURSOR_MASK = 0x5EED_C0DE


def decode_cursor(cursor: str | None) -> int:
    """The id after which the page starts (0: the first page)."""
    return 0 if not cursor else min(int(cursor, 16) ^ CURSOR_MASK, MAX_ID)


def encode_cursor(after: int) -> str:
    return format(after ^ CURSOR_MASK, "08x")


def next_link(items: Sequence[Any], limit: int, last_id: int | None) -> str | None:
    """The address of the next page, when this one is full."""
    if len(items) < limit or last_id is None:
        return None
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    args["cursor"] = encode_cursor(last_id)
    return url_for(str(request.endpoint), _external=True, **(request.view_args or {}), **args)


# --- the index ----------------------------------------------------------------------------------


@operation(
    "/",
    permission=None,
    summary="Where things are: the OpenAPI document, the docs and the resources",
    tag="meta",
    response=schemas.ApiIndex,
)
def index() -> schemas.ApiIndex:
    """Public: no token needed."""
    return schemas.ApiIndex(
        openapi=url_for("api.openapi_document", _external=True),
        docs=url_for("api.docs", _external=True),
        resources={
            name: url_for(f"api.{endpoint}", _external=True)
            for name, endpoint in (
                ("organisations", "list_organisations"),
                ("rubrics", "list_rubric_versions"),
                ("cycles", "list_cycles"),
                ("assessments", "list_assessments"),
                ("codebook", "get_codebook"),
            )
        },
    )


# --- organisations ------------------------------------------------------------------------------


def _organisation(profile: directory.Profile) -> schemas.Organisation:
    return schemas.Organisation(
        id=profile.id,
        name=profile.name,
        names=profile.names,
        kind=profile.kind,
        country=profile.country,
        focus_areas=profile.focus_areas,
        visibility=profile.visibility,
        active=profile.active,
        cities=profile.cities,
        services=profile.services,
        languages=profile.languages,
        contact_email=profile.contact_email,
        contact_phone=profile.contact_phone,
        website=profile.website,
        year_founded=profile.year_founded,
    )


@operation(
    "/organisations",
    permission="logged_in",
    summary="Organisations: what the directory shows to the token's person",
    tag="organisations",
    query=schemas.OrganisationQuery,
    response=schemas.OrganisationPage,
)
def list_organisations(query: schemas.OrganisationQuery) -> schemas.OrganisationPage:
    """The directory's profiles the token's person may see, matching the directory's filters
    (unknown codes match nothing, as on the directory page), by id."""
    filters = directory.parse_filters(
        {k: v for k, v in query.model_dump().items() if isinstance(v, str)}
    )
    after = decode_cursor(query.cursor)
    found = directory.profiles_after(
        dbsession(), permissions.current_principal(), filters, after=after, limit=query.limit
    )
    return schemas.OrganisationPage(
        items=[_organisation(p) for p in found],
        next=next_link(found, query.limit, found[-1].id if found else None),
    )


@operation(
    "/organisations/<int:org_id>",
    permission="view_profile",
    summary="One organisation's directory profile",
    tag="organisations",
    response=schemas.Organisation,
    errors=(404,),
)
def get_organisation(org_id: int) -> schemas.Organisation:
    org = permissions.authorize(dbsession().get(Organization, org_id), "view_profile")
    return _organisation(directory.profile_for(org, permissions.current_principal()))


# --- rubrics ------------------------------------------------------------------------------


def _version_summary(version: RubricVersion) -> schemas.RubricVersionSummary:
    return schemas.RubricVersionSummary(
        id=version.id or 0,
        number=version.number,
        status=version.status,
        content_hash=version.content_hash,
        created_at=version.created_at,
        published_at=version.published_at,
    )


@operation(
    "/rubrics",
    permission="view_rubric",
    summary="Rubrics and their versions (evaluators and admins)",
    tag="rubrics",
    query=schemas.PageQuery,
    response=schemas.RubricPage,
    errors=(403,),
)
def list_rubric_versions(query: schemas.PageQuery) -> schemas.RubricPage:
    after = decode_cursor(query.cursor)
    listings = sorted(
        (item for item in list_rubrics(dbsession()) if (item.record.id or 0) > after),
        key=lambda item: item.record.id or 0,
    )[: query.limit]
    items = [
        schemas.RubricSummary(
            id=item.record.id or 0,
            code=item.record.code,
            title=item.record.title,
            versions=[_version_summary(v) for v in item.versions],
        )
        for item in listings
    ]
    return schemas.RubricPage(
        items=items, next=next_link(items, query.limit, items[-1].id if items else None)
    )


def _version_out(version: RubricVersion) -> schemas.RubricVersionOut:
    record = dbsession().get_one(RubricRecord, version.rubric_id)
    return schemas.RubricVersionOut(
        **_version_summary(version).model_dump(), code=record.code, content=rubric_of(version)
    )


@operation(
    "/rubrics/<code>/versions/<int:number>",
    permission="view_rubric",
    summary="A rubric version: the rubric document as JSON (evaluators and admins)",
    tag="rubrics",
    response=schemas.RubricVersionOut,
    errors=(403, 404),
)
def get_rubric_version(code: str, number: int) -> schemas.RubricVersionOut:
    version = permissions.authorize(get_version(dbsession(), code, number), "view_rubric")
    return _version_out(version)


# --- cycles ------------------------------------------------------------------------------


def _cycle(c: cycles.CycleListing) -> schemas.Cycle:
    return schemas.Cycle(
        id=c.id,
        code=c.code,
        name=c.name,
        rubric=c.rubric,
        rubric_version=c.version,
        opens_on=c.opens_on,
        closes_on=c.closes_on,
        assessments=c.assessments,
        submitted=c.submitted,
        verified=c.verified,
    )


@operation(
    "/cycles",
    permission="view_cycles",
    summary="Assessment cycles (evaluators and admins), with counts of what they may see",
    tag="cycles",
    query=schemas.PageQuery,
    response=schemas.CyclePage,
    errors=(403,),
)
def list_cycles(query: schemas.PageQuery) -> schemas.CyclePage:
    after = decode_cursor(query.cursor)
    listed = cycles.list_cycles(dbsession(), viewer=permissions.current_principal())
    chosen = sorted((c for c in listed if c.id > after), key=lambda c: c.id)[: query.limit]
    return schemas.CyclePage(
        items=[_cycle(c) for c in chosen],
        next=next_link(chosen, query.limit, chosen[-1].id if chosen else None),
    )


@operation(
    "/cycles/<int:cycle_id>",
    permission="view_cycle",
    summary="One assessment cycle",
    tag="cycles",
    response=schemas.Cycle,
    errors=(403, 404),
)
def get_cycle(cycle_id: int) -> schemas.Cycle:
    cycle = load_cycle(cycle_id)
    listed = cycles.list_cycles(dbsession(), viewer=permissions.current_principal())
    return _cycle(next(c for c in listed if c.id == cycle.id))


# --- assessments ------------------------------------------------------------------------------


def _assessments(where: Sequence[Any], limit: int) -> list[schemas.Assessment]:
    rows = (
        dbsession()
        .execute(
            sa.select(
                AssessmentRow,
                col(AssessmentCycle.code),
                col(AssessmentCycle.rubric_version_id),
                col(Organization.code),
                col(Organization.name),
            )
            .join(AssessmentCycle, col(AssessmentCycle.id) == col(AssessmentRow.cycle_id))
            .join(Organization, col(Organization.id) == col(AssessmentRow.organization_id))
            .where(
                permissions.visible_assessments(
                    permissions.current_principal(),
                    AssessmentRow.organization_id,
                    AssessmentRow.cycle_id,
                ),
                *where,
            )
            .order_by(col(AssessmentRow.id))
            .limit(limit)
        )
        .all()
    )
    return [
        schemas.Assessment(
            id=a.id,
            cycle_id=a.cycle_id,
            cycle_code=cycle_code,
            organisation_id=a.organization_id,
            organisation_code=org_code,
            organisation_name=org_name,
            rubric_version_id=version_id,
            status=a.status,
            progress=a.progress,
            submitted_at=a.submitted_at,
            updated_at=a.updated_at,
        )
        for a, cycle_code, version_id, org_code, org_name in rows
    ]


def _assessment(assessment: AssessmentRow) -> schemas.Assessment:
    found = _assessments([col(AssessmentRow.id) == assessment.id], 1)
    if not found:  # pragma: no cover - loaded through the core a moment ago
        abort(404)
    return found[0]


@operation(
    "/assessments",
    permission="logged_in",
    summary="The assessments the token's person may see",
    tag="assessments",
    query=schemas.AssessmentQuery,
    response=schemas.AssessmentPage,
)
def list_assessments(query: schemas.AssessmentQuery) -> schemas.AssessmentPage:
    """Selected through the same scope as every list of the pages: an NGO's own, a funder's
    granted NGOs and cycles, an evaluator's assigned cycles, everything for admins."""
    where: list[Any] = [col(AssessmentRow.id) > decode_cursor(query.cursor)]
    if query.cycle is not None:
        where.append(col(AssessmentRow.cycle_id) == query.cycle)
    if query.organisation is not None:
        where.append(col(AssessmentRow.organization_id) == query.organisation)
    if query.status is not None:
        where.append(col(AssessmentRow.status) == query.status)
    items = _assessments(where, query.limit)
    return schemas.AssessmentPage(
        items=items, next=next_link(items, query.limit, items[-1].id if items else None)
    )


@operation(
    "/assessments/<int:assessment_id>",
    permission="view_assessment",
    summary="One assessment",
    tag="assessments",
    response=schemas.Assessment,
    errors=ASSESSMENT_ERRORS,
)
def get_assessment(assessment_id: int) -> schemas.Assessment:
    return _assessment(load_assessment(assessment_id))


@operation(
    "/assessments/<int:assessment_id>/rubric",
    permission="view_assessment",
    summary="The rubric version an assessment answers (its questions, options and levels)",
    tag="assessments",
    response=schemas.RubricVersionOut,
    errors=ASSESSMENT_ERRORS,
)
def get_assessment_rubric(assessment_id: int) -> schemas.RubricVersionOut:
    """What the questionnaire of the assessment shows: for whoever may see the assessment."""
    assessment = load_assessment(assessment_id)
    cycle = dbsession().get_one(AssessmentCycle, assessment.cycle_id)
    return _version_out(dbsession().get_one(RubricVersion, cycle.rubric_version_id))


def _on_scale(
    question: Question | None, rubric: Rubric, codebook: Codebook, value: Any
) -> tuple[str | None, float | None]:
    """The shared indicator a question measures and the answer on its scale (the mapping of
    the export by shared indicator)."""
    code = shared_code(question) if question is not None else None
    indicator = codebook.get(code) if code else None
    if question is None or indicator is None:
        return code, None
    found = shared_value(question, rubric, indicator, value)
    return code, found if isinstance(found, float) else None


def _answers(
    stored: dict[str, Any], rubric: Rubric, wanted: Sequence[str] | None = None
) -> list[schemas.Answer]:
    ids = sorted(stored) if wanted is None else [q for q in wanted if q in stored]
    measuring = {q.id: q for _d, _i, q in rubric.questions() if shared_code(q)}
    codebook = active_codebook(dbsession()) if measuring else None
    answers = []
    for qid in ids:
        code, on_scale = (
            _on_scale(measuring.get(qid), rubric, codebook, stored[qid].value)
            if codebook is not None
            else (None, None)
        )
        answers.append(
            schemas.Answer(
                question_id=qid,
                value=stored[qid].value,
                comment=stored[qid].comment,
                version=stored[qid].version,
                updated_at=stored[qid].updated_at,
                indicator=code,
                indicator_value=on_scale,
            )
        )
    return answers


@operation(
    "/assessments/<int:assessment_id>/answers",
    permission="view_assessment",
    summary="An assessment's answers (self-assessed, or verified) with their versions",
    tag="assessments",
    query=schemas.AnswersQuery,
    response=schemas.Answers,
    errors=ASSESSMENT_ERRORS,
)
def get_answers(assessment_id: int, query: schemas.AnswersQuery) -> schemas.Answers:
    """A draft's answers as the questionnaire shows them: to the NGO, the cycle's evaluators and
    admins (a funder only when the NGO's grant includes drafts). Verified ratings: to the
    reviewers while they review, to everyone who sees the assessment once it is verified.
    Each answer of a question that measures a shared indicator of the codebook carries its
    code and the answer on the indicator's scale."""
    assessment = load_assessment(assessment_id)
    if assessment.status in EDITABLE:
        permissions.authorize(assessment, "view_evidence")
    source = Source(query.source)
    if source == Source.VERIFIED and not workflow.verified_visible(assessment):
        permissions.authorize(assessment, "review_assessment")
    stored = store.answers_of(dbsession(), assessment_id, source)
    _cycle_row, rubric = store.rubric_for(dbsession(), assessment)
    return schemas.Answers(
        assessment_id=assessment_id,
        source=source,
        status=assessment.status,
        answers=_answers(stored, rubric),
    )


@operation(
    "/assessments/<int:assessment_id>/answers",
    "PATCH",
    permission="answer_assessment",
    summary="Change answers of a draft: each change carries the version it is based on",
    tag="assessments",
    body=schemas.AnswersUpdate,
    response=schemas.AnswersSaved,
    errors=(400, 403, 404, 409, 415, 422),
    writes=True,
    endpoint="update_answers",
)
def update_answers(assessment_id: int, body: schemas.AnswersUpdate) -> schemas.AnswersSaved:
    """The questionnaire's own save: every value is checked by the questionnaire's form fields
    (422 naming each answer it refuses),
    answers hidden by relevance are ignored, and each write is a compare-and-set on the
    answer's version. All or nothing: if any answer changed since the version sent, nothing is
    saved and the answer is 409 with the stored values. Send an `Idempotency-Key` header to
    retry safely."""
    session = dbsession()
    assessment = load_assessment(assessment_id, need="answer_assessment")
    g.audit_organization_id = assessment.organization_id
    if assessment.status not in EDITABLE:
        raise ApiError(
            409,
            f"This assessment is {assessment.status.replace('_', ' ')} and cannot be changed.",
            kind="not-editable",
        )
    _cycle_row, rubric = store.rubric_for(session, assessment)
    changes = read_changes(rubric, body)
    stored = store.answers_of(session, assessment_id)
    try:
        result = questionnaire.save_page(
            session,
            assessment,
            rubric,
            values=changes.values,
            comments=changes.comments,
            base_versions=changes.base_versions,
            user=current_user._get_current_object(),
            stored=stored,
        )
    except workflow.AssessmentError as exc:
        raise ApiError(409, str(exc), kind="not-editable") from None
    if result.conflicts:
        conflicts = [
            {
                "question_id": c.question_id,
                "yours": {"value": c.yours, "comment": c.your_comment},
                "current": {
                    "value": c.theirs,
                    "comment": c.their_comment,
                    "version": c.their_version,
                },
            }
            for c in result.conflicts
        ]
        raise ApiError(
            409,
            "Nothing was saved: "
            + ", ".join(c.question_id for c in result.conflicts)
            + " changed since the version you sent.",
            kind="stale-version",
            conflicts=conflicts,
        )
    sent = list(changes.order)
    done = set(result.saved) | set(result.unchanged)
    return schemas.AnswersSaved(
        assessment_id=assessment_id,
        status=assessment.status,
        progress=assessment.progress,
        saved=[q for q in sent if q in result.saved],
        unchanged=[q for q in sent if q in result.unchanged and q not in result.saved],
        ignored=[q for q in sent if q not in done],
        answers=_answers(result.answers, rubric, sent),
    )


@operation(
    "/assessments/<int:assessment_id>/submit",
    "POST",
    permission="answer_assessment",
    summary="Submit a complete draft (as the questionnaire's Submit button)",
    tag="assessments",
    response=schemas.Submitted,
    errors=(403, 404, 409, 422),
    writes=True,
    endpoint="submit_assessment",
)
def submit_assessment(assessment_id: int) -> schemas.Submitted:
    """Submits and scores the assessment; 422 with the `missing` questions when required
    answers are missing (nothing changes), 409 when it is not a draft."""
    session = dbsession()
    assessment = load_assessment(assessment_id, need="answer_assessment")
    g.audit_organization_id = assessment.organization_id
    try:
        missing = questionnaire.submit(session, assessment, by=current_user._get_current_object())
    except workflow.AssessmentError as exc:
        raise ApiError(409, str(exc), kind="not-editable") from None
    if missing:
        raise ApiError(
            422,
            f"{len(missing)} required answers are missing.",
            kind="incomplete",
            missing=[m.question.id for m in missing],
        )
    session.flush()
    return schemas.Submitted(assessment=_assessment(assessment))


# --- scores ------------------------------------------------------------------------------


def _score_set(card: queries.Scorecard) -> schemas.ScoreSet:
    def line(found: queries.ScoreLine) -> schemas.ScoreLine:
        return schemas.ScoreLine(
            code=found.code,
            label=found.label,
            score=found.score,
            coverage=found.coverage,
            reason=found.reason,
            weight=found.weight,
        )

    return schemas.ScoreSet(
        overall=line(card.overall) if card.overall else None,
        band=card.band,
        domains=[line(d) for d in card.domains],
        indicators={code: [line(i) for i in lines] for code, lines in card.indicators.items()},
    )


@operation(
    "/assessments/<int:assessment_id>/scores",
    permission="view_assessment",
    summary="Scores of an assessment: overall, per domain and indicator, self and verified",
    tag="scores",
    query=schemas.ScoresQuery,
    response=schemas.Scores,
    errors=ASSESSMENT_ERRORS,
)
def get_scores(assessment_id: int, query: schemas.ScoresQuery) -> schemas.Scores:
    """The scores the scorecard shows (stored by the engine at submission and review), under
    the assessment's rubric version; verified ones once the review is complete. Labels in the
    request's language (`?lang=el`, or Accept-Language) where the rubric has it."""
    assessment = load_assessment(assessment_id)
    session, viewer = dbsession(), permissions.current_principal()
    cycle = session.get_one(AssessmentCycle, assessment.cycle_id)
    version = session.get_one(RubricVersion, cycle.rubric_version_id)
    rubric = rubric_of(version)
    wanted = query.lang or str(get_locale() or "")
    language = wanted if wanted in rubric.languages else rubric.default_language
    args = (session, assessment_id, cycle.rubric_version_id, rubric, language)
    own = queries.scorecard(*args, Source.SELF, viewer=viewer)
    verified = None
    if workflow.verified_visible(assessment):
        found = queries.scorecard(*args, Source.VERIFIED, viewer=viewer)
        verified = _score_set(found) if found.overall is not None else None
    return schemas.Scores(
        assessment_id=assessment_id,
        rubric_version_id=cycle.rubric_version_id,
        language=language,
        self=_score_set(own),
        verified=verified,
    )


# --- exports ------------------------------------------------------------------------------

EXPORT_MEDIA = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
}


def _export_args(query: schemas.ExportQuery) -> dict[str, str]:
    return {k: str(v) for k, v in query.model_dump().items() if v is not None and v != ""}


def _export(kind: str, query: schemas.ExportQuery) -> Any:
    choice = export_views.choose(_export_args(query))
    plan = export_views.plan_of(choice)
    shape = choice.shape if kind in ("csv", "xlsx") else "wide"
    from reports.data_exports import count_rows

    rows = count_rows(dbsession(), plan)
    export_views.record_download(choice, plan, kind, rows)
    body = export_stream(db.engine, plan, kind, shape)
    parts = ["assessments", choice.cycle.code, choice.language]
    if shape == "long":
        parts.append("long")
    return export_views.download_response(body, kind, filename(*parts, extension=kind))


def _export_operation(kind: str) -> None:
    def export(query: schemas.ExportQuery) -> Any:
        """The data export of the pages (/reports/exports), streamed: the assessments of a
        cycle the token's person may see, and nothing else. Recorded in the audit log."""
        return _export(kind, query)

    operation(
        f"/exports/assessments.{kind}",
        permission="logged_in",
        summary=f"A cycle's assessments as {kind.upper()}",
        tag="exports",
        query=schemas.ExportQuery,
        errors=(404,),
        media={EXPORT_MEDIA[kind]: f"The {kind.upper()} file"},
        endpoint=f"export_{kind}",
    )(export)


for _kind in EXPORT_MEDIA:
    _export_operation(_kind)


@operation(
    "/exports/codebook.csv",
    permission="logged_in",
    summary="The codebook of a cycle's exports",
    tag="exports",
    query=schemas.ExportQuery,
    errors=(404,),
    media={"text/csv": "The codebook"},
)
def export_codebook(query: schemas.ExportQuery) -> Any:
    """Every variable of the exports, its labels in each language, its values and scores."""
    from reports.data_exports import codebook_csv

    choice = export_views.choose(_export_args(query))
    plan = export_views.plan_of(choice)
    export_views.record_download(choice, plan, "codebook", None)
    name = filename("codebook", choice.cycle.code, extension="csv")
    return export_views.download_response(codebook_csv(plan), "csv", name)


# --- by shared indicator ---------------------------------------------------------------------


def _shared_export_operation(kind: str) -> None:
    def export(query: schemas.SharedExportQuery) -> Any:
        """The export by shared indicator of the pages (/reports/exports/shared.csv): the
        answers of every rubric the token's person may see, pooled onto the scales of the
        shared indicators they measure; the same file, byte for byte. Recorded in the audit
        log. An indicator code the codebook does not have is a 422."""
        codebook = active_codebook(dbsession())
        unknown = [
            (f"query.indicator[{i}]", f"{code!r} is not a shared indicator of the codebook")
            for i, code in enumerate(query.indicator)
            if codebook.get(code) is None
        ]
        if unknown:
            raise invalid(unknown, status=422)
        plan = export_views.shared_plan(
            language=query.lang,
            cycles=query.cycle,
            indicators=query.indicator,
            status=query.status,
        )
        return export_views.shared_download(plan, kind, query.shape)

    operation(
        f"/exports/shared.{kind}",
        permission="logged_in",
        summary=f"Answers pooled by shared indicator, across rubrics, as {kind.upper()}",
        tag="exports",
        query=schemas.SharedExportQuery,
        errors=(422,),
        media={EXPORT_MEDIA[kind]: f"The {kind.upper()} file"},
        endpoint=f"export_shared_{kind}",
    )(export)


for _kind in ("csv", "xlsx"):
    _shared_export_operation(_kind)


# --- the codebook ----------------------------------------------------------------------------


@operation(
    "/codebook",
    permission="logged_in",
    summary="The shared indicator codebook: codes, definitions, scales, sources",
    tag="rubrics",
    response=schemas.CodebookOut,
)
def get_codebook() -> schemas.CodebookOut:
    """The codebook in use (the newest saved revision, else the one shipped), for every
    token: what the `indicator` of answers and the export by shared indicator refer to."""
    found = current_codebook(dbsession())
    codebook = found.codebook
    return schemas.CodebookOut(
        revision=found.number,
        version=codebook.version,
        languages=list(codebook.languages),
        indicators=[
            indicator.model_copy(
                update={
                    "scale": indicator.scale.model_copy(update={"levels": indicator.scale.values()})
                }
            )
            for indicator in codebook.indicators
        ],
    )
