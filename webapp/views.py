"""Home page: what each role works on."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.permissions import public, requires
from accounts.views import safe_next
from surveys.queries import own_assessments, recent_assessments, shared_with_funder
from webapp.extensions import dbsession

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
@requires("logged_in")
def home() -> str:
    viewer = permissions.current_principal()
    own = own_assessments(dbsession(), viewer)
    reviewing = []
    if permissions.can("view_network"):
        reviewing = recent_assessments(dbsession(), viewer)
    shared = shared_with_funder(dbsession(), viewer)
    return render_template("home.html", own=own, reviewing=reviewing, shared=shared)


@bp.route("/language", methods=["POST"])
@public
def set_language() -> Response:
    lang = request.form.get("lang", "")
    if lang in ("en", "el"):
        session["lang"] = lang
    target = request.form.get("next", "")
    return redirect(safe_next(target) or url_for("main.home"))


@bp.route("/healthz")
@public
def healthz() -> tuple[str, int]:
    return "ok", 200
