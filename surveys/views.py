"""The questionnaire: one page per domain, saved on every page change, submitted at the end."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from accounts.models import Organization
from rubrics.relevance import parse_relevance
from rubrics.schema import Rubric
from surveys import services
from surveys.access import load_assessment
from surveys.forms import build_response_form, form_data, read_answers
from surveys.models import EDITABLE, Assessment
from webapp.extensions import dbsession

bp = Blueprint("surveys", __name__, template_folder="templates")


def _language(rubric: Rubric) -> str:
    wanted = request.args.get("lang") or str(get_locale() or "")
    return wanted if wanted in rubric.languages else rubric.default_language


def _relevance_trees(rubric: Rubric) -> dict[str, Any]:
    return {q.id: parse_relevance(q.relevant) for _, _, q in rubric.questions() if q.relevant}


@bp.route("/<int:assessment_id>")
@login_required
def overview(assessment_id: int) -> str:
    assessment = load_assessment(dbsession(), assessment_id)
    cycle, rubric = services.rubric_for(dbsession(), assessment)
    values = services.values_of(services.answers_of(dbsession(), assessment_id))
    missing = services.missing_answers(rubric, values)
    per_page = [sum(m.page == page for m in missing) for page in range(len(rubric.domains))]
    return render_template(
        "surveys/overview.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        organization=dbsession().get(Organization, assessment.organization_id),
        language=_language(rubric),
        missing_per_page=per_page,
        can_edit=_can_edit(assessment),
    )


def _can_edit(assessment: Assessment) -> bool:
    from accounts.services import ngo_ids

    return assessment.status in EDITABLE and assessment.organization_id in ngo_ids(
        dbsession(), current_user.id
    )


@bp.route("/<int:assessment_id>/resume")
@login_required
def resume(assessment_id: int) -> Response:
    """Open the first page that still has an unanswered question."""
    assessment = load_assessment(dbsession(), assessment_id, answer=True)
    _, rubric = services.rubric_for(dbsession(), assessment)
    values = services.values_of(services.answers_of(dbsession(), assessment_id))
    missing = services.missing_answers(rubric, values)
    page = missing[0].page if missing else 0
    return redirect(url_for("surveys.page", assessment_id=assessment_id, page=page))


@bp.route("/<int:assessment_id>/page/<int:page>", methods=["GET", "POST"])
@login_required
def page(assessment_id: int, page: int) -> Response | str | tuple[str, int]:
    assessment = load_assessment(dbsession(), assessment_id, answer=True)
    cycle, rubric = services.rubric_for(dbsession(), assessment)
    if not 0 <= page < len(rubric.domains):
        abort(404)
    domain = rubric.domains[page]
    language = _language(rubric)
    form_class = build_response_form(rubric, domain, language)
    answers = services.answers_of(dbsession(), assessment_id)
    editable = assessment.status in EDITABLE
    status = 200
    conflicts: dict[str, services.Conflict] = {}

    if request.method == "POST":
        if not editable:
            flash("This assessment has been submitted; its answers can no longer change.", "error")
            return redirect(url_for("surveys.overview", assessment_id=assessment_id))
        form = form_class()
        form.validate()
        posted = read_answers(form, rubric, domain)
        merged = services.values_of(answers) | posted.values
        relevant = services.relevant_questions(rubric, merged)
        values = {qid: v for qid, v in posted.values.items() if relevant.get(qid, True)}
        result = services.save_answers(
            dbsession(),
            assessment,
            values=values,
            base_versions=posted.base_versions,
            comments={qid: c for qid, c in posted.comments.items() if qid in values},
            user=current_user,
        )
        dbsession().commit()
        if not posted.errors and not result.conflicts:
            return _after_save(assessment_id, page, len(rubric.domains))
        # Stay on the page: errors name their question; conflicts show both values.
        answers = services.answers_of(dbsession(), assessment_id)
        for qid, answer in answers.items():  # rebase on what is stored now, keep what was posted
            field = form._fields.get(f"v_{qid}")
            if field is not None:
                field.data = str(answer.version)
        conflicts = {c.question_id: c for c in result.conflicts}
        status = 409 if conflicts and not posted.errors else 422
        errors = posted.errors
    else:
        form = form_class(data=form_data(rubric, domain, answers))
        errors = {}

    values = services.values_of(answers)
    relevant = services.relevant_questions(rubric, values)
    return render_template(
        "surveys/page.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        domain=domain,
        page=page,
        form=form,
        errors=errors,
        conflicts=conflicts,
        relevant=relevant,
        relevance=_relevance_trees(rubric),
        language=language,
        editable=editable,
        values=values,
    ), status


def _after_save(assessment_id: int, page: int, pages: int) -> Response:
    action = request.form.get("action", "next")
    if action == "later":
        flash("Your answers are saved. You can come back at any time.", "success")
        return redirect(url_for("main.home"))
    if action == "prev":
        target = max(page - 1, 0)
    elif action.startswith("goto-") and action[5:].isdigit():
        target = min(int(action[5:]), pages - 1)
    elif action == "review" or page + 1 >= pages:
        return redirect(url_for("surveys.overview", assessment_id=assessment_id))
    else:
        target = page + 1
    return redirect(url_for("surveys.page", assessment_id=assessment_id, page=target))


@bp.route("/<int:assessment_id>/submit", methods=["POST"])
@login_required
def submit(assessment_id: int) -> Response | tuple[str, int]:
    assessment = load_assessment(dbsession(), assessment_id, answer=True)
    try:
        missing = services.submit(dbsession(), assessment, by=current_user)
    except services.AssessmentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("surveys.overview", assessment_id=assessment_id))
    if missing:
        dbsession().rollback()
        _, rubric = services.rubric_for(dbsession(), assessment)
        return render_template(
            "surveys/missing.html",
            assessment=assessment,
            rubric=rubric,
            missing=missing,
            language=_language(rubric),
        ), 422
    dbsession().commit()
    flash("Submitted. Thank you: your scorecard is ready.", "success")
    return redirect(url_for("reports.scorecard", assessment_id=assessment_id))


@bp.route("/preview/<int:version_id>/page/<int:page>")
@login_required
def preview(version_id: int, page: int) -> str:
    """A rubric version's questionnaire exactly as NGOs will see it (evaluators only)."""
    from accounts.models import Role
    from accounts.services import has_role
    from rubrics.models import RubricVersion
    from rubrics.services import rubric_of

    if not has_role(dbsession(), current_user.id, Role.EVALUATOR, Role.ADMIN):
        abort(404)
    version = dbsession().get(RubricVersion, version_id)
    if version is None:
        abort(404)
    rubric = rubric_of(version)
    if not 0 <= page < len(rubric.domains):
        abort(404)
    domain = rubric.domains[page]
    language = _language(rubric)
    form = build_response_form(rubric, domain, language)(data={}, meta={"csrf": False})
    return render_template(
        "surveys/page.html",
        assessment=None,
        preview_version=version,
        cycle=None,
        rubric=rubric,
        domain=domain,
        page=page,
        form=form,
        errors={},
        conflicts={},
        relevant=services.relevant_questions(rubric, {}),
        relevance=_relevance_trees(rubric),
        language=language,
        editable=True,
        values={},
    )
