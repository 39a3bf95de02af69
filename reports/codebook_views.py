"""The shared indicator codebook's pages: browse and search it, download it (CSV, XLSX), and
edit it (evaluators and admins).

Who: the codebook is a shared vocabulary, not anyone's data, so everyone logged in may read
and download it (an NGO maps its own M&E to it); editing it is rubric authoring
(``author_rubric``: evaluators and admins). These pages live in ``reports`` because they join
the codebook (``rubrics``) with the export writers of ``reports``, and imports point down.

Editing: the whole codebook as YAML text, validated like a rubric file (every problem at
``codebook.yaml:LINE``), refused when a published rubric version would no longer validate, and
saved as a compare-and-set on the revision the editor started from (see
:mod:`rubrics.codebook_services` for where it is stored and why).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, TextAreaField
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import HiddenInput

from accounts.permissions import requires
from reports.codebook_files import codebook_csv, codebook_xlsx
from rubrics import codebook_services, services
from rubrics.codebook import Codebook, SharedIndicator
from rubrics.loader import RubricFileError
from webapp.extensions import dbsession

bp = Blueprint("codebook", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The breakdowns the shipped codebook names; another code is shown as it is written.
BREAKDOWNS = {
    "sex": _l("sex"),
    "age_group": _l("age group"),
    "nationality": _l("nationality"),
    "form_of_exploitation": _l("form of exploitation"),
}


class CodebookForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    text = TextAreaField(
        _l("Codebook (YAML)"),
        validators=[InputRequired(_l("The codebook cannot be empty."))],
        render_kw={"rows": 32, "spellcheck": "false", "autocapitalize": "off", "class": "code"},
    )
    revision = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), NumberRange(0, 2**31 - 1)]
    )


def measured_by(session: Any) -> dict[str, list[str]]:
    """Indicator code -> the questions measuring it in each rubric's latest published
    version (``rubric:question``)."""
    found: dict[str, list[str]] = {}
    for listing in services.list_rubrics(session):
        version = listing.latest_published
        if version is None:
            continue
        rubric = services.rubric_of(version)
        for _d, _i, question in rubric.questions():
            if question.indicator:
                found.setdefault(question.indicator, []).append(f"{rubric.id}:{question.id}")
    return found


def _language(codebook: Codebook) -> str:
    wanted = request.args.get("lang") or str(get_locale() or "")
    return wanted if wanted in codebook.languages else codebook.languages[0]


def _matches(indicator: SharedIndicator, query: str) -> bool:
    words = [
        indicator.code,
        indicator.theme or "",
        *indicator.name.values(),
        *indicator.definition.values(),
        *(source.framework for source in indicator.sources),
    ]
    return query.casefold() in " ".join(words).casefold()


@bp.route("/")
@login_required
@requires("logged_in")
def index() -> str:
    session = dbsession()
    current = codebook_services.current_codebook(session)
    codebook = current.codebook
    query = request.args.get("q", "").strip()[:200]
    shown = [i for i in codebook.indicators if not query or _matches(i, query)]
    return render_template(
        "reports/codebook.html",
        codebook=codebook,
        indicators=shown,
        query=query,
        language=_language(codebook),
        text=lambda value: codebook.text(value, _language(codebook)),
        measured=measured_by(session),
        current=current,
        breakdowns=BREAKDOWNS,
    )


def _download(body: bytes, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/codebook.csv", defaults={"kind": "csv"})
@bp.route("/codebook.xlsx", defaults={"kind": "xlsx"})
@login_required
@requires("logged_in")
def download(kind: str) -> Response:
    session = dbsession()
    current = codebook_services.current_codebook(session)
    found = measured_by(session)
    name = f"codebook-r{current.number}.{kind}"
    if kind == "xlsx":
        return _download(codebook_xlsx(current.codebook, found), XLSX, name)
    return _download(codebook_csv(current.codebook, found), "text/csv; charset=utf-8", name)


@bp.route("/edit", methods=["GET", "POST"])
@requires("author_rubric")
def edit() -> Any:
    session = dbsession()
    current = codebook_services.current_codebook(session)
    problems: list[str] = []
    theirs: str | None = None
    status = 200
    if request.method == "GET":
        form = CodebookForm(formdata=None, data={"text": current.text, "revision": current.number})
    else:
        form = CodebookForm()
        status = 422
        if form.validate():
            text = form.text.data.replace("\r\n", "\n")
            try:
                codebook_services.save_codebook(
                    session, text, seen=form.revision.data, by=current_user
                )
            except RubricFileError as exc:
                problems = [str(problem) for problem in exc.problems]
            except codebook_services.CodebookInUse as exc:
                problems = [
                    gettext("A published rubric version would no longer validate: %(problem)s",
                            problem=problem)
                    for problem in exc.problems
                ]  # fmt: skip
            except codebook_services.CodebookConflict:
                session.rollback()
                current = codebook_services.current_codebook(session)
                theirs = current.text
                form = CodebookForm(formdata=None, data={"text": text, "revision": current.number})
                status = 409
            else:
                session.commit()
                flash(gettext("The codebook is saved."), "success")
                return redirect(url_for("codebook.index"))
    return render_template(
        "reports/codebook_edit.html",
        form=form,
        problems=problems,
        theirs=theirs,
        current=current,
        history=codebook_services.history(session),
    ), status
