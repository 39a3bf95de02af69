"""The data exports' pages: a form to choose what to export, and the downloads.

Everyone logged in may export, and each gets the assessments they may see and nothing else:
the form offers the cycles holding assessments in the viewer's scope, and every row of every
file is read through :func:`accounts.permissions.visible_assessments` (see
:mod:`reports.data_exports`). A cycle outside the scope is a 404, like any object one may not
see. Each download is recorded in the audit log before its first byte is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request
from flask_babel import force_locale, get_locale, gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.permissions import requires, visible_assessments
from accounts.services import audit
from reports import data_exports, shared_exports
from reports.dashboard import FOCUS_LABELS, ORG_TYPE_LABELS, country_label
from reports.data_exports import ExportFilters, ExportPlan, Words
from reports.queries import dashboard_options
from rubrics.codebook_services import active_codebook
from rubrics.models import RubricRecord, RubricVersion
from rubrics.schema import Rubric
from rubrics.services import rubric_of
from surveys.models import Assessment, AssessmentCycle, Status
from webapp.extensions import db, dbsession

# Its templates are in reports/templates, which the reports blueprint already serves.
bp = Blueprint("exports", __name__)


def words() -> Words:
    """The export's own words in the current locale (call under ``force_locale``)."""
    return Words(
        not_applicable=gettext("Not applicable"),
        dont_know=gettext("Don't know"),
        statuses={
            Status.NOT_STARTED: gettext("Not started"),
            Status.IN_PROGRESS: gettext("In progress"),
            Status.SUBMITTED: gettext("Submitted"),
            Status.IN_REVIEW: gettext("In review"),
            Status.VERIFIED: gettext("Verified"),
            Status.RETURNED: gettext("Returned"),
        },
        identity={
            "assessment_id": gettext("Assessment number"),
            "organisation": gettext("Organisation code"),
            "organisation_name": gettext("Organisation"),
            "country": gettext("Country (ISO code)"),
            "organisation_type": gettext("Organisation type"),
            "cycle": gettext("Cycle code"),
            "status": gettext("Status"),
            "rubric_version": gettext("Rubric version of the answers"),
            "scores_version": gettext("Rubric version of the scores"),
        },
        self_score=gettext("Self-assessed score (0-100): %(label)s"),
        verified_score=gettext("Verified score (0-100): %(label)s"),
        self_coverage=gettext("Coverage of the self-assessed score (0-1): %(label)s"),
        verified_coverage=gettext("Coverage of the verified score (0-1): %(label)s"),
    )


@dataclass(frozen=True)
class Choice:
    """What the form asked for, checked against what the viewer may see."""

    cycle: AssessmentCycle
    version: RubricVersion  # the cycle's pinned version (the answers')
    score_version: RubricVersion  # the version the scores are read under
    rubric: Rubric
    score_rubric: Rubric
    language: str
    shape: str
    values: str
    filters: ExportFilters


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _label(version: RubricVersion) -> str:
    record = dbsession().get_one(RubricRecord, version.rubric_id)
    return f"{record.code} v{version.number}"


