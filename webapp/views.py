"""Home page: what each role works on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from sqlmodel import col, select
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.inputs import safe_next
from accounts.lists import ASC, ListPage, read_list
from accounts.models import Organization
from accounts.permissions import public, requires
from reports.queries import sharing_ngos
from rubrics.languages import page_language
from surveys import answers as store
from surveys.models import EDITABLE, Assessment, AssessmentCycle, Status
from surveys.queries import (
    AssessmentRow,
    assessment_filter_options,
    assessment_page,
    assessment_spec,
    overdue_where,
    own_assessments,
    review_queue_where,
)
from surveys.questionnaire import services as questionnaire
from webapp.extensions import dbsession

bp = Blueprint("main", __name__)


@dataclass(frozen=True)
class NextStep:
    """What an NGO does next with one assessment: a label and where it leads."""

    label: str
    url: str
    primary: bool = True


@dataclass(frozen=True)
class OwnCard:
    """An NGO's assessment on its home page: the row, its sections and its one next step."""

    row: AssessmentRow
    sections: list[tuple[str, int]]  # (label, questions still missing)
    next_step: NextStep
    scored: bool

    @property
    def complete_sections(self) -> int:
        return sum(missing == 0 for _, missing in self.sections)


# A returned assessment was submitted, so scored, before: its plan has numbers to work from.
SCORED = frozenset({Status.SUBMITTED, Status.IN_REVIEW, Status.VERIFIED, Status.RETURNED})


def _own_card(row: AssessmentRow) -> OwnCard:
    assessment = dbsession().get(Assessment, row.id)
    if assessment is None:  # pragma: no cover - the row was just read
        raise LookupError(row.id)
    rubric = store.rubric_for(dbsession(), assessment)[1]
    language = page_language(rubric)
    missing = questionnaire.missing_per_section(
        rubric, store.values_of(store.answers_of(dbsession(), row.id))
    )
    sections = [
        (rubric.text(domain.label, language), count)
        for domain, count in zip(rubric.domains, missing, strict=True)
    ]
    if row.status == Status.NOT_STARTED:
        step = NextStep(_("Start"), url_for("questionnaire.resume", assessment_id=row.id))
    elif row.status in EDITABLE and any(missing):
        page = next(i for i, count in enumerate(missing) if count)
        step = NextStep(
            _("Continue at section %(n)s: %(section)s", n=page + 1, section=sections[page][0]),
            url_for("questionnaire.page", assessment_id=row.id, page=page),
        )
    elif row.status in EDITABLE:
        step = NextStep(
            _("Review the answers and submit"),
            url_for("questionnaire.answers", assessment_id=row.id),
        )
    else:
        step = NextStep(_("See the scorecard"), url_for("reports.scorecard", assessment_id=row.id))
    return OwnCard(row, sections, step, scored=row.status in SCORED)


@bp.route("/")
@login_required
@requires("logged_in")
def home() -> str:
    viewer = permissions.current_principal()
    own = [_own_card(row) for row in own_assessments(dbsession(), viewer)]
    everything = permissions.can("administer")
    queue: ListPage[AssessmentRow] | None = None
    overdue: ListPage[AssessmentRow] | None = None
    reviewing: ListPage[AssessmentRow] | None = None
    options = None
    if permissions.can("view_network"):
        # Three lists on one page, each with its own search, sort, filters and page in the
        # URL (the queue's and the overdue list's arguments are prefixed).
        db = dbsession()
        options = assessment_filter_options(db, viewer)
        if everything or viewer.cycles:
            queue_state = read_list(
                request.args,
                assessment_spec(
                    options,
                    prefix="queue_",
                    default_sort="submitted",
                    default_dir=ASC,
                    anchor="review-queue",
                ),
            )
            queue = assessment_page(
                db, viewer, queue_state, review_queue_where(viewer, everything=everything)
            )
            overdue_state = read_list(
                request.args,
                assessment_spec(
                    options,
                    prefix="overdue_",
                    default_sort="due",
                    default_dir=ASC,
                    anchor="overdue",
                ),
            )
            overdue = assessment_page(
                db,
                viewer,
                overdue_state,
                overdue_where(viewer, today=date.today(), everything=everything),
            )
        reviewing = assessment_page(
            db, viewer, read_list(request.args, assessment_spec(options, anchor="network"))
        )
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
        staff=permissions.can("view_network"),
        unassigned=permissions.can("be_cycle_evaluator") and not everything and not viewer.cycles,
        queue=queue,
        overdue=overdue,
        reviewing=reviewing,
        options=options,
        status_options=[(s.value, _(s.value.replace("_", " "))) for s in Status],
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
