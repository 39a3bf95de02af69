"""Login and logout, the account page (sessions, password); an NGO's Sharing page."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required, login_url, login_user, logout_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from accounts import services, sessions, sharing, throttle
from accounts.api_tokens import services as api_tokens
from accounts.api_tokens.models import ApiToken
from accounts.forms import (
    CHOSEN_CYCLES,
    ApiTokenForm,
    ConfirmForm,
    GrantForm,
    LoginForm,
    PasswordForm,
)
from accounts.inputs import parse_id, safe_next
from accounts.models import Organization, OrgKind, User
from accounts.people import services as people_services
from accounts.permissions import authorize, load_principal, public, requires
from webapp.extensions import db, dbsession, login_manager

bp = Blueprint("accounts", __name__, template_folder="templates")

login_manager.login_view = "accounts.login"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The logged-in user, if the cookie's server-side session is live (else anonymous: the
    cookie of a session that ended opens nothing)."""
    ident = parse_id(user_id)
    if ident is None:
        return None
    found = sessions.check(db.engine, ident, session.get(sessions.SESSION_KEY), _idle())
    if not found.live:
        if found.idle:
            g.session_idle = True
        return None
    user = dbsession().get(User, ident)
    if user is None or not user.active:
        return None
    # Read the person's rights now, once for the request (the core keeps them on g).
    principal = load_principal(dbsession(), user.id)
    g._principal = principal
    return None if principal.locked_out else user


def _idle() -> timedelta:
    return timedelta(minutes=float(current_app.config["SESSION_IDLE_MINUTES"]))


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    """To the login page, saying why when the session ended for inactivity."""
    if g.get("session_idle"):
        flash(gettext("You were logged out after a time without activity."), "info")
    else:
        flash(gettext("Please log in to see this page."), "info")
    return redirect(login_url("accounts.login", request.url))


