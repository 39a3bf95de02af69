"""Cycles, for evaluators and admins: the list, opening one, and its page (assessments with
status, progress and deadline; adding NGOs and evaluators later; the plan's target score)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlmodel import col
from werkzeug.wrappers import Response
from wtforms import DateField, FloatField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from accounts import permissions
from accounts.lists import ASC, read_list
from accounts.models import Organization, User
from accounts.permissions import requires
from rubrics.forms import PostButtonForm, add_errors
from rubrics.models import RubricVersion
from surveys import queries
from surveys.access import load_cycle
from surveys.cycles import services as cycles
from surveys.cycles.models import DEFAULT_TARGET
from surveys.models import Assessment, AssessmentCycle, Status
from surveys.questionnaire.fields import CheckboxListField
from webapp.extensions import dbsession

bp = Blueprint("cycles", __name__, template_folder="templates")

# --- forms ----------------------------------------------------------------------------------------


class CycleForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    name = StringField(
        _l("Name"), validators=[InputRequired(_l("Give the cycle a name.")), Length(max=200)]
    )
    code = StringField(
        _l("Code"),
        validators=[InputRequired(_l("Give the cycle a code.")), Length(max=64)],
        description=_l("A short stable identifier, e.g. quick-check-2026. Used in exports."),
    )
    version = SelectField(_l("Rubric version"), coerce=int, validators=[InputRequired()])
    organizations = CheckboxListField(_l("NGOs taking part"), coerce=int, validators=[Optional()])
    opens_on = DateField(_l("Opens on"), validators=[InputRequired(_l("Give the opening date."))])
    closes_on = DateField(_l("Closes on"), validators=[InputRequired(_l("Give the closing date."))])
    evaluators = CheckboxListField(_l("Evaluators"), coerce=int, validators=[Optional()])
    target_score = FloatField(
        _l("Target score (0-100)"),
        default=DEFAULT_TARGET,
        validators=[InputRequired(), NumberRange(0, 100, _l("The target is between 0 and 100."))],
        description=_l("Indicators scoring below it go into the NGO's improvement plan."),
    )


class AddOrganizationsForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    organizations = CheckboxListField(_l("NGOs to add"), coerce=int, validators=[Optional()])


class AssignEvaluatorsForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    evaluators = CheckboxListField(_l("Evaluators to assign"), coerce=int, validators=[Optional()])


class TargetForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    target_score = FloatField(
        _l("Target score (0-100)"),
        validators=[InputRequired(), NumberRange(0, 100, _l("The target is between 0 and 100."))],
    )


def _choices(items: list[Any], label: Any) -> list[SelectChoice]:
    return [SelectChoice(str(item.id), label(item)) for item in items]


# --- views ----------------------------------------------------------------------------------------


@bp.route("/cycles")
@login_required
@requires("view_cycles")
def cycle_list() -> str:
    viewer = permissions.current_principal()
    session = dbsession()
    counts = cycles.cycle_counts(viewer)
    state = read_list(request.args, cycles.cycle_spec(session, counts))
    return render_template(
        "cycles/list.html",
        found=cycles.cycle_page(session, state, counts, today=date.today()),
        rubrics=cycles.rubric_options(session),
        phases=[("upcoming", _("upcoming")), ("open", _("open")), ("closed", _("closed"))],
    )


@bp.route("/cycles/new", methods=["GET", "POST"])
@login_required
@requires("open_cycles")
def cycle_new() -> Response | str | tuple[str, int]:
    session = dbsession()
    ngos = cycles.ngo_organizations(session)
    evaluators = cycles.evaluator_users(session)
    form = CycleForm()
    form.version.choices = [
        SelectChoice(str(v.id), v.label) for v in cycles.published_versions(session)
    ]
    form.organizations.choices = _choices(ngos, lambda o: o.name)
    form.evaluators.choices = _choices(evaluators, lambda u: f"{u.name} ({u.email})")
    if not form.is_submitted():
        form.opens_on.data = date.today()
        if current_user.id in {u.id for u in evaluators}:
            form.evaluators.data = [current_user.id]
    if form.validate_on_submit():
        try:
            cycle = cycles.create_cycle(
                session,
                code=form.code.data or "",
                name=form.name.data or "",
                version=session.get(RubricVersion, form.version.data),
                organizations=[o for o in ngos if o.id in set(form.organizations.data or [])],
                opens_on=form.opens_on.data,
                closes_on=form.closes_on.data,
                evaluators=[u for u in evaluators if u.id in set(form.evaluators.data or [])],
                target_score=float(form.target_score.data),
                by=current_user,
            )
            session.commit()
        except cycles.CycleError as exc:
            session.rollback()
            add_errors(form, exc.errors)
        except sa.exc.IntegrityError:  # the same code, opened by someone else meanwhile
            session.rollback()
            add_errors(form, {"code": [_("This code is already used by another cycle.")]})
        else:
            flash(_("Cycle %(name)s is open.", name=cycle.name), "success")
            return redirect(url_for("cycles.cycle_detail", cycle_id=cycle.id))
    status = 422 if form.is_submitted() else 200
    return render_template("cycles/new.html", form=form), status


def _detail(
    cycle: AssessmentCycle,
    *,
    add_form: AddOrganizationsForm | None = None,
    assign_form: AssignEvaluatorsForm | None = None,
    target_form: TargetForm | None = None,
) -> str:
    session = dbsession()
    cycle_id: int = cycle.id  # type: ignore[assignment]
    viewer = permissions.current_principal()
    options = queries.assessment_filter_options(
        session, viewer, [col(Assessment.cycle_id) == cycle_id]
    )
    state = read_list(
        request.args, queries.assessment_spec(options, default_sort="organization", default_dir=ASC)
    )
    found = queries.assessment_page(session, viewer, state, [col(Assessment.cycle_id) == cycle_id])
    present = cycles.organizations_in(session, cycle_id)
    missing_ngos = [o for o in cycles.ngo_organizations(session) if o.id not in present]
    assigned = set(cycles.evaluator_ids(session, cycle_id))
    candidates = [u for u in cycles.evaluator_users(session) if u.id not in assigned]
    add_form = add_form or AddOrganizationsForm(formdata=None)
    add_form.organizations.choices = _choices(missing_ngos, lambda o: o.name)
    assign_form = assign_form or AssignEvaluatorsForm(formdata=None)
    assign_form.evaluators.choices = _choices(candidates, lambda u: f"{u.name} ({u.email})")
    target = cycles.target_of(session, cycle_id)
    target_form = target_form or TargetForm(formdata=None, target_score=target)
    version = session.get(RubricVersion, cycle.rubric_version_id)
    return render_template(
        "cycles/detail.html",
        cycle=cycle,
        version=version,
        found=found,
        options=options,
        status_options=[(s.value, _(s.value.replace("_", " "))) for s in Status],
        evaluators=[session.get(User, uid) for uid in sorted(assigned)],
        target=target,
        add_form=add_form,
        assign_form=assign_form,
        target_form=target_form,
        action_form=PostButtonForm(),
        today=date.today(),
    )


@bp.route("/cycles/<int:cycle_id>")
@login_required
@requires("view_cycle")
def cycle_detail(cycle_id: int) -> str:
    return _detail(load_cycle(cycle_id))


@bp.route("/cycles/<int:cycle_id>/overview")
@login_required
@requires("view_cycle")
def cycle_overview(cycle_id: int) -> str:
    """Where the cycle's assessments stand, and who has not started (with their contacts, to
    remind them). For those who may manage the cycle: to an evaluator not assigned to it, whose
    scope holds none of its assessments, the page does not exist (404), as to NGOs and funders."""
    cycle = load_cycle(cycle_id)
    if not permissions.may(permissions.current_principal(), "manage_cycle", cycle):
        abort(404)
    overview = cycles.cycle_overview(dbsession(), cycle, viewer=permissions.current_principal())
    return render_template("cycles/overview.html", cycle=cycle, overview=overview)


@bp.route("/cycles/<int:cycle_id>/organizations", methods=["POST"])
@login_required
@requires("manage_cycle")
def cycle_add_organizations(cycle_id: int) -> Response | tuple[str, int]:
    cycle = load_cycle(cycle_id, need="manage_cycle")
    session = dbsession()
    form = AddOrganizationsForm()
    form.organizations.choices = _choices(cycles.ngo_organizations(session), lambda o: o.name)
    if form.validate_on_submit() and form.organizations.data:
        chosen = [session.get(Organization, oid) for oid in form.organizations.data]
        try:
            added = cycles.add_organizations(session, cycle, [o for o in chosen if o])
        except cycles.CycleError as exc:
            session.rollback()
            add_errors(form, exc.errors)
        else:
            session.commit()
            flash(
                _("%(n)s NGO(s) added: each has an assessment to fill in.", n=len(added)),
                "success",
            )
            return redirect(url_for("cycles.cycle_detail", cycle_id=cycle_id))
    elif form.is_submitted() and not form.errors:
        form.organizations.errors = [_("Choose at least one NGO to add.")]
    return _detail(cycle, add_form=form), 422


@bp.route("/cycles/<int:cycle_id>/evaluators", methods=["POST"])
@login_required
@requires("manage_cycle")
def cycle_assign_evaluators(cycle_id: int) -> Response | tuple[str, int]:
    cycle = load_cycle(cycle_id, need="manage_cycle")
    session = dbsession()
    form = AssignEvaluatorsForm()
    form.evaluators.choices = _choices(cycles.evaluator_users(session), lambda u: u.name)
    if form.validate_on_submit() and form.evaluators.data:
        chosen = [session.get(User, uid) for uid in form.evaluators.data]
        try:
            cycles.assign_evaluators(session, cycle, [u for u in chosen if u], by=current_user)
        except cycles.CycleError as exc:
            session.rollback()
            add_errors(form, exc.errors)
        else:
            session.commit()
            flash(_("Evaluators assigned."), "success")
            return redirect(url_for("cycles.cycle_detail", cycle_id=cycle_id))
    elif form.is_submitted() and not form.errors:
        form.evaluators.errors = [_("Choose at least one evaluator to assign.")]
    return _detail(cycle, assign_form=form), 422


@bp.route("/cycles/<int:cycle_id>/evaluators/<int:user_id>/remove", methods=["POST"])
@login_required
@requires("manage_cycle")
def cycle_unassign_evaluator(cycle_id: int, user_id: int) -> Response:
    cycle = load_cycle(cycle_id, need="manage_cycle")
    if not PostButtonForm().validate_on_submit():  # pragma: no cover - CSRFProtect answers first
        abort(400)
    cycles.unassign_evaluator(dbsession(), cycle, user_id, by=current_user)
    dbsession().commit()
    flash(_("Evaluator removed from the cycle."), "success")
    return redirect(url_for("cycles.cycle_detail", cycle_id=cycle_id))


@bp.route("/cycles/<int:cycle_id>/target", methods=["POST"])
@login_required
@requires("manage_cycle")
def cycle_target(cycle_id: int) -> Response | tuple[str, int]:
    cycle = load_cycle(cycle_id, need="manage_cycle")
    form = TargetForm()
    if form.validate_on_submit():
        cycles.set_target(dbsession(), cycle, float(form.target_score.data), by=current_user)
        dbsession().commit()
        flash(_("Target score saved."), "success")
        return redirect(url_for("cycles.cycle_detail", cycle_id=cycle_id))
    return _detail(cycle, target_form=form), 422
