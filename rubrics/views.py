"""The evaluators' rubric editor: versions, upload, download, edit drafts, diff, publish.

Only evaluators and admins reach these pages (each route's ``@requires``); anyone else logged
in gets 403 (before any rubric is looked up, so it says nothing of which exist), and whoever is
not logged in the login page. Views are thin: they parse the request, call
:mod:`rubrics.services`, and render or redirect (post/redirect/get). Every page works without
JavaScript and every form carries a CSRF token.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from accounts.inputs import parse_id
from accounts.lists import read_list
from accounts.permissions import requires
from accounts.services import audit
from rubrics import services
from rubrics.access import load_rubric_record, load_rubric_version
from rubrics.codebook import check_links
from rubrics.codebook_services import active_codebook
from rubrics.diff import RubricDiff, diff_rubrics
from rubrics.forms import (
    Applied,
    Block,
    ConfirmForm,
    PostButtonForm,
    PublishForm,
    SectionEditor,
    UploadForm,
    YamlEditForm,
    changed_questions,
    describe_path,
    domain_entries,
)
from rubrics.languages import page_language
from rubrics.loader import RubricFileError, load_rubric_text, locate_problems, rubric_yaml
from rubrics.models import RubricRecord, RubricVersion, VersionStatus
from rubrics.removal import KINDS, Removal, plan_removal
from rubrics.schema import Problem, Rubric, RubricError, localize, parse_rubric
from rubrics.xlsform import XLSFormError, export_xlsform, import_xlsform
from webapp.extensions import dbsession

log = logging.getLogger(__name__)

bp = Blueprint("rubrics", __name__, template_folder="templates")

DEFAULT_UPLOAD_LIMIT = 5 * 1024 * 1024  # RUBRIC_UPLOAD_MAX_BYTES overrides it
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PageResult = str | Response | tuple[str, int]


@bp.app_template_filter("rubric_value")
def _rubric_value(value: Any) -> str:
    """A JSON value of a diff as short text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(gettext("yes") if value else gettext("no"))
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


# --- helpers -----------------------------------------------------------------------------------


