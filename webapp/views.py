"""Home page: what each role works on."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from accounts.models import Role
from accounts.services import has_role, ngo_ids
from accounts.views import safe_next
from surveys.queries import assessments_for_orgs, recent_assessments, shared_with_funder
from webapp.extensions import dbsession

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home() -> str:
    user_id = current_user.id
    own = assessments_for_orgs(dbsession(), ngo_ids(dbsession(), user_id))
    reviewing = []
    if has_role(dbsession(), user_id, Role.EVALUATOR, Role.ADMIN):
        reviewing = recent_assessments(dbsession())
    shared = shared_with_funder(dbsession(), user_id)
    return render_template("home.html", own=own, reviewing=reviewing, shared=shared)


@bp.route("/language", methods=["POST"])
def set_language() -> Response:
    lang = request.form.get("lang", "")
    if lang in ("en", "el"):
        session["lang"] = lang
    target = request.form.get("next", "")
    return redirect(safe_next(target) or url_for("main.home"))


@bp.route("/healthz")
def healthz() -> tuple[str, int]:
    return "ok", 200
