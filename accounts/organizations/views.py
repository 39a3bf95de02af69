"""Administration of organisations (admins) and the profile page (its NGO admins, admins)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlmodel import col
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from accounts.concurrency import StaleWrite
from accounts.forms import ConfirmForm
from accounts.lists import ListSpec, contains, like_pattern, page_of, read_list
from accounts.models import Organization
from accounts.organizations import labels, services
from accounts.organizations.forms import CreateOrganizationForm, ProfileForm, format_names
from accounts.permissions import authorize, can, requires
from webapp.extensions import dbsession

bp = Blueprint("organizations", __name__, template_folder="templates")


ORGANIZATION_LIST = ListSpec(
    sorts={
        "name": col(Organization.name),
        "code": col(Organization.code),
        "kind": col(Organization.kind),
        "country": col(Organization.country),
        "status": col(Organization.active),
    },
    default_sort="name",
    filters={
        "kind": list(labels.KIND_LABELS),
        "country": list(labels.COUNTRY_LABELS),
        "status": ["active", "deactivated"],
    },
    tiebreak=(col(Organization.id),),
)


def _load(org_id: int, need: str) -> Organization:
    return authorize(dbsession().get(Organization, org_id), need)


@bp.route("/organizations")
@login_required
@requires("manage_organizations")
def organization_list() -> str:
    state = read_list(request.args, ORGANIZATION_LIST)
    query = sa.select(Organization)
    if state.q:  # the name in every language, the code
        query = query.where(
            sa.or_(
                col(Organization.search_text).like(like_pattern(state.q.casefold()), escape="\\"),
                contains(state.q, col(Organization.code)),
            )
        )
    for name in ("kind", "country"):
        if state.get(name):
            query = query.where(getattr(Organization, name) == state.get(name))
    if state.get("status"):
        query = query.where(col(Organization.active) == (state.get("status") == "active"))
    found = page_of(dbsession(), query, state)
    return render_template(
        "organizations/list.html",
        found=found,
        orgs=[org for (org,) in found.rows],
        labels=labels,
        form=ConfirmForm(),
        status_options=[("active", gettext("Active")), ("deactivated", gettext("Deactivated"))],
    )


@bp.route("/organizations/new", methods=["GET", "POST"])
@login_required
@requires("manage_organizations")
def create() -> Response | tuple[str, int] | str:
    form = CreateOrganizationForm()
    if form.validate_on_submit():
        session = dbsession()
        try:
            org = services.create_organization(
                session,
                code=form.code.data or "",
                name=form.name.data or "",
                kind=form.kind.data or "",
                country=form.country.data or None,
                by=current_user,
            )
        except services.OrganizationError as exc:
            session.rollback()
            form.code.errors = [*form.code.errors, str(exc)]
        else:
            session.commit()
            flash(gettext("%(name)s is created. Fill in its profile.", name=org.name), "success")
            return redirect(url_for("organizations.profile", org_id=org.id))
    status = 400 if request.method == "POST" else 200
    return render_template("organizations/create.html", form=form), status


def _profile_form(org: Organization) -> ProfileForm:
    form = ProfileForm()
    if not can("manage_organizations"):
        del form.kind  # NGO admins edit the profile, not what kind of organisation it is
    if org.country and all(c.value != org.country for c in form.country.choices):
        form.country.choices = [*form.country.choices, SelectChoice(org.country, org.country)]
    return form


@bp.route("/organizations/<int:org_id>/profile", methods=["GET", "POST"])
@login_required
@requires("edit_profile")
def profile(org_id: int) -> Response | tuple[str, int] | str:
    org = _load(org_id, "edit_profile")
    form = _profile_form(org)
    if request.method == "GET":
        form.fill_from(org)
        return render_template("organizations/profile.html", org=org, form=form)
    if not form.validate_on_submit():
        return render_template("organizations/profile.html", org=org, form=form), 400
    session = dbsession()
    values = form.profile_values()
    seen = int(form.version.data) if (form.version.data or "").isdigit() else None
    try:
        services.update_profile(
            session,
            org,
            seen=seen,
            values=values,
            by=current_user,
            kind=form.kind.data if "kind" in form else None,
        )
        session.commit()
    except StaleWrite:
        session.rollback()
        return _conflict(org_id, form, values), 409
    except services.OrganizationError as exc:
        session.rollback()
        flash(str(exc), "error")
        return render_template("organizations/profile.html", org=org, form=form), 400
    else:
        flash(gettext("The profile is saved."), "success")
        return redirect(url_for("organizations.profile", org_id=org_id))


def _conflict(org_id: int, form: ProfileForm, yours: dict[str, Any]) -> str:
    """Both versions side by side; the form holds yours, based on the current version, so
    saving it again overwrites knowingly."""
    session = dbsession()
    session.expire_all()
    current = _load(org_id, "edit_profile")
    theirs = services.clean_profile({k: getattr(current, k) for k in services.PROFILE_FIELDS})
    mine = services.clean_profile(yours)
    rows = [
        (key, _shown(key, theirs.get(key)), _shown(key, mine.get(key)))
        for key in services.PROFILE_FIELDS
        if theirs.get(key) != mine.get(key)
    ]
    form.version.data = str(current.version)
    return render_template(
        "organizations/conflict.html", org=current, form=form, rows=rows, field_names=_field_names()
    )


def _field_names() -> dict[str, str]:
    return {
        name: str(field.label.text)
        for name, field in ProfileForm(meta={"csrf": False})._fields.items()
    }


def _shown(key: str, value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "-"
    if key == "names":
        return format_names(value)
    if key == "focus_areas":
        return ", ".join(labels.label(labels.FOCUS_LABELS, v) for v in value)
    if key == "languages":
        return ", ".join(labels.label(labels.LANGUAGE_LABELS, v) for v in value)
    if key == "private_fields":
        return ", ".join(labels.label(labels.FIELD_LABELS, v) for v in value)
    if key == "visibility":
        return labels.label(labels.VISIBILITY_LABELS, value)
    if key == "country":
        return labels.label(labels.COUNTRY_LABELS, value)
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def _set_active(org_id: int, active: bool) -> Response:
    org = _load(org_id, "manage_organizations")
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    seen = request.form.get("version", "")
    session = dbsession()
    try:
        services.set_active(
            session,
            org,
            active=active,
            seen=int(seen) if seen.isdigit() else None,
            by=current_user,
        )
        session.commit()
    except StaleWrite:
        session.rollback()
        flash(
            gettext("Someone changed this organisation meanwhile. Check it and try again."), "error"
        )
    else:
        if active:
            flash(gettext("%(name)s is active again.", name=org.name), "success")
        else:
            flash(
                gettext("%(name)s is deactivated: its people can no longer log in.", name=org.name),
                "success",
            )
    return redirect(url_for("organizations.organization_list"))


@bp.route("/organizations/<int:org_id>/deactivate", methods=["POST"])
@login_required
@requires("manage_organizations")
def deactivate(org_id: int) -> Response:
    return _set_active(org_id, False)


@bp.route("/organizations/<int:org_id>/activate", methods=["POST"])
@login_required
@requires("manage_organizations")
def activate(org_id: int) -> Response:
    return _set_active(org_id, True)
