"""Scorecards."""

from __future__ import annotations

import io

from flask import Blueprint, render_template, request, send_file
from flask_babel import get_locale
from flask_login import login_required
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.models import Organization
from accounts.permissions import public, requires
from reports import figures, queries
from surveys.access import load_assessment
from surveys.answers import rubric_for
from surveys.models import Status
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
