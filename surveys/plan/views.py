"""The improvement plan of an assessment: indicators below target and the NGO's actions.

Everyone who may see the assessment sees its plan; only the NGO's members change it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from accounts import permissions
from accounts.inputs import parse_id
from accounts.models import Organization
from accounts.permissions import requires
from rubrics.forms import add_errors
from rubrics.languages import page_language
from surveys.access import load_assessment
from surveys.answers import rubric_for
from surveys.models import Assessment
from surveys.plan import services as plan
from surveys.plan.models import ActionStatus, ImprovementAction
from webapp.extensions import dbsession

bp = Blueprint("plan", __name__, template_folder="templates")

# --- forms ----------------------------------------------------------------------------------------


def _status_choices() -> list[SelectChoice]:
    return [SelectChoice(str(s), plan.STATUS_LABELS[s]) for s in ActionStatus]


class ImprovementActionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    text = TextAreaField(
        _l("What will be done"),
        validators=[InputRequired(_l("Say what will be done.")), Length(max=plan.TEXT_MAX)],
        render_kw={"rows": 2},
    )
    owner = StringField(_l("Who"), validators=[Optional(), Length(max=plan.OWNER_MAX)])
    due_on = DateField(_l("By when"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=_status_choices(), default=ActionStatus.PLANNED)


class NewActionForm(ImprovementActionForm):
    pass


class EditActionForm(ImprovementActionForm):
    lock_version = HiddenField()


def _new_form(indicator_id: str, **kwargs: Any) -> NewActionForm:
    """Each indicator's form has its own prefix: field names and ids are unique on the page."""
    return NewActionForm(prefix=f"new_{indicator_id}", **kwargs)


def _edit_form(action_id: int, **kwargs: Any) -> EditActionForm:
    return EditActionForm(prefix=f"action{action_id}", **kwargs)


# --- access ---------------------------------------------------------------------------------------


def load_plan(assessment_id: int, *, edit: bool = False) -> Assessment:
    """The assessment if the current user may see its plan (``edit``: change it); else 404 if
    they may not see it, 403 if they see it but may not change it."""
    return load_assessment(assessment_id, need="edit_plan" if edit else "view_plan")


# --- views ----------------------------------------------------------------------------------------


def _render(
    assessment: Assessment,
    *,
    new_forms: dict[str, NewActionForm] | None = None,
    edit_forms: dict[int, EditActionForm] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    session = dbsession()
    cycle, rubric = rubric_for(session, assessment)
    language = page_language(rubric)
    found = plan.plan_for(session, assessment, rubric, language)
    editable = permissions.can("edit_plan", assessment)
    new_forms = dict(new_forms or {})
    edit_forms = dict(edit_forms or {})
    if editable:
        for indicator in found.indicators:
            new_forms.setdefault(indicator.id, _new_form(indicator.id, formdata=None))
            for item in indicator.actions:
                a = item.action
                edit_forms.setdefault(
                    a.id,  # type: ignore[arg-type]
                    _edit_form(
                        a.id,  # type: ignore[arg-type]
                        formdata=None,
                        text=a.text,
                        owner=a.owner,
                        due_on=a.due_on,
                        status=a.status,
                        lock_version=str(a.lock_version),
                    ),
                )
    return render_template(
        "plan/page.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        organization=session.get(Organization, assessment.organization_id),
        plan=found,
        editable=editable,
        new_forms=new_forms,
        edit_forms=edit_forms,
        status_labels=plan.STATUS_LABELS,
        language=language,
    ), status


@bp.route("/<int:assessment_id>/plan")
@login_required
@requires("view_plan")
def plan_page(assessment_id: int) -> tuple[str, int]:
    return _render(load_plan(assessment_id))


@bp.route("/<int:assessment_id>/plan/indicators/<indicator_id>/actions", methods=["POST"])
@login_required
@requires("edit_plan")
def plan_add_action(assessment_id: int, indicator_id: str) -> Response | tuple[str, int]:
    assessment = load_plan(assessment_id, edit=True)
    session = dbsession()
    form = _new_form(indicator_id)
    if form.validate_on_submit():
        try:
            plan.add_action(
                session,
                assessment,
                indicator_id=indicator_id,
                text=form.text.data or "",
                owner=form.owner.data,
                due_on=form.due_on.data,
                status=form.status.data,
                by=current_user,
            )
        except plan.PlanError as exc:
            session.rollback()
            add_errors(form, exc.errors)
            if "indicator_id" in exc.errors:
                abort(404)  # not an indicator of this plan
        else:
            session.commit()
            flash(_("Action added to the plan."), "success")
            return redirect(url_for("plan.plan_page", assessment_id=assessment_id))
    return _render(assessment, new_forms={indicator_id: form}, status=422)


def _load_action(assessment: Assessment, action_id: int) -> ImprovementAction:
    session = dbsession()
    _, rubric = rubric_for(session, assessment)
    action = plan.find_action(session, assessment, rubric, action_id)
    if action is None:
        abort(404)
    return action


@bp.route("/<int:assessment_id>/plan/actions/<int:action_id>", methods=["POST"])
@login_required
@requires("edit_plan")
def plan_update_action(assessment_id: int, action_id: int) -> Response | tuple[str, int]:
    assessment = load_plan(assessment_id, edit=True)
    action = _load_action(assessment, action_id)
    session = dbsession()
    form = _edit_form(action_id)
    if form.validate_on_submit():
        raw = form.lock_version.data or ""
        try:
            changed = plan.update_action(
                session,
                action,
                text=form.text.data or "",
                owner=form.owner.data,
                due_on=form.due_on.data,
                status=form.status.data,
                base_version=parse_id(raw),
                by=current_user,
            )
        except plan.PlanConflict as exc:
            session.rollback()
            # Theirs is shown in the plan; yours stays in the open form, based on theirs, so
            # that saving it again keeps yours and leaving it keeps theirs.
            current = exc.current
            form.lock_version.data = str(current.lock_version) if current is not None else ""
            form.form_errors.append(str(exc))
            flash(
                _(
                    "Someone else changed this action while you were editing it; nothing was "
                    "overwritten. Theirs is shown; yours is kept in the form: save it again "
                    "to keep yours."
                ),
                "error",
            )
            return _render(assessment, edit_forms={action_id: form}, status=409)
        except plan.PlanError as exc:
            session.rollback()
            add_errors(form, exc.errors)
        else:
            session.commit()
            flash(_("Action saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("plan.plan_page", assessment_id=assessment_id))
    return _render(assessment, edit_forms={action_id: form}, status=422)