def choose(args: Mapping[str, str]) -> Choice:
    """Read the form; 404 for a cycle or version the viewer may not export."""
    session, viewer = dbsession(), permissions.current_principal()
    options = dashboard_options(session, viewer=viewer)
    cycle_id = _int(args.get("cycle"))
    if cycle_id is None and options.cycles:
        cycle_id = options.cycles[0][0]
    if cycle_id not in {c for c, _n, _v in options.cycles}:
        abort(404)  # no assessment of it in the viewer's scope (or no such cycle)
    cycle = session.get_one(AssessmentCycle, cycle_id)
    version = session.get_one(RubricVersion, cycle.rubric_version_id)
    rubric = rubric_of(version)
    score_version, score_rubric = version, rubric
    wanted = _int(args.get("version"))
    if wanted is not None and wanted != version.id:
        if wanted not in {v for v, _c, _n in options.versions}:
            abort(404)
        score_version = session.get_one(RubricVersion, wanted)
        if score_version.rubric_id != version.rubric_id:
            abort(404)  # another rubric's scores say nothing of these answers
        score_rubric = rubric_of(score_version)
    language = args.get("lang") or str(get_locale() or "")
    if language not in rubric.languages:
        language = rubric.default_language
    shape = args.get("shape", "wide")
    values = args.get("values", "codes")
    status = args.get("status", "")
    org_type, focus = args.get("type", ""), args.get("focus", "")
    return Choice(
        cycle=cycle,
        version=version,
        score_version=score_version,
        rubric=rubric,
        score_rubric=score_rubric,
        language=language,
        shape=shape if shape in data_exports.SHAPES else "wide",
        values=values if values in data_exports.VALUE_MODES else "codes",
        filters=ExportFilters(
            cycle_id=int(cycle_id),
            status=status if status in data_exports.STATUS_FILTERS else "",
            country=args.get("country", "")[:2],
            org_type=org_type if org_type in ORG_TYPE_LABELS else "",
            focus_area=focus if focus in FOCUS_LABELS else "",
        ),
    )


def plan_of(choice: Choice) -> ExportPlan:
    """The plan of an export, in the viewer's scope, with the words of each of the rubric's
    languages (for the codebook)."""
    languages = list(dict.fromkeys([choice.language, *choice.rubric.languages]))
    found = {}
    for language in languages:
        with force_locale(language):
            found[language] = words()
    return ExportPlan(
        filters=choice.filters,
        scope=visible_assessments(
            permissions.current_principal(), Assessment.organization_id, Assessment.cycle_id
        ),
        rubric=choice.rubric,
        rubric_label=_label(choice.version),
        score_rubric=choice.score_rubric,
        score_version_id=int(choice.score_version.id or 0),  # a stored row: it has an id
        score_label=_label(choice.score_version),
        language=choice.language,
        words=found,
        values=choice.values,
        shared=active_codebook(dbsession()).by_code(),
    )


def record_download(choice: Choice, plan: ExportPlan, kind: str, rows: int | None) -> None:
    """The download in the audit log, committed before the file is sent."""
    session = dbsession()
    filters = choice.filters
    audit(
        session,
        actor=current_user._get_current_object(),
        action="export_data",
        object_type="assessment_cycle",
        object_id=choice.cycle.id,
        format=kind,
        shape=choice.shape,
        values=choice.values,
        language=choice.language,
        rubric_version=plan.rubric_label,
        scores_version=plan.score_label,
        status=filters.status,
        country=filters.country,
        organisation_type=filters.org_type,
        focus_area=filters.focus_area,
        rows=rows,
    )
    session.commit()


