"""Importing a cycle's answers from a KoboToolbox or ODK Central export: upload, dry run, import.

For whoever may manage the cycle (its evaluators, admins); to anyone else the pages do not exist
(404), as the cycle's overview: an evaluator not assigned to the cycle sees none of its
assessments. The upload is kept between the dry run and the import (:mod:`.storage`), so the
import stores exactly what the dry run showed, against the answer versions it read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.utils import secure_filename
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from accounts import permissions
from accounts.permissions import requires
from rubrics.languages import page_language
from surveys.access import load_cycle
from surveys.imports import storage
from surveys.imports.reader import ImportFileError, Table, read_table
from surveys.imports.services import ImportPlan, cycle_rubric, plan_import, run_import
from surveys.models import AssessmentCycle
from surveys.questionnaire.fields import display_answer
from webapp.extensions import dbsession

bp = Blueprint("imports", __name__, template_folder="templates")

DEFAULT_MAX_BYTES = 5 * 1024 * 1024  # IMPORT_MAX_BYTES overrides it
# IMPORT_MAX_ROWS overrides it. A row per organisation: more than a cycle's NGOs can only be
# rejected, and each imported row stores its answers through savepoints (~20-50 ms a row on
# these 2 cores), which a request must finish in; the command line takes larger files.
DEFAULT_MAX_ROWS = 500
PageResult = str | tuple[str, int]


class UploadForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    file = FileField(
        _l("Export file"),
        validators=[
            FileRequired(_l("Choose the exported file.")),
            FileAllowed(
                ["csv", "xlsx", "xls", "txt"],
                _l("Upload the export as CSV (.csv) or Excel (.xlsx)."),
            ),
        ],
    )
    organization_column = StringField(
        _l("Organisation column (optional)"),
        validators=[Optional(), Length(max=200)],
        description=_l(
            "The column that holds each organisation's code, name or e-mail, as in the file's "
            "header. Leave it empty: the column that names the most organisations is used."
        ),
    )


class ConfirmForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    # Not checked against the header: an unknown column is as good as none (the dry run then
    # finds the column that names the most organisations).
    organization_column = SelectField(
        _l("Organisation column"), validators=[Optional()], validate_choice=False
    )
    store_as = RadioField(
        _l("Store the answers"),
        choices=[
            SelectChoice("draft", _l("as drafts: the NGO reviews and submits them")),
            SelectChoice("submitted", _l("as submitted, where every required answer is there")),
        ],
        default="draft",
        validators=[Optional()],
        validate_choice=False,  # anything but "submitted" stores drafts
    )


def _limits() -> tuple[int, int]:
    config = current_app.config
    return (
        int(config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)),
        int(config.get("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
    )


def _folder() -> Path:
    return storage.folder_of(current_app.config["UPLOAD_FOLDER"])


def _managed_cycle(cycle_id: int) -> AssessmentCycle:
    cycle = load_cycle(cycle_id)
    if not permissions.may(permissions.current_principal(), "manage_cycle", cycle):
        abort(404)
    return cycle


def _upload_page(
    cycle: AssessmentCycle, form: UploadForm, problem: Any = None, status: int = 200
) -> PageResult:
    max_bytes, max_rows = _limits()
    page = render_template(
        "imports/upload.html",
        cycle=cycle,
        form=form,
        problem=problem,
        max_kib=max_bytes // 1024,
        max_rows=max_rows,
    )
    return (page, status) if status != 200 else page


def _file_name(original: str) -> str:
    suffix = Path(original).suffix.lower()
    name = secure_filename(original)
    return name if name else f"export{suffix}"


@bp.route("/cycles/<int:cycle_id>/import", methods=["GET", "POST"])
@login_required
@requires("view_cycle")
def upload(cycle_id: int) -> PageResult:
    cycle = _managed_cycle(cycle_id)
    form = UploadForm()
    if request.method == "GET":
        return _upload_page(cycle, form)
    if not form.validate_on_submit():
        return _upload_page(cycle, form, status=422)
    max_bytes, max_rows = _limits()
    name = _file_name(form.file.data.filename or "")
    data = form.file.data.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        problem = _("%(name)s is larger than %(kib)s KiB.", name=name, kib=max_bytes // 1024)
        return _upload_page(cycle, form, problem, 413)
    try:
        table = read_table(data, name, max_rows=max_rows)
    except ImportFileError as exc:
        return _upload_page(cycle, form, str(exc), 422)
    plan = plan_import(
        dbsession(),
        cycle,
        table,
        file_name=name,
        organization_column=(form.organization_column.data or "").strip() or None,
    )
    token = storage.keep(_folder(), data, _meta(cycle, name, plan))
    return _plan_page(cycle, table, plan, token)


def _meta(cycle: AssessmentCycle, name: str, plan: ImportPlan) -> dict[str, Any]:
    return {
        "user_id": current_user.id,
        "cycle_id": cycle.id,
        "file_name": name,
        "organization_column": plan.organization_column,
        "seen": plan.seen,
    }


def _plan_page(
    cycle: AssessmentCycle,
    table: Table,
    plan: ImportPlan,
    token: str,
    form: ConfirmForm | None = None,
) -> str:
    rubric = cycle_rubric(dbsession(), cycle)
    language = page_language(rubric)
    questions = {q.id: q for _, _, q in rubric.questions()}
    form = form or ConfirmForm(formdata=None)
    form.organization_column.choices = [SelectChoice(h, h) for h in table.header if h]
    form.organization_column.data = plan.organization_column

    def shown(question_id: str, value: Any) -> str:
        question = questions.get(question_id)
        return display_answer(question, rubric, language, value) if question else str(value)

    return render_template(
        "imports/plan.html",
        cycle=cycle,
        plan=plan,
        table=table,
        token=token,
        form=form,
        questions=questions,
        rubric=rubric,
        language=language,
        shown=shown,
    )


@bp.route("/cycles/<int:cycle_id>/import/<token>", methods=["POST"])
@login_required
@requires("view_cycle")
def confirm(cycle_id: int, token: str) -> PageResult:
    cycle = _managed_cycle(cycle_id)
    folder = _folder()
    kept = storage.load(folder, token, user_id=current_user.id, cycle_id=cycle.id)  # type: ignore[arg-type]
    if kept is None:
        problem = _("This upload has expired (or is not yours): upload the file again.")
        return _upload_page(cycle, UploadForm(formdata=None), problem, 410)
    form = ConfirmForm()
    if not form.validate_on_submit():  # pragma: no cover - CSRFProtect answers a bad token first
        abort(400)
    name = str(kept.meta.get("file_name") or "export")
    try:
        table = read_table(kept.data, name, max_rows=_limits()[1])
    except ImportFileError as exc:  # the limits changed since the upload
        return _upload_page(cycle, UploadForm(formdata=None), str(exc), 422)
    column = form.organization_column.data or kept.meta.get("organization_column")
    session = dbsession()
    plan = plan_import(session, cycle, table, file_name=name, organization_column=column)
    checked = plan.organization_column == kept.meta.get("organization_column")
    if request.form.get("action") != "import" or not checked:
        storage.update(folder, token, {**kept.meta, **_meta(cycle, name, plan)})
        return _plan_page(cycle, table, plan, token, form)
    result = run_import(
        session,
        cycle,
        plan,
        user=current_user,
        submit_complete=form.store_as.data == "submitted",
        seen=kept.meta.get("seen") or {},
    )
    session.commit()
    storage.forget(folder, token)
    return render_template("imports/result.html", cycle=cycle, plan=plan, result=result)
