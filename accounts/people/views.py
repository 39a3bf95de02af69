"""People pages: the admins' /admin/people and /admin/audit, an NGO's /organizations/<id>/team,
and the public pages behind invitation and reset links."""

from __future__ import annotations

import contextlib
import logging
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from accounts import mail, sessions, tokens
from accounts.forms import ConfirmForm
from accounts.lists import ListSpec, contains, page_of, read_list
from accounts.models import Membership, Organization, OrgKind, Role, TokenPurpose, User
from accounts.people import audit_log, services
from accounts.people.forms import (
    NO_ORGANIZATION,
    AuditFilterForm,
    ChoosePasswordForm,
    ForgotForm,
    InviteForm,
    MembershipForm,
    TeamRoleForm,
    role_choices,
    role_label,
)
from accounts.permissions import authorize, public, requires
from accounts.services import AccountError, audit
from webapp.extensions import dbsession

log = logging.getLogger(__name__)

bp = Blueprint("people", __name__, template_folder="templates")

PEOPLE_LIST = ListSpec(
    sorts={"name": col(User.name), "email": col(User.email), "status": col(User.active)},
    default_sort="name",
    filters={"role": [str(r) for r in Role], "status": ["active", "deactivated"]},
    tiebreak=(col(User.id),),
)
TEAM_ROLES = [Role.NGO_MEMBER, Role.NGO_ADMIN]


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"role_label": role_label}


# --- messages -------------------------------------------------------------------------------------


def _invitation(user: User, raw: str, organization: Organization | None) -> mail.Message:
    link = mail.absolute(url_for("people.accept", token=raw))
    return mail.compose(
        "people/email/invitation",
        to=user.email,
        locale=user.locale,
        subject=_l("You are invited to Evaluator"),
        link=link,
        user=user,
        organization=organization,
        inviter=current_user.name if current_user.is_authenticated else "",
        days=current_app.config["INVITATION_DAYS"],
    )


def _invite(form: InviteForm, organization: Organization | None) -> tuple[User, mail.Message]:
    """Invite whom ``form`` names into ``organization`` and commit; the message to deliver."""
    db = dbsession()
    user, raw = services.invite(
        db,
        email=form.email.data or "",
        name=form.name.data or "",
        role=Role(form.role.data),
        organization=organization,
        locale=form.locale.data,
        by=current_user,
        days=current_app.config["INVITATION_DAYS"],
    )
    message = _invitation(user, raw, organization)
    db.commit()
    return user, message


def _reset(user: User, raw: str) -> mail.Message:
    link = mail.absolute(url_for("people.reset", token=raw))
    return mail.compose(
        "people/email/reset",
        to=user.email,
        locale=user.locale,
        subject=_l("Choose a new Evaluator password"),
        link=link,
        user=user,
        hours=current_app.config["RESET_HOURS"],
    )


def _deliver(message: mail.Message, *, show_link: bool) -> None:
    """Send ``message``; without a mail server (or when it fails), show its link to the person
    who made it (``show_link``) and write it to the server log."""
    try:
        sent = mail.send([message])
    except mail.MailError:
        sent = 0
    if sent:
        flash(gettext("An e-mail was sent to %(email)s.", email=message.to), "success")
    elif show_link:
        log.warning("link for %s: %s", message.to, message.link)
        flash(
            gettext(
                "No e-mail could be sent. Give %(email)s this link yourself: %(link)s",
                email=message.to,
                link=message.link,
            ),
            "info",
        )


# --- admins: people -------------------------------------------------------------------------------


def _organizations() -> list[Organization]:
    return list(dbsession().exec(select(Organization).order_by(col(Organization.name))).all())


def _org_choices(blank: Any) -> list[SelectChoice]:
    return [SelectChoice(NO_ORGANIZATION, str(blank))] + [
        SelectChoice(o.id, o.name) for o in _organizations()
    ]


@bp.route("/admin/people")
@login_required
@requires("administer")
def people() -> str:
    state = read_list(request.args, PEOPLE_LIST)
    db = dbsession()
    select_people = sa.select(User)
    if state.q:
        select_people = select_people.where(contains(state.q, col(User.name), col(User.email)))
    if state.get("role"):
        select_people = select_people.where(
            sa.exists().where(
                col(Membership.user_id) == User.id, col(Membership.role) == state.get("role")
            )
        )
    if state.get("status"):
        select_people = select_people.where(col(User.active) == (state.get("status") == "active"))
    paged = page_of(db, select_people, state)
    found = [user for (user,) in paged.rows]
    roles: dict[int, list[tuple[str, str]]] = {}
    if found:
        rows = db.execute(
            sa.select(col(Membership.user_id), col(Membership.role), col(Organization.name))
            .outerjoin(Organization, col(Organization.id) == col(Membership.organization_id))
            .where(col(Membership.user_id).in_([u.id for u in found]))
        ).all()
        for user_id, role, org in rows:
            roles.setdefault(user_id, []).append((role, org or ""))
    return render_template(
        "people/list.html",
        people=found,
        roles=roles,
        found=paged,
        role_options=[(str(r), role_label(r)) for r in Role],
        status_options=[("active", gettext("active")), ("deactivated", gettext("deactivated"))],
    )