def _client_address() -> str:
    return (request.remote_addr or "unknown")[:45]


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        db_session = dbsession()
        email = services.normalise_email(form.email.data or "")[:254]
        limits = throttle.Limits.from_config(current_app.config)
        failures = throttle.counter(current_app.config, db_session)
        refused = failures.refusal(email=email, address=_client_address(), limits=limits)
        if refused is not None:
            services.audit(
                db_session,
                actor=None,
                action="login_throttled",
                object_type="user",
                email=email,
                scope=refused.scope,
                retry_after=refused.retry_after,
            )
            db_session.commit()
            minutes = max(1, -(-refused.retry_after // 60))
            form.password.errors.append(
                gettext(
                    "Too many failed logins. Please try again in %(minutes)s min.",
                    minutes=minutes,
                )
            )
            page = render_template("accounts/login.html", form=form)
            return Response(page, 429, {"Retry-After": str(refused.retry_after)})
        user = services.authenticate(
            db_session, email=form.email.data or "", password=form.password.data or ""
        )
        if user is None:
            failures.record_failure(email=email, address=_client_address(), limits=limits)
            services.audit(
                db_session, actor=None, action="login_failed", object_type="user", email=email
            )
            db_session.commit()
            form.password.errors.append(gettext("Wrong e-mail or password."))
            return render_template("accounts/login.html", form=form), 401
        failures.clear_account(email=email)
        kept = session.get("pending_answers")  # answers posted while the session had expired
        session.clear()  # a new session at login: no fixation
        if kept:
            session["pending_answers"] = kept
        started = sessions.start_session(db_session, user)
        session[sessions.SESSION_KEY] = started.id
        login_user(user)
        services.audit(
            db_session, actor=user, action="login", object_type="user", object_id=user.id
        )
        db_session.commit()
        if kept and isinstance(kept, dict) and safe_next(kept.get("url")):
            # Answers kept while logged out are saved first, whatever page was asked for.
            return redirect(kept["url"])
        return redirect(safe_next(form.next.data) or url_for("main.home"))
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
@requires("logged_in")
def logout() -> Response:
    db_session = dbsession()
    sessions.end_session(db_session, session.get(sessions.SESSION_KEY))
    services.audit(
        db_session,
        actor=current_user,
        action="logout",
        object_type="user",
        object_id=current_user.id,
    )
    db_session.commit()
    logout_user()
    session.clear()
    flash(gettext("You are logged out."), "info")
    return redirect(url_for("accounts.login"))


# --- the person's account: sessions and password ------------------------------------------------


def _account_page(
    password_form: PasswordForm,
    status: int = 200,
    *,
    token_form: ApiTokenForm | None = None,
    new_token: tuple[ApiToken, str] | None = None,
) -> tuple[str, int]:
    return render_template(
        "accounts/account.html",
        sessions=sessions.live_sessions(dbsession(), current_user),
        current_id=session.get(sessions.SESSION_KEY),
        everywhere_form=ConfirmForm(),
        password_form=password_form,
        token_form=token_form or ApiTokenForm(formdata=None),
        revoke_token_form=ConfirmForm(),
        tokens=api_tokens.live_tokens(dbsession(), current_user),
        new_token=new_token,
        expired=api_tokens.is_expired,
    ), status


@bp.route("/account")
@login_required
@requires("logged_in")
def account() -> tuple[str, int]:
    return _account_page(PasswordForm())


@bp.route("/account/logout-everywhere", methods=["POST"])
@login_required
@requires("logged_in")
def logout_everywhere() -> Response | tuple[str, int]:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _account_page(PasswordForm(), 400)
    db_session = dbsession()
    ended = sessions.end_sessions(db_session, current_user, reason=sessions.EVERYWHERE)
    services.audit(
        db_session,
        actor=current_user,
        action="logout_everywhere",
        object_type="user",
        object_id=current_user.id,
        sessions=ended,
    )
    db_session.commit()
    logout_user()
    session.clear()
    flash(gettext("You are logged out everywhere."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["POST"])
@login_required
@requires("logged_in")
def change_password() -> Response | tuple[str, int]:
    form = PasswordForm()
    if not form.validate_on_submit():
        return _account_page(form, 400)
    db_session = dbsession()
    try:
        people_services.change_password(
            db_session,
            user=current_user,
            current=form.current.data or "",
            new=form.new.data or "",
            keep_session=session.get(sessions.SESSION_KEY),
        )
    except people_services.PasswordRejected as exc:
        db_session.rollback()
        form.new.errors = [*form.new.errors, *(str(p) for p in exc.problems)]
        return _account_page(form, 422)
    except services.AccountError as exc:
        db_session.commit()  # the failed attempt stays in the audit log
        form.current.errors = [*form.current.errors, str(exc)]
        return _account_page(form, 422)
    db_session.commit()
    flash(gettext("Your password is changed. Your other sessions are logged out."), "success")
    return redirect(url_for("accounts.account"))


# --- the person's API tokens (issue 14) ----------------------------------------------------------


@bp.route("/account/tokens", methods=["POST"])
@login_required
@requires("logged_in")
def create_api_token() -> Response | tuple[str, int]:
    """Make a token and show its secret, once, on the page this answers (never in a redirect
    or the session cookie, which is signed but readable)."""
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return _account_page(PasswordForm(formdata=None), 400, token_form=form)
    db_session = dbsession()
    days = None if form.expires.data == "never" else int(form.expires.data or 90)
    try:
        made = api_tokens.create_token(
            db_session,
            user=current_user,
            name=form.name.data or "",
            read_only=bool(form.read_only.data),
            expires_in_days=days,
        )
    except services.AccountError as exc:
        db_session.rollback()
        form.name.errors = [*form.name.errors, str(exc)]
        return _account_page(PasswordForm(formdata=None), 422, token_form=form)
    db_session.commit()
    return _account_page(PasswordForm(formdata=None), 201, new_token=made)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
@requires("logged_in")
def revoke_api_token(token_id: int) -> Response:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    db_session = dbsession()
    try:
        token = api_tokens.revoke_token(db_session, user=current_user, token_id=token_id)
    except api_tokens.TokenGone:
        db_session.rollback()
        found = db_session.get(ApiToken, token_id)
        if found is None or found.user_id != current_user.id:
            abort(404)  # another person's token, or none: the same answer
        flash(gettext("This token was already revoked."), "info")  # a second click
        return redirect(url_for("accounts.account", _anchor="api-tokens"))
    db_session.commit()
    flash(gettext("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("accounts.account", _anchor="api-tokens"))


# --- sharing: an NGO's consent --------------------------------------------------------------------


def _load_ngo(ngo_id: int, need: str) -> Organization:
    """The NGO ``ngo_id`` through the core: 404 to whoever does not see its results, 403 to
    whoever does but may not ``need`` (a funder it shares with, a plain member changing)."""
    authorize(ngo_id, need)
    ngo = dbsession().get(Organization, ngo_id)
    if ngo is None or ngo.kind != OrgKind.NGO:
        abort(404)
    return ngo


def _grant_form(ngo: Organization) -> tuple[GrantForm, list[Organization]]:
    session = dbsession()
    funders = sharing.funders(session)
    form = GrantForm()
    form.funder.choices = [SelectChoice(str(f.id), f.name) for f in funders]
    form.cycles.choices = [
        SelectChoice(str(c.id), c.name)
        for c in sharing.cycles_of(session, ngo.id)  # type: ignore[arg-type]
    ]
    return form, funders


def _sharing_page(ngo: Organization, form: GrantForm, funders: list[Organization]) -> str:
    grants = sharing.grants_of(dbsession(), ngo.id)  # type: ignore[arg-type]
    live = {g.funder_id: g for g in grants if g.live}
    return render_template(
        "accounts/sharing.html",
        ngo=ngo,
        form=form,
        funders=funders,
        live=live,
        history=sharing.history(grants),
        revoke_form=ConfirmForm(),
    )


@bp.route("/organizations/<int:ngo_id>/sharing")
@login_required
@requires("view_sharing")
def sharing_page(ngo_id: int) -> str:
    ngo = _load_ngo(ngo_id, "view_sharing")
    form, funders = _grant_form(ngo)
    return _sharing_page(ngo, form, funders)


@bp.route("/organizations/<int:ngo_id>/sharing/grants", methods=["POST"])
@login_required
@requires("grant_access")
def grant(ngo_id: int) -> Response | tuple[str, int]:
    ngo = _load_ngo(ngo_id, "grant_access")
    form, funders = _grant_form(ngo)
    if not form.validate_on_submit():
        return _sharing_page(ngo, form, funders), 400
    session = dbsession()
    funder = session.get(Organization, form.funder.data)
    if funder is None:  # among the choices a moment ago, gone since
        abort(404)
    chosen = form.cycles.data if form.scope.data == CHOSEN_CYCLES else None
    try:
        sharing.grant(
            session,
            ngo=ngo,
            funder=funder,
            cycles=chosen,
            by=current_user,
            include_evidence=bool(form.include_evidence.data),
        )
        session.commit()
    except (IntegrityError, sharing.GrantGone):  # another change to this grant, meanwhile
        session.rollback()
        flash(
            gettext("Someone changed this sharing meanwhile. Check it below and try again."),
            "error",
        )
    except sharing.SharingError as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        if chosen is None:
            message = gettext(
                "%(funder)s now sees the results of all your cycles.", funder=funder.name
            )
        else:
            message = gettext(
                "%(funder)s now sees the results of the chosen cycles.", funder=funder.name
            )
        flash(message, "success")
    return redirect(url_for("accounts.sharing_page", ngo_id=ngo_id))


@bp.route(
    "/organizations/<int:ngo_id>/sharing/grants/<int:grant_id>/revoke", methods=["GET", "POST"]
)
@login_required
@requires("grant_access")
def revoke(ngo_id: int, grant_id: int) -> Response | str:
    """GET asks for confirmation (a page, so it works without JavaScript); POST revokes."""
    ngo = _load_ngo(ngo_id, "grant_access")
    session = dbsession()
    found = next((g for g in sharing.grants_of(session, ngo_id) if g.id == grant_id), None)
    if found is None:  # another NGO's grant, or none: the same answer
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        if not found.live:
            flash(gettext("This access was already revoked."), "info")
            return redirect(url_for("accounts.sharing_page", ngo_id=ngo_id))
        return render_template("accounts/revoke.html", ngo=ngo, grant=found, form=form)
    try:
        sharing.revoke(session, ngo=ngo, grant_id=grant_id, by=current_user)
        session.commit()
    except sharing.GrantGone:
        session.rollback()
        flash(gettext("This access was already revoked."), "info")
    else:
        flash(gettext("%(funder)s no longer sees your results.", funder=found.funder), "success")
    return redirect(url_for("accounts.sharing_page", ngo_id=ngo_id))
