"""Home page: what each role works on."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_login import login_required
from sqlmodel import col, select
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.inputs import safe_next
from accounts.models import Organization
from accounts.permissions import public, requires
from reports.queries import sharing_ngos
from surveys.models import Assessment, AssessmentCycle
from surveys.queries import own_assessments, recent_assessments
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
    # The funder's home: the NGOs that share with the viewer's fund, one row each.
    shared = sharing_ngos(dbsession(), viewer=viewer, language=str(get_locale() or "en"))
    ngos: list[Organization] = []
    if viewer.ngos:  # their Sharing pages (the template asks the core what they may do there)
        ngos = list(
            dbsession()
            .exec(
                select(Organization)
                .where(col(Organization.id).in_(sorted(viewer.ngos)))
                .order_by(col(Organization.name))
            )
            .all()
        )
    return render_template(
        "home.html",
        own=own,
        reviewing=reviewing,
        shared=shared,
        is_funder=bool(viewer.funders),
        dashboard_url=_dashboard_url(),
        ngos=ngos,
    )


def _dashboard_url() -> str | None:
    """The comparative dashboard's address, when the app has one (it is built separately)."""
    if "reports.dashboard" not in current_app.view_functions:
        return None
    try:
        return url_for("reports.dashboard")
    except BuildError:  # it needs arguments the home page cannot choose
        return None


def ngo_cycles(ngo_id: int) -> sa.Select[Any, Any]:
    """The cycles an NGO takes part in, oldest first: what it may grant a funder access to
    (registered with :func:`accounts.sharing.register_cycles`, which may not import surveys)."""
    return (
        sa.select(col(AssessmentCycle.id), col(AssessmentCycle.name))
        .join(Assessment, col(Assessment.cycle_id) == col(AssessmentCycle.id))
        .where(col(Assessment.organization_id) == ngo_id)
        .distinct()
        .order_by(col(AssessmentCycle.id))
    )


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