@bp.route("/admin/people/invite", methods=["GET", "POST"])
@login_required
@requires("administer")
def invite() -> Response | str | tuple[str, int]:
    form = InviteForm()
    form.role.choices = role_choices()
    form.organization.choices = _org_choices(_l("(none: a platform-wide role)"))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("people/invite.html", form=form), status
    db = dbsession()
    org = db.get(Organization, form.organization.data) if form.organization.data else None
    try:
        user, message = _invite(form, org)
    except (AccountError, IntegrityError) as exc:  # IntegrityError: invited meanwhile
        db.rollback()
        form.email.errors.append(
            str(exc) if isinstance(exc, AccountError) else gettext("Already done.")
        )
        return render_template("people/invite.html", form=form), 400
    _deliver(message, show_link=True)
    return redirect(url_for("people.person", user_id=user.id))


def _person_page(user: User, form: MembershipForm | None = None) -> str:
    db = dbsession()
    memberships = db.execute(
        sa.select(Membership, col(Organization.name))
        .outerjoin(Organization, col(Organization.id) == col(Membership.organization_id))
        .where(col(Membership.user_id) == user.id)
        .order_by(col(Membership.id))
    ).all()
    if form is None:
        form = MembershipForm()
    form.role.choices = role_choices()
    form.organization.choices = _org_choices(_l("(none: a platform-wide role)"))
    return render_template(
        "people/person.html",
        person=user,
        memberships=memberships,
        form=form,
        confirm=ConfirmForm(),
    )


def _person(user_id: int) -> User:
    return authorize(dbsession().get(User, user_id), "administer")


@bp.route("/admin/people/<int:user_id>")
@login_required
@requires("administer")
def person(user_id: int) -> str:
    return _person_page(_person(user_id))


@bp.route("/admin/people/<int:user_id>/memberships", methods=["POST"])
@login_required
@requires("administer")
def add_membership(user_id: int) -> Response | tuple[str, int]:
    user = _person(user_id)
    form = MembershipForm()
    form.role.choices = role_choices()
    form.organization.choices = _org_choices("")
    if not form.validate_on_submit():
        return _person_page(user, form), 400
    db = dbsession()
    org = db.get(Organization, form.organization.data) if form.organization.data else None
    try:
        services.add_role(
            db, user=user, role=Role(form.role.data), organization=org, by=current_user
        )
        db.commit()
    except (AccountError, IntegrityError) as exc:
        db.rollback()
        flash(str(exc) if isinstance(exc, AccountError) else gettext("Already done."), "error")
    else:
        flash(gettext("Role added."), "success")
    return redirect(url_for("people.person", user_id=user_id))


@bp.route("/admin/people/<int:user_id>/memberships/<int:membership_id>/remove", methods=["POST"])
@login_required
@requires("administer")
def remove_membership(user_id: int, membership_id: int) -> Response:
    user = _person(user_id)
    db = dbsession()
    membership = db.get(Membership, membership_id)
    if (
        membership is None
        or membership.user_id != user.id
        or not ConfirmForm().validate_on_submit()
    ):
        abort(404 if membership is None or membership.user_id != user.id else 400)
    try:
        services.remove_membership(db, membership=membership, by=current_user)
        db.commit()
    except AccountError as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        flash(gettext("Role removed."), "success")
    return redirect(url_for("people.person", user_id=user_id))


