"""Scorecards."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, render_template, request, send_file
from flask_babel import get_locale
from flask_login import login_required
from sqlmodel import Session, select
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.models import Organization
from accounts.permissions import public, requires
from reports import exports, figures, queries
from rubrics.models import RubricVersion
from surveys.access import load_assessment
from surveys.answers import rubric_for
from surveys.models import Source, Status, StatusChange
from surveys.plan.services import plan_summary
from webapp.extensions import dbsession

bp = Blueprint("reports", __name__, template_folder="templates")


@bp.route("/assessments/<int:assessment_id>")
@login_required
@requires("view_assessment")
def scorecard(assessment_id: int) -> str:
    assessment = load_assessment(assessment_id)
    cycle, rubric = rubric_for(dbsession(), assessment)
    wanted = request.args.get("lang") or str(get_locale() or "")
    language = wanted if wanted in rubric.languages else rubric.default_language
    card = queries.scorecard(
        dbsession(),
        assessment_id,
        cycle.rubric_version_id,
        rubric,
        language,
        viewer=permissions.current_principal(),
    )
    figure_json = None
    if card.domains:
        fig = figures.domain_bars(
            [d.label for d in card.domains],
            [d.score for d in card.domains],
            [d.coverage for d in card.domains],
        )
        figure_json = figures.to_json(fig)
    scored = assessment.status not in {Status.NOT_STARTED, Status.IN_PROGRESS}
    plan = plan_summary(dbsession(), assessment, language) if scored else None
    return render_template(
        "reports/scorecard.html",
        plan=plan,
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        organization=dbsession().get(Organization, assessment.organization_id),
        card=card,
        figure_json=figure_json,
        language=language,
        scored=scored,
    )


@bp.route("/vendor/plotly.min.js")
@public
def plotly_js() -> Response:
    # Served from memory: a browser that drops the connection mid-way leaves no open file.
    bundle = figures.plotly_bundle()
    response = send_file(
        io.BytesIO(bundle.data),
        mimetype="text/javascript",
        max_age=7 * 24 * 3600,
        etag=bundle.etag,
        last_modified=bundle.modified,
        conditional=True,
    )
    return response


# --- the PDF scorecard (issue 9, section 3) ----------------------------------------------------
# Fed like the HTML scorecard above (queries.scorecard through the permissions scope); when the
# scorecard's single data-assembly function lands in reports.queries, both views should call it
# and this section keeps only the PDF specifics (chart geometry, filename, headers).


@bp.route("/assessments/<int:assessment_id>/scorecard.pdf")
@login_required
@requires("view_assessment")
def scorecard_pdf(assessment_id: int) -> Response:
    assessment = load_assessment(assessment_id)
    session = dbsession()
    cycle, rubric = rubric_for(session, assessment)
    wanted = request.args.get("lang") or str(get_locale() or "")
    language = wanted if wanted in rubric.languages else rubric.default_language
    viewer = permissions.current_principal()
    own, verified = (
        queries.scorecard(
            session, assessment_id, cycle.rubric_version_id, rubric, language, source, viewer=viewer
        )
        for source in (Source.SELF, Source.VERIFIED)
    )
    lead = verified if verified.overall is not None else own
    beside = {d.code: d for d in own.domains} if lead is verified else {}
    scored = assessment.status not in {Status.NOT_STARTED, Status.IN_PROGRESS}
    chart = None
    if scored and lead.domains:
        chart = exports.bar_chart(
            [d.label for d in lead.domains],
            [d.score for d in lead.domains],
            [d.reason for d in lead.domains],
            second=[beside[d.code].score if d.code in beside else None for d in lead.domains]
            if beside
            else None,
        )
    organization = session.get_one(Organization, assessment.organization_id)
    version = session.get_one(RubricVersion, cycle.rubric_version_id)
    pdf = exports.scorecard_pdf(
        assessment=assessment,
        organization=organization,
        cycle=cycle,
        rubric=rubric,
        version=version,
        language=language,
        scored=scored,
        card=lead,
        own=own,
        is_verified=lead is verified,
        verified_on=_verified_on(session, assessment_id) if lead is verified else None,
        beside=beside,
        chart=chart,
        plan=plan_summary(session, assessment, language) if scored else None,
        today=datetime.now(UTC).date(),
    )
    response = send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=exports.pdf_filename("scorecard", organization.code, cycle.code),
    )
    # A revoked grant must not leave copies in shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _verified_on(session: Session, assessment_id: int) -> datetime | None:
    """When the assessment was last verified."""
    return session.exec(
        select(sa.func.max(StatusChange.changed_at)).where(
            StatusChange.assessment_id == assessment_id,
            StatusChange.to_status == Status.VERIFIED,
        )
    ).one()
