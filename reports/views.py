"""Scorecards."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa
from flask import Blueprint, render_template, request, send_file
from flask_babel import get_locale
from flask_login import login_required
from sqlmodel import Session, select
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.models import Organization
from accounts.permissions import public, requires
from reports import dashboard, exports, figures, queries
from rubrics.models import RubricVersion
from rubrics.services import rubric_of
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


# --- the comparative dashboard (many NGOs) -----------------------------------------------------


@bp.route("/dashboard", endpoint="dashboard")
@login_required
@requires("view_dashboard")
def dashboard_page() -> str:
    """Many NGOs side by side: a GET form of filters (the URL is the view to share), a heatmap,
    a ranking with rank intervals, box plots by country and self versus verified scores, each
    beside its table. Everything is selected through the viewer's scope."""
    session, viewer = dbsession(), permissions.current_principal()
    options = queries.dashboard_options(session, viewer=viewer)
    filters = dashboard.parse_filters(request.args, options)
    # Only a version the viewer's assessments were scored under is read (an id from elsewhere
    # in the URL leaves the page empty).
    seen = any(v[0] == filters.version_id for v in options.versions)
    stored = session.get(RubricVersion, filters.version_id) if seen else None
    rubric = rubric_of(stored) if stored is not None else None
    language = str(get_locale() or "")
    if rubric is not None and language not in rubric.languages:
        language = rubric.default_language
    codes = [d.id for d in rubric.domains] if rubric else []
    labels = [rubric.text(d.label, language) for d in rubric.domains] if rubric else []
    data = queries.dashboard_scores(session, filters, codes, viewer=viewer)
    pairs = queries.self_and_verified(session, filters, viewer=viewer)
    ranking = dashboard.rank_rows(data, [d.weight for d in rubric.domains] if rubric else [])
    page, pages = dashboard.page_number(request.args, data.size)
    shown = ranking.order[(page - 1) * dashboard.PAGE_SIZE : page * dashboard.PAGE_SIZE]
    urls = dashboard.scorecard_urls(data.assessment_ids)
    names = [data.names[i] for i in shown]
    page_urls = [urls[i] for i in shown]
    charts: dict[str, str] = {}
    if data.size:
        charts["heatmap"] = figures.to_json(
            figures.score_heatmap(names, labels, data.domain_scores[shown].tolist(), page_urls)
        )
        boxes = dashboard.box_stats(data)
        charts["boxes"] = figures.to_json(figures.domain_boxes(labels, boxes))
    else:
        boxes = []
    ranked_rows = [i for i in shown if not np.isnan(ranking.rank[i])]
    if ranking.ranked and ranked_rows:
        charts["ranking"] = figures.to_json(
            figures.rank_intervals(
                [data.names[i] for i in ranked_rows],
                ranking.rank[ranked_rows].tolist(),
                ranking.low[ranked_rows].tolist(),
                ranking.high[ranked_rows].tolist(),
                [urls[i] for i in ranked_rows],
            )
        )
    pair_urls = dashboard.scorecard_urls(pairs.assessment_ids)
    if len(pair_urls):
        charts["scatter"] = figures.to_json(
            figures.self_verified_scatter(
                pairs.names, pairs.self_scores.tolist(), pairs.verified_scores.tolist(), pair_urls
            )
        )
    # Numbers are formatted here, at once, not cell by cell in the template.
    overall = dashboard.formatted(data.overall[shown]).tolist()
    domains = dashboard.formatted(data.domain_scores[shown]).tolist()
    pair_page = slice((page - 1) * dashboard.PAGE_SIZE, page * dashboard.PAGE_SIZE)
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "reports/dashboard.html",
        options=options,
        filters=filters,
        labels=labels,
        data=data,
        rows=[
            {
                "url": urls[i],
                "name": data.names[i],
                "country": dashboard.country_label(data.countries[i]),
                "overall": overall[k],
                "rank": ranking.rank[i],
                "low": ranking.low[i],
                "high": ranking.high[i],
                "domains": domains[k],
            }
            for k, i in enumerate(shown)
        ],
        pairs=[
            {"url": u, "name": n, "self": s, "verified": v}
            for u, n, s, v in list(
                zip(pair_urls, pairs.names, pairs.self_scores, pairs.verified_scores, strict=True)
            )[pair_page]
        ],
        n_pairs=len(pair_urls),
        boxes=boxes,
        charts=charts,
        ranked=ranking.ranked,
        page=page,
        pages=pages,
        query=query,
        country_labels=dashboard.COUNTRY_LABELS,
        type_labels=dashboard.ORG_TYPE_LABELS,
        focus_labels=dashboard.FOCUS_LABELS,
        country_label=dashboard.country_label,
        draws=dashboard.RANK_DRAWS,
    )