@bp.route("/admin/people/<int:user_id>/deactivate", methods=["POST"])
@login_required
@requires("administer")
def deactivate(user_id: int) -> Response:
    user = _person(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = dbsession()
    try:
        services.deactivate(db, user=user, by=current_user)
        db.commit()
    except AccountError as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        flash(gettext("%(name)s can no longer log in.", name=user.name), "success")
    return redirect(url_for("people.person", user_id=user_id))


@bp.route("/admin/people/<int:user_id>/reactivate", methods=["POST"])
@login_required
@requires("administer")
def reactivate(user_id: int) -> Response:
    user = _person(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = dbsession()
    services.reactivate(db, user=user, by=current_user)
    db.commit()
    flash(gettext("%(name)s can log in again.", name=user.name), "success")
    return redirect(url_for("people.person", user_id=user_id))


@bp.route("/admin/people/<int:user_id>/reset", methods=["POST"])
@login_required
@requires("administer")
def send_reset(user_id: int) -> Response:
    user = _person(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = dbsession()
    made = services.request_reset(
        db, email=user.email, by=current_user, hours=current_app.config["RESET_HOURS"]
    )
    if made is None:  # deactivated
        db.rollback()
        flash(gettext("%(name)s cannot log in: reactivate them first.", name=user.name), "error")
        return redirect(url_for("people.person", user_id=user_id))
    message = _reset(*made)
    db.commit()
    _deliver(message, show_link=True)
    return redirect(url_for("people.person", user_id=user_id))


@bp.route("/admin/people/<int:user_id>/invite-again", methods=["POST"])
@login_required
@requires("administer")
def invite_again(user_id: int) -> Response:
    user = _person(user_id)
    if not ConfirmForm().validate_on_submit() or not user.active:
        abort(400)
    db = dbsession()
    raw = services.reinvite(
        db, user=user, by=current_user, days=current_app.config["INVITATION_DAYS"]
    )
    message = _invitation(user, raw, None)
    db.commit()
    _deliver(message, show_link=True)
    return redirect(url_for("people.person", user_id=user_id))


# --- admins: the audit log ------------------------------------------------------------------------


def _audit_filters() -> tuple[AuditFilterForm, audit_log.AuditFilters]:
    form = AuditFilterForm(request.args)
    form.organization.choices = _org_choices(_l("(any)"))
    form.action.choices = [SelectChoice("", str(_l("(any)")))] + [
        SelectChoice(a, a) for a in audit_log.actions(dbsession())
    ]
    if not form.validate():
        # A malformed filter (a date that is not one) is dropped, never a 500.
        for field in (form.since, form.until, form.organization, form.action):
            if field.errors:
                field.data = None
    since: date | None = form.since.data if not form.since.errors else None
    until: date | None = form.until.data if not form.until.errors else None
    filters = audit_log.AuditFilters(
        who=(form.who.data or "")[:200],
        organization_id=form.organization.data or None,
        action=form.action.data or "",
        since=since,
        until=until,
    )
    return form, filters


@bp.route("/admin/audit")
@login_required
@requires("administer")
def audit_events() -> str:
    form, filters = _audit_filters()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = audit_log.page_of_events(dbsession(), filters, page)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "people/audit.html",
        form=form,
        rows=rows,
        total=total,
        page=page,
        pages=max((total + audit_log.PAGE_SIZE - 1) // audit_log.PAGE_SIZE, 1),
        args=args,
    )


@bp.route("/admin/audit.csv")
@login_required
@requires("administer")
def audit_csv() -> Response:
    _form, filters = _audit_filters()
    db = dbsession()
    body = audit_log.events_csv(db, filters)
    audit(
        db,
        actor=current_user,
        action="export",
        object_type="audit_log",
        filters={k: str(v) for k, v in vars(filters).items() if v},
    )
    db.commit()  # the transaction ends before the file is sent
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


# --- an NGO's team --------------------------------------------------------------------------------


def _load_team(ngo_id: int) -> Organization:
    """The NGO through the core: 404 to whoever does not see it, 403 to who sees it but may
    not manage its people."""
    authorize(ngo_id, "manage_team")
    ngo = dbsession().get(Organization, ngo_id)
    if ngo is None or ngo.kind != OrgKind.NGO:
        abort(404)
    return ngo


def _team_page(ngo: Organization, form: InviteForm | None = None) -> str:
    if form is None:
        form = InviteForm()
    form.role.choices = role_choices(TEAM_ROLES)
    return render_template(
        "people/team.html",
        ngo=ngo,
        team=services.team_of(dbsession(), ngo),
        form=form,
        role_form=TeamRoleForm,
        team_roles=role_choices(TEAM_ROLES),
        confirm=ConfirmForm(),
    )


@bp.route("/organizations/<int:ngo_id>/team")
@login_required
@requires("manage_team")
def team(ngo_id: int) -> str:
    return _team_page(_load_team(ngo_id))


@bp.route("/organizations/<int:ngo_id>/team/invite", methods=["POST"])
@login_required
@requires("manage_team")
def team_invite(ngo_id: int) -> Response | tuple[str, int]:
    ngo = _load_team(ngo_id)
    form = InviteForm()
    form.role.choices = role_choices(TEAM_ROLES)
    form.organization.choices = [SelectChoice(NO_ORGANIZATION, "")]
    if not form.validate_on_submit():
        return _team_page(ngo, form), 400
    db = dbsession()
    try:
        _, message = _invite(form, ngo)
    except (AccountError, IntegrityError):
        db.rollback()
        # Same answer whether the address has an account here or elsewhere: an NGO admin
        # learns nothing of other organisations' people.
        form.email.errors.append(
            gettext("This address cannot be invited. Ask an administrator to add it.")
        )
        return _team_page(ngo, form), 400
    _deliver(message, show_link=True)
    return redirect(url_for("people.team", ngo_id=ngo_id))


@bp.route("/organizations/<int:ngo_id>/team/<int:user_id>/role", methods=["POST"])
@login_required
@requires("manage_team")
def team_role(ngo_id: int, user_id: int) -> Response:
    ngo = _load_team(ngo_id)
    form = TeamRoleForm()
    form.role.choices = role_choices(TEAM_ROLES)
    if not form.validate_on_submit():
        abort(400)
    db = dbsession()
    try:
        services.set_team_role(
            db, ngo=ngo, user_id=user_id, role=Role(form.role.data), by=current_user
        )
        db.commit()
    except services.NotInTeam:
        db.rollback()
        abort(404)
    except AccountError as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        flash(gettext("Role changed."), "success")
    return redirect(url_for("people.team", ngo_id=ngo_id))


@bp.route("/organizations/<int:ngo_id>/team/<int:user_id>/remove", methods=["POST"])
@login_required
@requires("manage_team")
def team_remove(ngo_id: int, user_id: int) -> Response:
    ngo = _load_team(ngo_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = dbsession()
    try:
        services.remove_from_team(db, ngo=ngo, user_id=user_id, by=current_user)
        db.commit()
    except services.NotInTeam:
        db.rollback()
        abort(404)
    except AccountError as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        flash(gettext("Removed from %(ngo)s.", ngo=ngo.name), "success")
    return redirect(url_for("people.team", ngo_id=ngo_id))


# --- links: invitations and resets (public) -------------------------------------------------------


def _choose_password(
    raw: str, purpose: TokenPurpose, template: str
) -> Response | str | tuple[str, int]:
    db = dbsession()
    try:
        owner = services.token_owner(db, raw, purpose)
    except tokens.TokenInvalid:
        return render_template("people/link_invalid.html"), 404
    if current_user.is_authenticated and current_user.id != owner.id:
        return render_template("people/link_other.html"), 403
    form = ChoosePasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template(template, form=form, person=owner), status
    try:
        if purpose == TokenPurpose.INVITATION:
            user = services.accept_invitation(db, raw=raw, password=form.password.data or "")
        else:
            user = services.reset_password(db, raw=raw, password=form.password.data or "")
        db.commit()
    except services.PasswordRejected as exc:
        db.rollback()
        form.password.errors.extend(str(p) for p in exc.problems)
        return render_template(template, form=form, person=owner), 400
    except tokens.TokenInvalid:  # used by another request meanwhile
        db.rollback()
        return render_template("people/link_invalid.html"), 404
    session.clear()  # a new session at login: no fixation
    session[sessions.SESSION_KEY] = sessions.start_session(db, user).id
    login_user(user)
    audit(db, actor=user, action="login", object_type="user", object_id=user.id, via=str(purpose))
    db.commit()
    flash(gettext("Your password is set. Welcome!"), "success")
    return redirect(url_for("main.home"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
def accept(token: str) -> Response | str | tuple[str, int]:
    return _choose_password(token, TokenPurpose.INVITATION, "people/accept.html")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset(token: str) -> Response | str | tuple[str, int]:
    return _choose_password(token, TokenPurpose.RESET, "people/reset.html")


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot() -> Response | str | tuple[str, int]:
    form = ForgotForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("people/forgot.html", form=form), status
    db = dbsession()
    made = services.request_reset(
        db, email=form.email.data or "", by=None, hours=current_app.config["RESET_HOURS"]
    )
    message = _reset(*made) if made else None
    db.commit()
    if message is not None:
        # Without a server only the log has the link; a failure is logged. The page says the
        # same either way.
        with contextlib.suppress(mail.MailError):
            mail.send([message])
    # The same answer whether the address exists or not.
    flash(
        gettext(
            "If %(email)s belongs to an account, a link to choose a new password is on its way.",
            email=form.email.data,
        ),
        "info",
    )
    return redirect(url_for("accounts.login"))
