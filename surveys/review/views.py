"""External verification: the evaluator's review, indicator by indicator, and the NGO's view of
the verified ratings once the review is complete. Workflow rules live in :mod:`surveys.workflow`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from accounts import permissions
from accounts.inputs import parse_id
from accounts.models import Organization
from accounts.permissions import requires
from rubrics.forms import PostButtonForm
from rubrics.languages import page_language
from rubrics.schema import Domain, Indicator, Rubric
from surveys import answers as store
from surveys import workflow
from surveys.access import load_assessment
from surveys.models import Assessment, AssessmentCycle, Source, Status
from surveys.questionnaire.forms import (
    ResponseFormBase,
    build_response_form,
    form_data,
    read_answers,
)
from surveys.review import services as review
from webapp.extensions import dbsession

bp = Blueprint("review", __name__, template_folder="templates")


# --- forms ----------------------------------------------------------------------------------------


class ReturnForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    reason = TextAreaField(
        _l("Reasons for returning it"),
        validators=[
            InputRequired(_l("Say why, so that the NGO knows what to change.")),
            Length(max=workflow.REASON_MAX),
        ],
        render_kw={"rows": 4},
    )


def _sub_domain(rubric: Rubric, indicator: Indicator) -> Domain:
    """The indicator, with only its rated questions, as a page of its own (the questionnaire's
    form builder and reader then serve the verified ratings too)."""
    for domain in rubric.domains:
        if any(i.id == indicator.id for i in domain.indicators):
            rated = tuple(review.rated_questions(indicator))
            return domain.model_copy(
                update={"indicators": (indicator.model_copy(update={"questions": rated}),)}
            )
    raise KeyError(indicator.id)  # pragma: no cover - the indicator comes from the rubric


def _review_form_class(rubric: Rubric, domain: Domain, language: str) -> type[ResponseFormBase]:
    base = build_response_form(rubric, domain, language)
    attrs: dict[str, Any] = {
        "note": TextAreaField(
            _l("Note on this indicator"),
            validators=[Optional(), Length(max=review.NOTE_MAX)],
            render_kw={"rows": 4},
        ),
        "note_version": HiddenField(),
    }
    return type("IndicatorReviewForm", (base,), attrs)


# --- access ---------------------------------------------------------------------------------------


def load_for_review(assessment_id: int) -> tuple[Assessment, AssessmentCycle, Rubric]:
    """The assessment if the current user may review it (an evaluator assigned to its cycle, or
    an admin); else 403 to whoever sees the assessment (its NGO, a funder it granted access,
    other evaluators), 404 to whoever does not (they do not learn that it exists)."""
    assessment = load_assessment(assessment_id, need="review_assessment")
    cycle, rubric = store.rubric_for(dbsession(), assessment)
    return assessment, cycle, rubric


def _evidence_urls(assessment: Assessment, views: list[review.IndicatorView]) -> dict[int, str]:
    return {
        item.id: url_for("evidence.evidence_file", assessment_id=assessment.id, evidence_id=item.id)
        for view in views
        for question in view.questions
        for item in question.evidence
    }


# --- the evaluator's pages ------------------------------------------------------------------------


@bp.route("/<int:assessment_id>/review")
@login_required
@requires("review_assessment")
def review_assessment(assessment_id: int) -> str:
    assessment, cycle, rubric = load_for_review(assessment_id)
    session = dbsession()
    language = page_language(rubric)
    views = review.indicator_views(session, assessment, rubric, language, with_verified=True)
    return render_template(
        "review/assessment.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        organization=session.get(Organization, assessment.organization_id),
        indicators=views,
        history=workflow.status_history(session, assessment_id),
        language=language,
        action_form=PostButtonForm(),
        return_form=ReturnForm(formdata=None),
        allowed=workflow.allowed_from(assessment.status),
    )


def _move(assessment_id: int, to: Status, message: str, reason: str | None = None) -> Response:
    assessment, _, _ = load_for_review(assessment_id)
    session = dbsession()
    try:
        if to == Status.IN_REVIEW:
            review.start_review(session, assessment, by=current_user)
        elif to == Status.VERIFIED:
            review.complete_review(session, assessment, by=current_user)
        else:
            review.return_assessment(session, assessment, reason=reason or "", by=current_user)
    except workflow.AssessmentError as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        session.commit()
        flash(message, "success")
    return redirect(url_for("review.review_assessment", assessment_id=assessment_id))


@bp.route("/<int:assessment_id>/review/start", methods=["POST"])
@login_required
@requires("review_assessment")
def review_start(assessment_id: int) -> Response:
    return _move(
        assessment_id, Status.IN_REVIEW, _("Review started: the NGO sees it is in review.")
    )


@bp.route("/<int:assessment_id>/review/complete", methods=["POST"])
@login_required
@requires("review_assessment")
def review_complete(assessment_id: int) -> Response:
    return _move(
        assessment_id,
        Status.VERIFIED,
        _("Review complete: the verified scores are computed and the NGO can see them."),
    )


@bp.route("/<int:assessment_id>/review/return", methods=["POST"])
@login_required
@requires("review_assessment")
def review_return(assessment_id: int) -> Response | tuple[str, int]:
    assessment, cycle, rubric = load_for_review(assessment_id)
    form = ReturnForm()
    if form.validate_on_submit():
        return _move(
            assessment_id,
            Status.RETURNED,
            _("Returned to the NGO with your reasons."),
            reason=form.reason.data,
        )
    session = dbsession()
    language = page_language(rubric)
    return render_template(
        "review/assessment.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        organization=session.get(Organization, assessment.organization_id),
        indicators=review.indicator_views(
            session, assessment, rubric, language, with_verified=True
        ),
        history=workflow.status_history(session, assessment_id),
        language=language,
        action_form=PostButtonForm(),
        return_form=form,
        allowed=workflow.allowed_from(assessment.status),
    ), 422


@bp.route("/<int:assessment_id>/review/indicator/<indicator_id>", methods=["GET", "POST"])
@login_required
@requires("review_assessment")
def review_indicator(assessment_id: int, indicator_id: str) -> Response | str | tuple[str, int]:
    assessment, cycle, rubric = load_for_review(assessment_id)
    indicator = review.find_indicator(rubric, indicator_id)
    if indicator is None:
        abort(404)
    session = dbsession()
    language = page_language(rubric)
    domain = _sub_domain(rubric, indicator)
    form_class = _review_form_class(rubric, domain, language)
    editable = assessment.status == Status.IN_REVIEW
    conflicts: dict[str, store.Conflict] = {}
    note_conflict: str | None = None
    errors: dict[str, list[str]] = {}
    status = 200

    if request.method == "POST":
        if not editable:
            flash(_("Ratings can be verified only while the assessment is in review."), "error")
            return redirect(url_for("review.review_assessment", assessment_id=assessment_id))
        form = form_class()
        form.validate()
        posted = read_answers(form, rubric, domain)
        raw = form.note_version.data or ""
        outcome = review.save_indicator_page(
            session,
            assessment,
            indicator_id,
            values=posted.values,
            base_versions=posted.base_versions,
            errors=posted.errors,
            note=form.note.data,
            note_errors=list(form.note.errors),
            note_version=parse_id(raw),
            by=current_user,
        )
        session.commit()
        if outcome.ok:
            flash(
                _("Saved your review of %(name)s.", name=rubric.text(indicator.label, language)),
                "success",
            )
            return redirect(_after_indicator(assessment_id, rubric, indicator_id))
        # Stay on the page: rebase on what is stored now, keep what was posted.
        for qid, version in outcome.base_versions.items():
            field = form._fields.get(f"v_{qid}")
            if field is not None:
                field.data = str(version)
        form.note_version.data = str(outcome.note_version)
        errors = outcome.errors
        conflicts = outcome.conflicts
        note_conflict = outcome.saved.note_conflict
        status = 422 if errors else 409
    else:
        form = form_class(data=_initial_data(assessment_id, rubric, domain, indicator_id))

    views = [
        v
        for v in review.indicator_views(session, assessment, rubric, language, with_verified=True)
        if v.id == indicator_id
    ]
    order = [ind.id for d in rubric.domains for ind in d.indicators]
    position = order.index(indicator_id)
    return render_template(
        "review/indicator.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        indicator=indicator,
        view=views[0],
        form=form,
        editable=editable,
        errors=errors,
        conflicts=conflicts,
        note_conflict=note_conflict,
        describe=lambda qid, value: review.describe(rubric, rubric.question(qid), value, language),
        evidence_urls=_evidence_urls(assessment, views),
        previous_id=order[position - 1] if position > 0 else None,
        next_id=order[position + 1] if position + 1 < len(order) else None,
        position=position,
        total=len(order),
        language=language,
    ), status


def _initial_data(
    assessment_id: int, rubric: Rubric, domain: Domain, indicator_id: str
) -> dict[str, Any]:
    """The stored verified ratings; the self-rating where there is none yet (the evaluator
    changes what they disagree with)."""
    session = dbsession()
    verified = store.answers_of(session, assessment_id, Source.VERIFIED)
    own = store.answers_of(session, assessment_id, Source.SELF)
    data = form_data(rubric, domain, verified)
    fallback = form_data(rubric, domain, own)
    for indicator in domain.indicators:
        for question in indicator.questions:
            answer = verified.get(question.id)
            if answer is None or store.is_blank(answer.value):
                for prefix in ("q_", "m_"):
                    key = f"{prefix}{question.id}"
                    if key in fallback:
                        data[key] = fallback[key]
    stored = review.indicator_reviews(session, assessment_id).get(indicator_id)
    data["note"] = stored.note if stored and stored.note else ""
    data["note_version"] = str(stored.version) if stored else ""
    return data


def _after_indicator(assessment_id: int, rubric: Rubric, indicator_id: str) -> str:
    order = [ind.id for d in rubric.domains for ind in d.indicators]
    position = order.index(indicator_id)
    if request.form.get("action") == "next" and position + 1 < len(order):
        return url_for(
            "review.review_indicator",
            assessment_id=assessment_id,
            indicator_id=order[position + 1],
        )
    return url_for("review.review_assessment", assessment_id=assessment_id)


# --- what the NGO sees ----------------------------------------------------------------------------


@bp.route("/<int:assessment_id>/verification")
@login_required
@requires("view_assessment")
def verification(assessment_id: int) -> str:
    """Self versus verified ratings, scores and notes: only once the review is complete."""
    session = dbsession()
    assessment = load_assessment(assessment_id)
    cycle, rubric = store.rubric_for(session, assessment)
    language = page_language(rubric)
    visible = workflow.verified_visible(assessment)
    notes = permissions.can("view_evidence", assessment)  # a funder: if the grant says so
    found = review.comparison(session, assessment, rubric, language) if visible else None
    return render_template(
        "review/comparison.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        organization=session.get(Organization, assessment.organization_id),
        comparison=found,
        return_notice=workflow.return_notice(session, assessment) if notes else None,
        evidence_urls=_evidence_urls(assessment, found.indicators) if found and notes else {},
        show_notes=notes,
        language=language,
    )