def _refuse(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("errors.html", status=status, title=title, message=message), status


def _texts(language: str, default: str) -> dict[str, Any]:
    """Template helpers that show multilingual text in the page's language."""

    def text(value: Any) -> str:
        return localize(value if isinstance(value, dict) else None, language, default)

    return {"language": language, "text": text}


def _version_url(version: RubricVersion, code: str, **kwargs: Any) -> str:
    return url_for("rubrics.version", code=code, number=version.number, **kwargs)


def _not_a_draft(code: str, version: RubricVersion) -> tuple[str, int]:
    return _refuse(
        409,
        gettext("This version cannot be changed"),
        gettext(
            "Version %(number)s of %(code)s is %(status)s: published versions never change. "
            "Start a new draft from it to make changes.",
            number=version.number,
            code=code,
            status=gettext(version.status.replace("_", " ")),
        ),
    )


def _upload_limit() -> int:
    return int(current_app.config.get("RUBRIC_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_LIMIT))


# --- listing, upload ---------------------------------------------------------------------------


@bp.route("/")
@requires("view_rubric")
def index() -> str:
    state = read_list(request.args, services.version_spec())
    return render_template(
        "rubrics/index.html",
        found=services.version_page(dbsession(), state),
        status_options=[(s.value, gettext(s.value)) for s in VersionStatus],
        upload_form=UploadForm(),
        limit=_upload_limit(),
    )


def _read_upload(name: str, data: bytes) -> tuple[Rubric | None, str, list[str], list[str]]:
    """(rubric, source format, problems, import report) of an uploaded file, its shared
    indicators checked against the codebook in use."""
    codebook = active_codebook(dbsession())
    suffix = Path(name).suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            return (
                None,
                "yaml",
                [gettext("%(name)s:%(line)s: (rubric): not UTF-8 text", name=name, line=line)],
                [],
            )
        try:
            return load_rubric_text(text, source=name, codebook=codebook), "yaml", [], []
        except RubricFileError as exc:
            return None, "yaml", [str(problem) for problem in exc.problems], []
        except RubricError as exc:  # pragma: no cover - load_rubric_text locates every problem
            return None, "yaml", [f"{name}: {p.dotted}: {p.message}" for p in exc.problems], []
    try:
        result = import_xlsform(data, filename=name)
    except XLSFormError as exc:
        return None, "xlsform", [str(exc)], [f"{name}: {line}" for line in exc.report]
    except RubricError as exc:
        return None, "xlsform", [f"{name}: {p.dotted}: {p.message}" for p in exc.problems], []
    except Exception:  # a damaged workbook must give a message, never a 500
        log.exception("XLSForm import of %s failed", name)
        return None, "xlsform", [gettext("%(name)s: the workbook could not be read", name=name)], []
    report = [f"{name}: {line}" for line in result.report]
    linked = check_links(result.rubric, codebook)
    if linked:
        return None, "xlsform", [f"{name}: {p.dotted}: {p.message}" for p in linked], report
    return result.rubric, "xlsform", [], report


def _upload_name(original: str) -> str:
    """A safe name for messages that keeps the file's type (``secure_filename`` drops non-ASCII)."""
    suffix = Path(original).suffix.lower()
    name = secure_filename(original)
    if not name or Path(name).suffix.lower() != suffix:
        name = f"{Path(name).stem or 'rubric'}{suffix}"
    return name


@bp.route("/upload", methods=["GET", "POST"])
@requires("author_rubric")
def upload() -> PageResult:
    form = UploadForm()
    limit = _upload_limit()
    if request.method == "GET":
        return render_template("rubrics/upload.html", form=form, problems=[], limit=limit)
    if not form.validate_on_submit():
        return render_template("rubrics/upload.html", form=form, problems=[], limit=limit), 422
    storage = form.file.data
    name = _upload_name(storage.filename or "")
    data = storage.stream.read(limit + 1)
    if len(data) > limit:
        problem = gettext(
            "%(name)s: the file is larger than %(size)s KiB", name=name, size=limit // 1024
        )
        return render_template(
            "rubrics/upload.html", form=form, problems=[problem], limit=limit
        ), 413
    rubric, source_format, problems, report = _read_upload(name, data)
    if rubric is None:
        return render_template(
            "rubrics/upload.html", form=form, problems=problems, report=report, limit=limit
        ), 422
    record = services.record_by_code(dbsession(), rubric.id)
    latest = services.versions_of(dbsession(), record)[0] if record else None
    try:
        version = services.store_rubric(
            dbsession(), rubric, by=current_user, source_format=source_format, based_on=latest
        )
        dbsession().commit()
    except IntegrityError:
        dbsession().rollback()
        return _refuse(
            409,
            gettext("Please try again"),
            gettext("Someone stored a version at the same moment."),
        )
    flash(
        gettext(
            "%(name)s is stored as draft version %(number)s of %(code)s.",
            name=name,
            number=version.number,
            code=rubric.id,
        ),
        "success",
    )
    for line in report[:50]:
        flash(line, "info")
    return redirect(_version_url(version, rubric.id))


# --- one version -------------------------------------------------------------------------------


@bp.route("/<code>")
@requires("view_rubric")
def latest(code: str) -> Response:
    record = load_rubric_record(code)
    versions = services.versions_of(dbsession(), record)
    if not versions:
        abort(404)
    return redirect(_version_url(versions[0], code))


@bp.route("/<code>/<int:number>", endpoint="version")
@requires("view_rubric")
def version_page(code: str, number: int) -> PageResult:
    record, version = load_rubric_version(code, number)
    rubric = services.rubric_of(version)
    language = page_language(rubric)
    return render_template(
        "rubrics/version.html",
        record=record,
        version=version,
        rubric=rubric,
        versions=services.versions_of(dbsession(), record),
        previous=services.previous_version(dbsession(), version),
        is_draft=version.status == VersionStatus.DRAFT,
        **_texts(language, rubric.default_language),
    )


@bp.route("/<code>/<int:number>/download/<fmt>")
@requires("view_rubric")
def download(code: str, number: int, fmt: str) -> PageResult:
    _, version = load_rubric_version(code, number)
    if fmt == "yaml":
        body = services.yaml_text(version.content).encode()
        mimetype = "application/yaml"
    elif fmt == "xlsx":
        try:
            body = export_xlsform(services.rubric_of(version))
        except Exception:  # a clear page, never a traceback
            log.exception("XLSForm export of %s v%s failed", code, number)
            return _refuse(
                409,
                gettext("Cannot export"),
                gettext("This version could not be written as an XLSForm."),
            )
        mimetype = XLSX_MIMETYPE
    else:
        abort(404)
    filename = secure_filename(f"{code}-v{number}.{fmt}") or f"rubric-v{number}.{fmt}"
    dbsession().commit()  # end the read: the audit's write then waits its turn (SQLite)
    audit(
        dbsession(),
        actor=current_user,
        action="exported",
        object_type="rubric_version",
        object_id=version.id,
        format=fmt,
    )
    dbsession().commit()
    return send_file(
        io.BytesIO(body), mimetype=mimetype, as_attachment=True, download_name=filename
    )


@bp.route("/<code>/<int:number>/new-draft", methods=["POST"])
@requires("author_rubric")
def start_draft(code: str, number: int) -> PageResult:
    _, version = load_rubric_version(code, number, need="author_rubric")
    if not PostButtonForm().validate_on_submit():
        abort(400)
    try:
        draft = services.new_draft(dbsession(), version, current_user)
        dbsession().commit()
    except IntegrityError:
        dbsession().rollback()
        return _refuse(
            409,
            gettext("Please try again"),
            gettext("Someone stored a version at the same moment."),
        )
    flash(
        gettext(
            "Draft version %(draft)s started from version %(number)s.",
            draft=draft.number,
            number=number,
        ),
        "success",
    )
    return redirect(_version_url(draft, code))


@bp.route("/<code>/<int:number>/delete", methods=["GET", "POST"])
@requires("author_rubric")
def delete(code: str, number: int) -> PageResult:
    """Discard a draft: GET asks, a POST of the confirmation does it (any other POST asks)."""
    record, version = load_rubric_version(code, number, need="author_rubric")
    if version.status != VersionStatus.DRAFT:
        return _not_a_draft(code, version)
    if request.method == "POST":
        form = ConfirmForm()
        if not form.validate():
            if "csrf_token" in form.errors:
                abort(400)
            return redirect(url_for("rubrics.delete", code=code, number=number))
        services.delete_draft(dbsession(), version)
        dbsession().commit()
        flash(
            gettext(
                "Draft version %(number)s of %(code)s was discarded.", number=number, code=code
            ),
            "success",
        )
        return redirect(url_for("rubrics.index"))
    rubric = services.rubric_of(version)
    return render_template(
        "rubrics/confirm_discard.html",
        record=record,
        version=version,
        rubric=rubric,
        form=ConfirmForm(formdata=None, data={"confirmed": "yes"}),
        **_texts(page_language(rubric), rubric.default_language),
    )


# --- editing -----------------------------------------------------------------------------------


def _conflict(
    record: RubricRecord,
    version: RubricVersion,
    yours_text: str,
    yours: Rubric | None,
    domain: str | None = None,
) -> tuple[str, int]:
    """Both versions, what saving yours would change, and a way to save yours anyway.

    ``domain``: the domain edited, where "keep theirs" leads back to (None: the settings)."""
    theirs = services.rubric_of(version)
    diff = diff_rubrics(theirs, yours) if yours is not None else None
    form = YamlEditForm(
        formdata=None, data={"text": yours_text, "lock_version": version.lock_version}
    )
    language = page_language(theirs)
    return render_template(
        "rubrics/conflict.html",
        record=record,
        version=version,
        theirs_text=services.yaml_text(version.content),
        yours_text=yours_text,
        diff=diff,
        form=form,
        again=_edit_url(record.code, version.number, domain),
        **_texts(language, theirs.default_language),
    ), 409


def _blocks_index(blocks: list[Block], into: dict[str, str] | None = None) -> dict[str, str]:
    """Field name -> the title of the block showing it (for the error summary)."""
    into = {} if into is None else into
    for block in blocks:
        for name in block.fields:
            into[name] = block.title
        _blocks_index(block.children, into)
    return into


def _domain_index(content: dict[str, Any], code: str) -> int | None:
    for index, domain in enumerate(content.get("domains") or []):
        if str(domain.get("id")) == code:
            return index
    return None


def _edit_url(code: str, number: int, domain: str | None = None) -> str:
    if domain is None:
        return url_for("rubrics.edit", code=code, number=number)
    return url_for("rubrics.edit", code=code, number=number, domain=domain)


@bp.route("/<code>/<int:number>/edit", methods=["GET", "POST"])
@requires("author_rubric")
def edit(code: str, number: int) -> PageResult:
    """The rubric's settings, or with ``?domain=CODE`` that one domain."""
    record, version = load_rubric_version(code, number, need="author_rubric")
    if version.status != VersionStatus.DRAFT:
        return _not_a_draft(code, version)
    wanted = request.args.get("domain")
    if wanted is None:
        return _edit_section(record, version, "settings")
    index = _domain_index(version.content, wanted)
    if index is None:
        return _domain_gone(version)
    return _edit_section(record, version, index)


@bp.route("/<code>/<int:number>/edit/domain/<int:index>", methods=["GET", "POST"])
@requires("author_rubric")
def edit_domain(code: str, number: int, index: int) -> PageResult:
    """The editor's earlier address of a domain (by position): now ``?domain=CODE``."""
    record, version = load_rubric_version(code, number, need="author_rubric")
    if version.status != VersionStatus.DRAFT:
        return _not_a_draft(code, version)
    domains = version.content.get("domains") or []
    if not 0 <= index < len(domains):
        return _domain_gone(version)
    if request.method == "GET":
        return redirect(_edit_url(code, number, str(domains[index].get("id"))))
    return _edit_section(record, version, index)


def _domain_gone(version: RubricVersion) -> tuple[str, int]:
    """404; 409 for a save based on a copy of the draft in which the domain still was."""
    stale = request.form.get("lock_version") not in (None, str(version.lock_version))
    if request.method == "POST" and stale and PostButtonForm().validate():
        return _refuse(
            409,
            gettext("This domain was removed"),
            gettext(
                "The draft was changed after you opened this page and this domain is no "
                "longer in it: nothing was saved."
            ),
        )
    abort(404)


def _edit_section(record: RubricRecord, version: RubricVersion, section: str | int) -> PageResult:
    code, number = record.code, version.number
    rubric_now = services.rubric_of(version)
    language = page_language(rubric_now)
    editor = SectionEditor(version.content, section, language)
    form_class = editor.form_class()
    summary: list[tuple[str | None, str, str]] = []
    status = 200
    if request.method == "GET":
        form = form_class(formdata=None, data=editor.initial(version.lock_version))
    else:
        form = form_class()
        form.validate()
        submitted = form.lock_version.data
        if submitted is None:
            abort(400)
        if submitted != version.lock_version:
            return _structured_conflict(record, version, editor, form)
        before = copy.deepcopy(version.content)
        applied = editor.apply(form)
        problems: list[Problem] = []
        rubric: Rubric | None = None
        try:
            rubric = parse_rubric(applied.document)
        except RubricError as exc:
            problems = exc.problems
        if rubric is not None:
            problems = check_links(rubric, active_codebook(dbsession()))
            rubric = rubric if not problems else None
        if not form.errors and rubric is not None:
            domains_before = len(version.content.get("domains") or [])
            try:
                services.update_draft(
                    dbsession(), version, rubric, expected_lock=submitted, by=current_user
                )
            except services.StaleVersionError:
                dbsession().rollback()
                return _structured_conflict(record, version, editor, form)
            dbsession().commit()
            flash(gettext("Saved."), "success")
            if section == "settings" and len(rubric.domains) > domains_before:
                return redirect(_edit_url(code, number, rubric.domains[-1].id))
            if section == "settings":
                return redirect(_edit_url(code, number))
            domain = rubric.domains[int(section)].id
            opened = changed_questions(before, applied.document, int(section))
            if not opened:
                return redirect(_edit_url(code, number, domain))
            target = url_for(
                "rubrics.edit", code=code, number=number, domain=domain, open=",".join(opened)
            )
            return redirect(f"{target}#{opened[0]}")
        summary = _attach_problems(editor, form, applied, problems)
        status = 422
    domains = domain_entries(version.content, language)
    editing = None if section == "settings" else domains[int(section)]
    return render_template(
        "rubrics/edit.html",
        record=record,
        version=version,
        rubric=rubric_now,
        form=form,
        blocks=editor.blocks,
        rows=editor.rows,
        domains=domains,
        editing=editing,
        section=str(section),
        summary=summary,
        opened=set((request.args.get("open") or "").split(",")) - {""},
        **_texts(language, rubric_now.default_language),
    ), status


def _attach_problems(
    editor: SectionEditor, form: Any, applied: Applied, problems: list[Problem]
) -> list[tuple[str | None, str, str]]:
    """Show each problem on the field that edits its path; (field, where, message) for all."""
    where_of = _blocks_index(editor.blocks)
    summary: list[tuple[str | None, str, str]] = []
    for name, messages in form.errors.items():
        if name == "csrf_token":
            continue
        label = form[name].label.text if name in form else name
        for message in messages:
            summary.append((name, f"{where_of.get(name, '')}: {label}", str(message)))
    for problem in problems:
        name = editor.locate(problem.path, applied)
        if name is not None:
            form[name].errors = [*form[name].errors, problem.message]
            label = form[name].label.text
            summary.append((name, f"{where_of.get(name, '')}: {label}", problem.message))
        else:
            summary.append((None, describe_path(applied.document, problem.path), problem.message))
    return summary


def _structured_conflict(
    record: RubricRecord, version: RubricVersion, editor: SectionEditor, form: Any
) -> tuple[str, int]:
    dbsession().refresh(version)
    try:
        current: SectionEditor | None = SectionEditor(version.content, editor.section)
    except IndexError:  # the domain edited was removed meanwhile
        current = None
    applied = (
        current.apply(form, present=request.form.keys())
        if current is not None and _fits(current)
        else None
    )
    yours: Rubric | None = None
    if applied is not None:
        try:
            yours = parse_rubric(applied.document)
        except RubricError:
            yours = None
    if yours is not None:
        text = services.yaml_text(services.content_of(yours))
    elif applied is not None:
        text = rubric_yaml(applied.document)  # refused: shown as the person wrote it
    else:
        text = services.yaml_text(version.content)
    domain = None
    if editor.section != "settings":
        domain = str(editor.content["domains"][int(editor.section)].get("id"))
        if _domain_index(version.content, domain) is None:
            domain = None  # removed meanwhile
    return _conflict(record, version, text, yours, domain)


def _fits(editor: SectionEditor) -> bool:
    """Whether every field of ``editor`` was in the submitted form (same structure)."""
    submitted = set(request.form.keys())
    return all(name in submitted for name in editor.slots)


@bp.route("/<code>/<int:number>/edit/remove/<kind>/<path:key>", methods=["GET", "POST"])
@requires("author_rubric")
def remove(code: str, number: int, kind: str, key: str) -> PageResult:
    """Remove one item of a draft: GET says what goes with it, a POST of that page does it."""
    record, version = load_rubric_version(code, number, need="author_rubric")
    if version.status != VersionStatus.DRAFT:
        return _not_a_draft(code, version)
    if kind not in KINDS:
        abort(404)
    status = 200
    stale = False
    if request.method == "POST":
        form = ConfirmForm()
        if not form.validate() or form.lock_version.data is None:
            if "csrf_token" in form.errors:
                abort(400)
            return redirect(request.path)  # not confirmed: ask
        stale = form.lock_version.data != version.lock_version
    removal = plan_removal(version.content, kind, key)
    if removal is None:
        if stale:
            return _refuse(
                409,
                gettext("Already removed"),
                gettext("The draft was changed meanwhile and this item is no longer in it."),
            )
        abort(404)
    problems = _removal_problems(removal)
    if request.method == "POST" and not stale and not problems:
        try:
            services.update_draft(
                dbsession(),
                version,
                parse_rubric(removal.document),
                expected_lock=version.lock_version,
                by=current_user,
            )
        except services.StaleVersionError:
            dbsession().rollback()
            dbsession().refresh(version)
            stale = True
        else:
            dbsession().commit()
            flash(_removed_message(removal), "success")
            back = removal.domain if removal.domain is not None else None
            return redirect(_edit_url(code, number, back))
    if request.method == "POST":
        status = 409 if stale else 422
    rubric = services.rubric_of(version)
    language = page_language(rubric)
    return render_template(
        "rubrics/confirm_remove.html",
        record=record,
        version=version,
        removal=removal,
        problems=problems,
        stale=stale,
        back=_edit_url(code, number, removal.domain),
        words=_removal_words(removal),
        form=ConfirmForm(
            formdata=None, data={"confirmed": "yes", "lock_version": version.lock_version}
        ),
        **_texts(language, rubric.default_language),
    ), status


def _removal_problems(removal: Removal) -> list[str]:
    """Why the rubric would not be valid without the item (nothing: it can go)."""
    if removal.only_domain:
        return [
            gettext(
                "This is the only domain: a rubric needs at least one. Add another domain "
                "(in the settings) before removing this one."
            )
        ]
    try:
        parse_rubric(removal.document)
    except RubricError as exc:
        return [
            f"{describe_path(removal.document, problem.path)}: {problem.message}"
            for problem in exc.problems
        ]
    return []


def _removal_words(removal: Removal) -> dict[str, str]:
    """The confirmation page's title, first sentence and button (whole sentences translate)."""
    shown = removal.key.split("/")[-1]
    words = {
        "domain": (
            gettext("Remove domain %(id)s?", id=shown),
            gettext("You are about to remove domain %(id)s", id=shown),
            gettext("Yes, remove domain %(id)s", id=shown),
        ),
        "indicator": (
            gettext("Remove indicator %(id)s?", id=shown),
            gettext("You are about to remove indicator %(id)s", id=shown),
            gettext("Yes, remove indicator %(id)s", id=shown),
        ),
        "question": (
            gettext("Remove question %(id)s?", id=shown),
            gettext("You are about to remove question %(id)s", id=shown),
            gettext("Yes, remove question %(id)s", id=shown),
        ),
        "option": (
            gettext("Remove option %(id)s?", id=shown),
            gettext("You are about to remove option %(id)s", id=shown),
            gettext("Yes, remove option %(id)s", id=shown),
        ),
        "band": (
            gettext("Remove band %(id)s?", id=shown),
            gettext("You are about to remove band %(id)s", id=shown),
            gettext("Yes, remove band %(id)s", id=shown),
        ),
    }
    title, intro, button = words[removal.kind]
    return {"title": str(title), "intro": str(intro), "button": str(button)}


def _removed_message(removal: Removal) -> str:
    key = removal.key.split("/")[-1]
    messages = {
        "domain": gettext("Domain %(id)s was removed.", id=key),
        "indicator": gettext("Indicator %(id)s was removed.", id=key),
        "question": gettext("Question %(id)s was removed.", id=key),
        "option": gettext("Option %(id)s was removed.", id=key),
        "band": gettext("Band %(id)s was removed.", id=key),
    }
    return str(messages[removal.kind])


@bp.route("/<code>/<int:number>/yaml", methods=["GET", "POST"])
@requires("author_rubric")
def edit_yaml(code: str, number: int) -> PageResult:
    record, version = load_rubric_version(code, number, need="author_rubric")
    if version.status != VersionStatus.DRAFT:
        return _not_a_draft(code, version)
    source = f"{code}-v{number}.yaml"
    problems: list[str] = []
    if request.method == "GET":
        form = YamlEditForm(
            formdata=None,
            data={
                "text": services.yaml_text(version.content),
                "lock_version": version.lock_version,
            },
        )
        status = 200
    else:
        form = YamlEditForm()
        status = 422
        if form.validate():
            text = form.text.data.replace("\r\n", "\n")
            rubric: Rubric | None = None
            try:
                rubric = load_rubric_text(
                    text, source=source, codebook=active_codebook(dbsession())
                )
            except RubricFileError as exc:
                problems = [str(problem) for problem in exc.problems]
            if form.lock_version.data != version.lock_version:
                return _conflict(record, version, text, rubric)
            if rubric is not None and rubric.id != record.code:
                problems = [
                    gettext(
                        "%(source)s:%(line)s: id: must stay %(code)s (upload the file instead "
                        "to start another rubric)",
                        source=source,
                        line=_line_of_id(text),
                        code=repr(record.code),
                    )
                ]
            elif rubric is not None:
                try:
                    services.update_draft(
                        dbsession(),
                        version,
                        rubric,
                        expected_lock=form.lock_version.data,
                        by=current_user,
                    )
                except services.StaleVersionError:
                    dbsession().rollback()
                    dbsession().refresh(version)
                    return _conflict(record, version, text, rubric)
                dbsession().commit()
                flash(gettext("Saved."), "success")
                return redirect(request.path)
    rubric_now = services.rubric_of(version)
    return render_template(
        "rubrics/edit_yaml.html",
        record=record,
        version=version,
        form=form,
        problems=problems,
        domains=domain_entries(version.content, page_language(rubric_now)),
        **_texts(page_language(rubric_now), rubric_now.default_language),
    ), status


def _line_of_id(text: str) -> int:
    match = re.search(r"^id\s*:", text, flags=re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


# --- publishing --------------------------------------------------------------------------------


@bp.route("/<code>/<int:number>/publish", methods=["GET", "POST"])
@requires("author_rubric")
def publish(code: str, number: int) -> PageResult:
    record, version = load_rubric_version(code, number, need="author_rubric")
    if version.status != VersionStatus.DRAFT:
        return _not_a_draft(code, version)
    status = 200
    problems: list[str] = []
    if request.method == "POST":
        form = PublishForm()
        if not form.validate():
            abort(400)
        try:
            services.publish(
                dbsession(), version, expected_lock=form.lock_version.data, by=current_user
            )
        except RubricError as exc:  # a shared indicator the codebook in use no longer allows
            dbsession().rollback()
            text = services.yaml_text(version.content)
            source = f"{code}-v{number}.yaml"
            problems = [str(p) for p in locate_problems(text, exc.problems, source)]
            status = 422
        except services.StaleVersionError:
            dbsession().rollback()
            dbsession().refresh(version)
            flash(
                gettext(
                    "The draft was changed after you reviewed it. Review the changes below again."
                ),
                "error",
            )
            status = 409
        else:
            dbsession().commit()
            flash(
                gettext(
                    "Version %(number)s of %(code)s is published. It can no longer change.",
                    number=number,
                    code=code,
                ),
                "success",
            )
            return redirect(_version_url(version, code))
    rubric = services.rubric_of(version)
    base = services.previous_published(dbsession(), version)
    diff = services.diff_versions(base, version) if base is not None else None
    form = PublishForm(formdata=None, data={"lock_version": version.lock_version})
    return render_template(
        "rubrics/publish.html",
        record=record,
        version=version,
        rubric=rubric,
        base=base,
        diff=diff,
        form=form,
        problems=problems,
        **_texts(page_language(rubric), rubric.default_language),
    ), status


# --- diff --------------------------------------------------------------------------------------


def _wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _number_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    number = parse_id(raw)
    if number is None:
        abort(400)
    return number


@bp.route("/<code>/diff")
@requires("view_rubric")
def diff(code: str) -> PageResult:
    record = load_rubric_record(code)
    versions = services.versions_of(dbsession(), record)
    if not versions:
        abort(404)
    by_number = {v.number: v for v in versions}
    to_number = _number_arg("to") or versions[0].number
    new = by_number.get(to_number)
    if new is None:
        abort(404)
    from_number = _number_arg("from")
    if from_number is None:
        previous = services.previous_version(dbsession(), new)
        from_number = previous.number if previous is not None else None
    old = by_number.get(from_number) if from_number is not None else None
    if from_number is not None and old is None:
        abort(404)
    result: RubricDiff | None = services.diff_versions(old, new) if old is not None else None
    if _wants_json():
        if result is None:
            return Response(
                json.dumps({"error": f"version {to_number} has no earlier version to compare"}),
                status=404,
                mimetype="application/json",
            )
        return jsonify({"rubric": code, "from": from_number, "to": to_number, **result.to_json()})
    rubric = services.rubric_of(new)
    return render_template(
        "rubrics/diff.html",
        record=record,
        versions=versions,
        old=old,
        new=new,
        diff=result,
        **_texts(page_language(rubric), rubric.default_language),
    )
