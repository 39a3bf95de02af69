"""The evaluators' pages about a rubric itself: its quality in a cycle, and the weight what-if.

A blueprint of its own (``quality``), beside the scorecards' (``reports``), so that each page's
view sits next to its assembly module (:mod:`reports.quality`, :mod:`reports.whatif`)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.permissions import requires
from reports import figures, quality, whatif
from reports.numbers import number
from rubrics.models import RubricVersion
from rubrics.services import StaleVersionError, VersionError, rubric_of
from surveys.access import load_cycle
from webapp.extensions import dbsession

# Its templates live in reports/templates, which the reports blueprint registers.
bp = Blueprint("quality", __name__)


def _fmt(value: float | None, digits: int = 2) -> str:
    """A statistic as its chart's hover text shows it (reports.numbers)."""
    return number(value, digits)


def _interval_chart(rows: list[tuple[str, quality.Figure]], xtitle: str) -> str:
    """One dot per labelled statistic with its interval, as chart JSON."""
    return figures.to_json(
        figures.interval_dots(
            [label for label, _figure in rows],
            [figure.value for _label, figure in rows],
            [figure.low for _label, figure in rows],
            [figure.high for _label, figure in rows],
            xtitle=xtitle,
        )
    )


@bp.route("/quality/cycles/<int:cycle_id>")
@login_required
@requires("manage_cycle")
def cycle_quality(cycle_id: int) -> str:
    """Reliability, item statistics and agreement for one cycle's rubric version."""
    session = dbsession()
    cycle = load_cycle(cycle_id, need="manage_cycle")
    report = quality.quality_report(
        session,
        cycle,
        viewer=permissions.current_principal(),
        language=str(get_locale() or ""),
    )
    if not report.charts:
        report.charts.update(_quality_charts(report))
    return render_template("reports/quality.html", report=report, charts=report.charts, fmt=_fmt)


def _quality_charts(report: quality.QualityReport) -> dict[str, str]:
    """The quality page's charts, as JSON by name."""
    charts: dict[str, str] = {}
    shown = [d for d in report.domains if d.alpha.shown]
    if shown:
        charts["alpha"] = _interval_chart(
            [(d.label, d.alpha) for d in shown], _("Cronbach's alpha (95% bootstrap interval)")
        )
    if report.questions:
        charts["shares"] = figures.to_json(
            figures.answer_shares(
                [q.question_id for q in report.questions],
                [
                    (_("answered"), [q.answered / q.n if q.n else 0.0 for q in report.questions]),
                    (_("not applicable"), [q.not_applicable for q in report.questions]),
                    (_("don't know"), [q.dont_know for q in report.questions]),
                    (_("unanswered"), [q.unanswered for q in report.questions]),
                    (_("hidden by relevance"), [q.not_relevant for q in report.questions]),
                ],
            )
        )
    kappas = [a for a in report.self_verified if a.kappa.shown]
    if kappas:
        charts["kappa"] = _interval_chart(
            [(a.label, a.kappa) for a in kappas],
            _("weighted kappa, self versus verified (interval: 95%)"),
        )
    raters = [r for r in report.raters if r.krippendorff.shown]
    if raters:
        charts["raters"] = _interval_chart(
            [(r.label, r.krippendorff) for r in raters],
            _("Krippendorff's alpha between evaluators (interval: 95%)"),
        )
    return charts


@bp.route("/what-if/<int:version_id>", methods=["GET", "POST"])
@login_required
@requires("author_rubric")
def what_if(version_id: int) -> str | Response:
    """Change weights and band thresholds in a sandbox; apply them to a draft."""
    session = dbsession()
    version = permissions.load(RubricVersion, version_id, need="author_rubric")
    source = request.form if request.method == "POST" else request.args
    weights, problems = whatif.parse_weights(source, rubric_of(version))
    if request.method == "POST" and not problems:
        try:
            lock = int(request.form.get("lock_version", ""))
        except ValueError:
            lock = -1
        try:
            whatif.apply_to_draft(session, version, weights, expected_lock=lock)
        except StaleVersionError:
            session.rollback()
            problems.append(_("Someone changed this draft meanwhile; nothing was written."))
        except VersionError as exc:
            session.rollback()
            problems.append(str(exc))
        else:
            session.commit()
            flash(_("The weights are written into the draft."))
            return redirect(url_for("quality.what_if", version_id=version_id))
    result = whatif.what_if(session, version, weights, viewer=permissions.current_principal())
    charts: dict[str, str] = {}
    if result.rows:
        charts["before-after"] = figures.to_json(
            figures.before_after(
                [r.name for r in result.rows],
                [r.before for r in result.rows],
                [r.after for r in result.rows],
            )
        )
    language = str(get_locale() or "")
    if language not in result.rubric.languages:
        language = result.rubric.default_language
    return render_template(
        "reports/whatif.html",
        result=result,
        problems=problems,
        charts=charts,
        language=language,
        record=whatif.record_of(session, version),
        draft=whatif.is_draft(version),
        bands=sorted(result.rubric.bands, key=lambda b: b.min),
        fmt=_fmt,
    )
