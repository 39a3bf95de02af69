"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from accounts import services
from accounts.forms import LoginForm
from accounts.models import User
from accounts.permissions import public, requires
from webapp.extensions import dbsession, login_manager

bp = Blueprint("accounts", __name__, template_folder="templates")

login_manager.login_view = "accounts.login"
login_manager.login_message = "Please log in to see this page."
login_manager.localize_callback = gettext


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = dbsession().get(User, int(user_id))
    return user if user is not None and user.active else None


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(
            dbsession(), email=form.email.data or "", password=form.password.data or ""
        )
        if user is None:
            services.audit(
                dbsession(),
                actor=None,
                action="login_failed",
                object_type="user",
                email=services.normalise_email(form.email.data or "")[:254],
            )
            dbsession().commit()
            form.password.errors.append(gettext("Wrong e-mail or password."))
            return render_template("accounts/login.html", form=form), 401
        kept = session.get("pending_answers")  # answers posted while the session had expired
        session.clear()  # a new session at login: no fixation
        if kept:
            session["pending_answers"] = kept
        login_user(user)
        services.audit(
            dbsession(), actor=user, action="login", object_type="user", object_id=user.id
        )
        dbsession().commit()
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
    logout_user()
    session.clear()
    flash(gettext("You are logged out."), "info")
    return redirect(url_for("accounts.login"))
