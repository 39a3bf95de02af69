"""Scorecards."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
from flask import Blueprint, current_app, render_template, request, send_file
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.models import Organization
from accounts.permissions import public, requires
from accounts.services import audit
from reports import dashboard, exports, figures, queries, trends
from rubrics.models import RubricVersion
from rubrics.services import rubric_of
from surveys.access import load_assessment
from surveys.plan.services import plan_summary
from webapp.extensions import dbsession

bp = Blueprint("reports", __name__, template_folder="templates")


@bp.route("/assessments/<int:assessment_id>")
@login_required
@requires("view_assessment")
def scorecard(assessment_id: int) -> str:
    assessment = load_assessment(assessment_id)
    wanted = request.args.get("lang") or str(get_locale() or "")
    page = queries.scorecard_page(
        dbsession(),
        assessment,
        viewer=permissions.current_principal(),
        language=wanted,
        peer_min_group=int(current_app.config["PEER_MIN_GROUP"]),
    )
    plan = plan_summary(dbsession(), assessment, page.language) if page.scored else None
    return render_template(
        "reports/scorecard.html",
        page=page,
        plan=plan,
        assessment=assessment,
        cycle=page.cycle,
        rubric=page.rubric,
        organization=page.organization,
        card=page.card,
        language=page.language,
        scored=page.scored,
        figures=scorecard_figures(page),
        reason_label=reason_label,
        trend_note=trend_note(page.trend) if page.trend.points else "",
        trend_reason=trend_reason,
    )


# --- the scorecard page's figures ---------------------------------------------------------------


def own_score_label(org_id: int) -> str:
    """The peer chart's name for the NGO's own dot: "your score" only to the NGO itself."""
    own = org_id in permissions.current_principal().ngos
    return str(gettext("your score") if own else gettext("NGO's score"))


def reason_label(reason: str | None) -> str:
    """A stored reason for a missing score (the engine's English key), in the viewer's language."""
    labels = {
        "insufficient data": gettext("insufficient data"),
        "not applicable": gettext("not applicable"),
    }
    return str(labels.get(reason or "", gettext("no score")))


def scorecard_figures(page: queries.ScorecardPage) -> dict[str, str]:
    """The scorecard's charts as JSON for ``<script type="application/json">`` blocks, by id."""
    found: dict[str, str] = {}
    labels = [d.label for d in page.domains]
    notes = [
        None if d.lead.score is not None else reason_label(d.lead.reason) for d in page.domains
    ]
    if page.domains and page.verified is not None:
        fig = figures.self_and_verified_bars(
            labels,
            [d.own.score for d in page.domains],
            [d.verified.score if d.verified else None for d in page.domains],
            notes,
        )
        found["domain-figure"] = figures.to_json(fig)
    elif page.domains:
        fig = figures.domain_bars(
            labels, [d.own.score for d in page.domains], [d.own.coverage for d in page.domains]
        )
        figures.annotate_missing(fig, labels, notes)
        found["domain-figure"] = figures.to_json(fig)
    shown = [d for d in page.peers.domains if d.shown]
    if page.peers.shown and shown:
        fig = figures.peer_ranges(
            [d.label for d in shown],
            [d.score for d in shown],
            [d.q1 or 0.0 for d in shown],
            [d.median or 0.0 for d in shown],
            [d.q3 or 0.0 for d in shown],
            own_label=own_score_label(page.assessment.organization_id),
        )
        found["peer-figure"] = figures.to_json(fig)
    if len(page.trend.points) > 1:
        points = page.trend.points
        series = [(gettext("Overall"), [p.overall for p in points])]
        series += [
            (label, [p.domains.get(code) for p in points]) for code, label in page.trend.domains
        ]
        panel_notes: list[list[str | None]] = [
            [None if p.overall is not None else str(gettext("no score")) for p in points]
        ]
        panel_notes += [
            [trend_reason(p, code) for p in points] for code, _label in page.trend.domains
        ]
        fig = figures.trend_panels(
            [p.cycle for p in points],
            series,
            notes=panel_notes,
            verified=[p.verified for p in points],
            note=trend_note(page.trend),
        )
        found["trend-figure"] = figures.to_json(fig)
    return found


def trend_reason(point: queries.TrendPoint, code: str) -> str | None:
    """Why a domain has no score in a cycle of the trend, in the viewer's language (None when
    it has one)."""
    if point.domains.get(code) is not None:
        return None
    if code not in point.domains:  # no such domain under that cycle's version
        return str(gettext("not in this version"))
    return reason_label(point.reasons.get(code))


def trend_note(trend: queries.Trend) -> str:
    """Which rubric versions the trend compares (said on the chart and under it)."""
    rescored = [p.cycle for p in trend.points if p.rescored and p.version == trend.version]
    other = [f"{p.cycle} ({p.version})" for p in trend.points if p.version != trend.version]
    parts = [gettext("Scores under rubric version %(n)s.", n=trend.version)]
    if any(p.verified for p in trend.points):
        parts.append(gettext("Verified scores where verified (diamonds), else self-assessed."))
    if rescored:
        parts.append(gettext("Rescored under it: %(cycles)s.", cycles=", ".join(rescored)))
    if other:
        parts.append(
            gettext("Under another version, not comparable: %(cycles)s.", cycles=", ".join(other))
        )
    return " ".join(parts)


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
# Fed like the HTML scorecard above, by queries.scorecard_page; this section keeps only the PDF
# specifics (chart geometry, filename, headers).


@bp.route("/assessments/<int:assessment_id>/scorecard.pdf")
@login_required
@requires("view_assessment")
def scorecard_pdf(assessment_id: int) -> Response:
    assessment = load_assessment(assessment_id)
    session = dbsession()
    page = queries.scorecard_page(
        session,
        assessment,
        viewer=permissions.current_principal(),
        language=request.args.get("lang") or str(get_locale() or ""),
        peer_min_group=int(current_app.config["PEER_MIN_GROUP"]),
    )
    cycle, rubric, language, scored = page.cycle, page.rubric, page.language, page.scored
    own, lead = page.own, page.card
    beside = {d.code: d for d in own.domains} if page.verified is not None else {}
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
    peers = [d for d in page.peers.domains if d.shown] if page.peers.shown else []
    peer_chart = (
        exports.peer_chart(
            [d.label for d in peers],
            [d.score for d in peers],
            [d.q1 or 0.0 for d in peers],
            [d.median or 0.0 for d in peers],
            [d.q3 or 0.0 for d in peers],
        )
        if peers
        else None
    )
    trend_chart = None
    points = page.trend.points
    if len(points) > 1:
        series = [(str(gettext("Overall")), [p.overall for p in points])]
        series += [
            (label, [p.domains.get(code) for p in points]) for code, label in page.trend.domains
        ]
        notes: list[list[str | None]] = [
            [None if p.overall is not None else str(gettext("no score")) for p in points]
        ]
        notes += [[trend_reason(p, code) for p in points] for code, _l in page.trend.domains]
        trend_chart = exports.trend_chart(
            [p.cycle for p in points], series, notes, [p.verified for p in points]
        )
    organization = session.get_one(Organization, assessment.organization_id)
    version = session.get_one(RubricVersion, cycle.rubric_version_id)
    pdf = exports.scorecard_pdf(
        page=page,
        peer_chart=peer_chart,
        trend_chart=trend_chart,
        trend_note=trend_note(page.trend) if points else "",
        trend_reason=trend_reason,
        reason_label=reason_label,
        assessment=assessment,
        organization=organization,
        cycle=cycle,
        rubric=rubric,
        version=version,
        language=language,
        scored=scored,
        card=lead,
        own=own,
        is_verified=page.verified is not None,
        verified_on=page.verified_on,
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
    session.commit()  # end the read: the audit's write then waits its turn (SQLite)
    audit(
        session,
        actor=current_user,
        action="exported",
        object_type="assessment",
        object_id=assessment.id,
        organization_id=assessment.organization_id,
        format="pdf",
        language=language,
    )
    session.commit()
    # A revoked grant must not leave copies in shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


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
    data, pairs = queries.dashboard_scores_and_pairs(session, filters, codes, viewer=viewer)
    ranking = dashboard.rank_rows(data, [d.weight for d in rubric.domains] if rubric else [])
    page, pages = dashboard.page_number(request.args, data.size)
    shown = ranking.order[(page - 1) * dashboard.PAGE_SIZE : page * dashboard.PAGE_SIZE]
    page_urls = dashboard.scorecard_urls(data.assessment_ids[shown])  # this page's rows only
    urls = dict(zip(shown.tolist(), page_urls, strict=True))
    names = [data.names[i] for i in shown]
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


# --- network-wide trends (issue 9, section 6) --------------------------------------------------


@bp.route("/trends", endpoint="trends")
@login_required
@requires("view_dashboard")
def trends_page() -> str:
    """One rubric's cohort over its cycles: the distribution of each domain's scores per cycle
    (box plots beside their table), like with like, with the number of NGOs in each cycle.
    Funders see their granting NGOs, evaluators their cycles, admins everything."""
    session, viewer = dbsession(), permissions.current_principal()
    rubrics = trends.trend_rubrics(session, viewer=viewer)
    wanted = request.args.get("rubric", "")
    code = wanted if any(c == wanted for c, _t in rubrics) else (rubrics[0][0] if rubrics else "")
    found = (
        trends.network_trend(session, code, viewer=viewer, language=str(get_locale() or ""))
        if code
        else None
    )
    charts: dict[str, str] = {}
    note = ""
    if found is not None and found.comparable:
        note = network_trend_note(found)
        shown = [
            (
                gettext("%(cycle)s (%(n)s NGOs)", cycle=c.name, n=c.n_ngos),
                figures.BoxStats(c.name, c.n, c.minimum, c.q1, c.median, c.q3, c.maximum),
            )
            for c in found.comparable
        ]
        charts["trend"] = figures.to_json(
            figures.cohort_boxes([label for _c, label in found.domains], shown, note=note)
        )
    return render_template(
        "reports/trends.html",
        rubrics=rubrics,
        code=code,
        trend=found,
        charts=charts,
        note=note,
    )


def network_trend_note(found: trends.NetworkTrend) -> str:
    """Which rubric versions the cohort's trend compares (said on the chart and under it)."""
    parts = [gettext("Scores under rubric version %(n)s.", n=found.version)]
    rescored = [c.name for c in found.comparable if c.rescored]
    if rescored:
        parts.append(
            gettext(
                "Rescored under it, questions that changed left out: %(cycles)s.",
                cycles=", ".join(rescored),
            )
        )
    other = [f"{c.name} ({c.version})" for c in found.cycles if c.version != found.version]
    if other:
        parts.append(
            gettext("Under another version, left out: %(cycles)s.", cycles=", ".join(other))
        )
    return " ".join(parts)