def download_response(body: Iterable[bytes] | bytes, kind: str, name: str) -> Response:
    response = Response(body, mimetype=data_exports.MEDIA_TYPES[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # Data of NGOs: no copies in shared caches (a revoked grant must take effect).
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/")
@login_required
@requires("logged_in")
def index() -> str:
    """The form: cycle, rubric version of the scores, language, shape, values and filters."""
    session, viewer = dbsession(), permissions.current_principal()
    options = dashboard_options(session, viewer=viewer)
    choice = choose(request.args) if options.cycles else None
    languages: dict[str, None] = {}
    for _id, _name, version_id in options.cycles:
        stored = session.get(RubricVersion, version_id)
        if stored is not None:
            languages.update(dict.fromkeys(rubric_of(stored).languages))
    return render_template(
        "reports/exports.html",
        options=options,
        choice=choice,
        languages=list(languages),
        country_label=country_label,
        type_labels=ORG_TYPE_LABELS,
        focus_labels=FOCUS_LABELS,
        query={k: v for k, v in request.args.items() if v},
    )


@bp.route("/assessments.csv", defaults={"kind": "csv"})
@bp.route("/assessments.xlsx", defaults={"kind": "xlsx"})
@bp.route("/assessments.sav", defaults={"kind": "sav"})
@bp.route("/assessments.dta", defaults={"kind": "dta"})
@login_required
@requires("logged_in")
def download(kind: str) -> Response:
    """The assessments the viewer may see, in ``kind``'s format, streamed."""
    choice = choose(request.args)
    plan = plan_of(choice)
    shape = choice.shape if kind in ("csv", "xlsx") else "wide"
    rows = data_exports.count_rows(dbsession(), plan)
    record_download(choice, plan, kind, rows)
    # Read with the engine, chunk by chunk on short connections of their own: the request's
    # session is done (committed above, closed when the request ends) before the body runs.
    body = data_exports.export_stream(db.engine, plan, kind, shape)
    parts = ["assessments", choice.cycle.code, choice.language]
    if shape == "long":
        parts.append("long")
    return download_response(body, kind, data_exports.filename(*parts, extension=kind))


@bp.route("/codebook.csv")
@login_required
@requires("logged_in")
def codebook() -> Response:
    """Every variable of the exports, its labels in each language, its values and scores."""
    choice = choose(request.args)
    plan = plan_of(choice)
    record_download(choice, plan, "codebook", None)
    name = data_exports.filename("codebook", choice.cycle.code, extension="csv")
    return download_response(data_exports.codebook_csv(plan), "csv", name)


# --- by shared indicator -------------------------------------------------------------------------


def shared_plan(
    *,
    language: str | None = None,
    cycles: Iterable[int] = (),
    indicators: Iterable[str] = (),
    status: str = "",
) -> shared_exports.SharedPlan:
    """The pooled export asked for (by the page's query or the API's), in the viewer's scope
    (every cycle they see, or the cycles chosen). Unknown indicator codes and statuses are
    dropped; the language falls back to the codebook's first."""
    codebook = active_codebook(dbsession())
    language = language or str(get_locale() or "")
    wanted = tuple(dict.fromkeys(code for code in indicators if codebook.get(code)))
    return shared_exports.SharedPlan(
        scope=visible_assessments(
            permissions.current_principal(), Assessment.organization_id, Assessment.cycle_id
        ),
        codebook=codebook,
        language=language if language in codebook.languages else codebook.languages[0],
        status=status if status in data_exports.STATUS_FILTERS else "",
        cycle_ids=tuple(sorted(set(cycles)))[:100],
        indicators=wanted[:200],
    )


def shared_download(plan: shared_exports.SharedPlan, kind: str, shape: str) -> Response:
    """The pooled export as ``kind`` (csv or xlsx), recorded in the audit log (committed)
    before its first byte is sent: the page's download and the API's."""
    audit(
        dbsession(),
        actor=current_user._get_current_object(),
        action="export_data",
        object_type="codebook",
        format=kind,
        shape=shape,
        status=plan.status,
        cycles=list(plan.cycle_ids),
        indicators=list(plan.indicators),
    )
    dbsession().commit()
    engine = db.engine  # the body runs after the request: take the engine now
    if kind == "xlsx":
        body: Iterable[bytes] = data_exports.file_stream(
            lambda path: shared_exports.write_xlsx(engine, plan, shape, path), ".xlsx"
        )
    else:
        body = shared_exports.csv_stream(engine, plan, shape)
    parts = ["shared-indicators", plan.language] + (["wide"] if shape == "wide" else [])
    return download_response(body, kind, data_exports.filename(*parts, extension=kind))


@bp.route("/shared.csv", defaults={"kind": "csv"})
@bp.route("/shared.xlsx", defaults={"kind": "xlsx"})
@login_required
@requires("logged_in")
def shared(kind: str) -> Response:
    """Answers of every rubric the viewer may see, pooled by shared indicator (long: one row
    per assessment x indicator; ``shape=wide``: one row per assessment)."""
    plan = shared_plan(
        language=request.args.get("lang"),
        cycles=(c for c in map(_int, request.args.getlist("cycle")) if c is not None),
        indicators=request.args.getlist("indicator"),
        status=request.args.get("status", ""),
    )
    shape = "wide" if request.args.get("shape") == "wide" else "long"
    return shared_download(plan, kind, shape)
