"""Double verification: the cycle's share (whoever manages the cycle) and the second evaluator's
blind pages (their queue, and one assessment at a time)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from accounts.concurrency import StaleWrite
from accounts.lists import read_list
from accounts.models import Organization
from accounts.permissions import requires
from surveys import answers as store
from surveys.access import load_cycle
from surveys.double import services as double
from surveys.models import Assessment, Source
from surveys.questionnaire.fields import display_answer
from webapp.extensions import dbsession

bp = Blueprint("double", __name__, template_folder="templates")


def _user() -> Any:
    return current_user._get_current_object()


@bp.route("/cycles/<int:cycle_id>/double", methods=["GET", "POST"])
@login_required
@requires("manage_cycle")
def cycle_setting(cycle_id: int) -> str | Response:
    """Set the share of submissions verified twice, and draw that share."""
    session = dbsession()
    cycle = load_cycle(cycle_id, need="manage_cycle")
    error = None
    if request.method == "POST":
        try:
            percent = float(request.form.get("percent", "").replace(",", "."))
        except ValueError:
            percent = float("nan")
        try:
            double.set_percent(session, cycle, percent, by=_user())
            outcome = double.draw_sample(session, cycle, by=_user())
        except double.DoubleError as exc:
            session.rollback()
            error = str(exc)
        else:
            session.commit()
            flash(
                _(
                    "%(added)s assessments drawn; %(drawn)s of %(eligible)s submitted "
                    "assessments are verified twice.",
                    added=outcome.added,
                    drawn=outcome.drawn,
                    eligible=outcome.eligible,
                )
            )
            return redirect(url_for("double.cycle_setting", cycle_id=cycle_id))
    return render_template(
        "double/cycle.html",
        cycle=cycle,
        progress=double.progress_of(session, cycle_id),
        candidates=double.second_evaluator_candidates(session, cycle_id),
        error=error,
    )


@bp.route("/double")
@login_required
@requires("be_cycle_evaluator")
def queue() -> str:
    """The assessments this evaluator verifies a second time."""
    state = read_list(request.args, double.QUEUE_LIST)
    found = double.assignment_page(dbsession(), current_user.id, state)
    return render_template(
        "double/queue.html",
        found=found,
        rows=found.rows,
        state_options=[("to_do", _("to do")), ("completed", _("completed"))],
    )


@bp.route("/double/<int:double_id>", methods=["GET", "POST"])
@login_required
@requires("be_cycle_evaluator")
def verify(double_id: int) -> str | Response:
    """Rate an assessment blind: the NGO's self-ratings, never the first evaluator's."""
    session = dbsession()
    try:
        assignment = double.assignment_for(session, double_id, current_user.id)
    except LookupError:
        abort(404)
    assessment = session.get(Assessment, assignment.assessment_id)
    if assessment is None:  # pragma: no cover - foreign key
        abort(404)
    cycle, rubric = store.rubric_for(session, assessment)
    language = rubric.default_language
    bad: list[str] = []
    stale = False
    if request.method == "POST":
        posted = {q.id: request.form.get(f"q_{q.id}", "") for q in double.rated_questions(rubric)}
        try:
            seen = int(request.form.get("version", ""))
        except ValueError:
            seen = -1
        try:
            bad = double.save_ratings(
                session,
                assignment,
                rubric,
                posted,
                seen=seen,
                complete="complete" in request.form,
            )
        except StaleWrite:
            session.rollback()
            stale = True
        except double.DoubleError as exc:
            session.rollback()
            flash(str(exc))
            return redirect(url_for("double.verify", double_id=double_id))
        if not bad and not stale:
            session.commit()
            flash(_("Your ratings are saved."))
            return redirect(url_for("double.verify", double_id=double_id))
        session.rollback()
    own = store.values_of(store.answers_of(session, assessment.id, Source.SELF))  # type: ignore[arg-type]
    mine = double.ratings_of(session, double_id)
    done = double.is_done(assignment, assessment)
    first = (
        store.values_of(store.answers_of(session, assessment.id, Source.VERIFIED))  # type: ignore[arg-type]
        if done
        else {}
    )
    wanted = {q.id for q in double.rated_questions(rubric)}
    sections = []
    for domain in rubric.domains:
        for indicator in domain.indicators:
            questions = [q for q in indicator.questions if q.id in wanted]
            if not questions:
                continue
            sections.append(
                {
                    "label": rubric.text(indicator.label, language),
                    "domain": rubric.text(domain.label, language),
                    "questions": [
                        {
                            "id": q.id,
                            "label": rubric.text(q.label, language),
                            "own": display_answer(q, rubric, language, own.get(q.id)),
                            "choices": [
                                (key, display_answer(q, rubric, language, value))
                                for key, value in double.allowed_values(q).items()
                            ],
                            "mine": "" if mine.get(q.id) is None else str(mine[q.id]),
                            "first": display_answer(q, rubric, language, first.get(q.id))
                            if done
                            else None,
                        }
                        for q in questions
                    ],
                }
            )
    organization = session.get(Organization, assessment.organization_id)
    return render_template(
        "double/verify.html",
        assignment=assignment,
        assessment=assessment,
        cycle=cycle,
        sections=sections,
        done=done,
        bad=set(bad),
        stale=stale,
        organization=organization,
    )
