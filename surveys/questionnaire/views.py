"""The questionnaire: one page per domain, saved on every page change, submitted at the end.

Nothing people type is lost: a stale save becomes a choice between both answers, a page posted
after the session expired is kept and saved after the next login, a page whose security token
expired is shown again with everything as it was, and every change is kept in the history.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, cast

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
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlmodel import col, delete, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from accounts import permissions
from accounts.inputs import parse_id
from accounts.lists import read_list
from accounts.models import Organization, User
from accounts.permissions import requires
from rubrics.access import load_rubric_version_by_id
from rubrics.languages import language_choices, page_language
from rubrics.relevance import parse_relevance, references
from rubrics.schema import Domain, Question, Rubric
from rubrics.services import rubric_of
from surveys import answers as store
from surveys import workflow
from surveys.access import load_assessment
from surveys.evidence import services as evidence
from surveys.models import EDITABLE, Assessment, AssessmentCycle, PendingSave
from surveys.questionnaire import page_save, services
from surveys.questionnaire.forms import (
    REMOVE_EVIDENCE,
    ResponseFormBase,
    build_response_form,
    choice_name,
    choice_parts,
    display_value,
    field_template,
    file_name,
    form_data,
    read_answers,
    version_name,
)
from webapp.extensions import csrf, dbsession, login_manager

bp = Blueprint("questionnaire", __name__, template_folder="templates")
bp.add_app_template_global(field_template)  # page.html: each question type's partial

RESUME_SALT = "surveys.resume"  # unchanged by the move: pages open now keep their tokens
RESUME_MAX_AGE = 14 * 24 * 3600  # a page may stay open for days; older pages are not replayed


def _relevance_trees(rubric: Rubric) -> dict[str, Any]:
    return {q.id: parse_relevance(q.relevant) for _d, _i, q in rubric.questions() if q.relevant}


def _relevance_values(
    trees: dict[str, Any], values: dict[str, Any], relevant: dict[str, bool]
) -> dict[str, Any]:
    """What the page's script needs of the stored answers: the questions that relevance reads,
    blank when hidden, not applicable or don't know (as the server reads them)."""
    wanted = {ref for tree in trees.values() for ref in references(tree)}
    return {
        qid: None
        if not relevant.get(qid, True) or values.get(qid) in store.MISSING_CODES
        else value
        for qid, value in values.items()
        if qid in wanted
    }


def _resume_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESUME_SALT)


# --- overview and resume ------------------------------------------------------------------------


@bp.route("/<int:assessment_id>")
@login_required
@requires("view_assessment")
def overview(assessment_id: int) -> str:
    assessment = load_assessment(assessment_id)
    if assessment.status in EDITABLE:  # a draft: not for a funder unless the grant says so
        permissions.authorize(assessment, "view_evidence")
    cycle, rubric = store.rubric_for(dbsession(), assessment)
    values = store.values_of(store.answers_of(dbsession(), assessment_id))
    per_page = services.missing_per_section(rubric, values)
    return render_template(
        "questionnaire/overview.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        organization=dbsession().get(Organization, assessment.organization_id),
        language=page_language(rubric),
        missing_per_page=per_page,
        can_edit=_can_edit(assessment),
        can_see_history=permissions.can("view_history", assessment),
        return_notice=workflow.return_notice(dbsession(), assessment),
        verified=workflow.verified_visible(assessment),
    )


def _can_edit(assessment: Assessment) -> bool:
    return assessment.status in EDITABLE and permissions.can("answer_assessment", assessment)


@bp.route("/<int:assessment_id>/resume")
@login_required
@requires("answer_assessment")
def resume(assessment_id: int) -> Response:
    """Open the first page that still has an unanswered question."""
    assessment = load_assessment(assessment_id, need="answer_assessment")
    rubric = store.rubric_for(dbsession(), assessment)[1]
    values = store.values_of(store.answers_of(dbsession(), assessment_id))
    missing = services.missing_answers(rubric, values)
    page = missing[0].page if missing else 0
    return redirect(url_for("questionnaire.page", assessment_id=assessment_id, page=page))


# --- the questionnaire page ---------------------------------------------------------------------


@dataclass
class PageContext:
    """What every rendering of one questionnaire page needs."""

    assessment: Assessment
    cycle: AssessmentCycle
    rubric: Rubric
    page: int
    domain: Domain
    language: str
    form_class: type[ResponseFormBase]

    @property
    def questions(self) -> list[Question]:
        return [q for indicator in self.domain.indicators for q in indicator.questions]


def _page_context(assessment: Assessment, page: int) -> PageContext:
    cycle, rubric = store.rubric_for(dbsession(), assessment)
    if not 0 <= page < len(rubric.domains):
        abort(404)
    domain = rubric.domains[page]
    language = page_language(rubric)
    form_class = build_response_form(rubric, domain, language)
    return PageContext(assessment, cycle, rubric, page, domain, language, form_class)


@csrf.exempt  # checked below, so that an expired session or token loses nothing
@bp.route("/<int:assessment_id>/page/<int:page>", methods=["GET", "POST"])
@requires("answer_assessment")
def page(assessment_id: int, page: int) -> Response | str | tuple[str, int]:
    if not current_user.is_authenticated:
        if request.method == "POST":
            return _stash_expired_post(assessment_id, page)
        return cast(Response, login_manager.unauthorized())
    assessment = load_assessment(assessment_id, need="answer_assessment")
    ctx = _page_context(assessment, page)
    if request.method == "GET":
        answers = store.answers_of(dbsession(), assessment_id)
        form = ctx.form_class(data=form_data(ctx.rubric, ctx.domain, answers))
        return _render_page(ctx, form)

    if assessment.status not in EDITABLE:
        flash(_("This assessment has been submitted; its answers can no longer change."), "error")
        return redirect(url_for("questionnaire.overview", assessment_id=assessment_id))
    try:
        csrf.protect()
    except CSRFError:
        # The token expired (or the session changed): show the page again exactly as it was
        # posted, based on the same versions, and ask to save again.
        form = ctx.form_class(formdata=request.form)
        notice = _(
            "Your answers are not saved yet: the page had been open too long. "
            "Check them and save again."
        )
        if _posted_files():
            notice += " " + _("Please attach your files again.")
        return _render_page(ctx, form, notice=notice, status=400)

    form = ctx.form_class()
    outcome = _save_posted(ctx, form, request.form, request.files)
    dbsession().commit()
    if outcome.ok and not outcome.newly_shown:
        return _after_save(ctx)
    return _render_outcome(ctx, form, outcome)


def _render_outcome(
    ctx: PageContext,
    form: ResponseFormBase,
    outcome: page_save.PageSaveOutcome,
    notice: str | None = None,
) -> tuple[str, int] | str:
    if outcome.ok:  # saved, and questions the page did not show before now apply
        notice = _(
            "Your answers are saved. Based on them, more questions on this page now apply: "
            "please answer them too."
        )
        return _render_page(ctx, form, notice=notice, shown=outcome.newly_shown)
    errors = {qid: list(messages) for qid, messages in outcome.errors.items()}
    for qid, refused in outcome.rejected.items():
        errors.setdefault(qid, []).extend(_evidence_message(exc) for exc in refused)
    status = 422 if outcome.invalid else 409
    return _render_page(
        ctx, form, errors=errors, conflicts=outcome.conflicts, notice=notice, status=status
    )


def _posted_files() -> bool:
    return any(upload.filename for upload in request.files.values())


def _save_posted(
    ctx: PageContext,
    form: ResponseFormBase,
    formdata: MultiDict[str, str],
    files: MultiDict[str, Any],
) -> page_save.PageSaveOutcome:
    """Read the posted page and save it (the caller commits); the form's version fields are
    rebased on the outcome, so that saving again works."""
    form.validate()
    answers = read_answers(form, ctx.rubric, ctx.domain)
    posted = page_save.PostedPage(
        values=answers.values,
        comments=answers.comments,
        base_versions=answers.base_versions,
        errors=answers.errors,
        take_theirs=frozenset(
            q.id for q in ctx.questions if formdata.get(choice_name(q)) == "theirs"
        ),
        remove_evidence=[
            ident for ident in map(parse_id, formdata.getlist(REMOVE_EVIDENCE)) if ident is not None
        ],
        uploads={
            q.id: [
                evidence.Upload(upload.filename, upload.stream)
                for upload in files.getlist(file_name(q))
                if getattr(upload, "filename", None)
            ]
            for q in ctx.questions
        },
        watch_shown=formdata.get("js") != "1" and formdata.get("action") != "later",
    )
    outcome = page_save.save_posted_page(
        dbsession(),
        ctx.assessment,
        ctx.rubric,
        ctx.questions,
        posted,
        user=current_user,
        folder=evidence.upload_folder(current_app.config),
        limit=evidence.max_bytes(current_app.config),
    )
    for question in ctx.questions:
        version_field = form._fields.get(version_name(question))
        if version_field is not None:
            base = outcome.base_versions.get(question.id)
            version_field.data = "" if base is None else str(base)
    return outcome


def _evidence_message(exc: evidence.EvidenceError) -> str:
    if exc.reason == "type":
        types = ", ".join(sorted({ext.upper() for ext in evidence.CONTENT_TYPES} - {"JPEG"}))
        message = _(
            "“%(name)s” is not a file type that can be attached (accepted: %(types)s).",
            name=exc.filename,
            types=types,
        )
    elif exc.reason == "size":
        message = _(
            "“%(name)s” is larger than the limit of %(limit)s and was not attached. "
            "Your other answers are saved.",
            name=exc.filename,
            limit=_size(exc.limit or 0),
        )
    elif exc.reason == "empty":
        message = _("“%(name)s” is empty and was not attached.", name=exc.filename)
    else:
        message = _(
            "The content of “%(name)s” is not what its name says it is; it was not attached.",
            name=exc.filename,
        )
    return str(message)


def _size(size: int) -> str:
    if size >= evidence.MiB:
        return f"{size / evidence.MiB:.3g} MB"
    return f"{max(size / 1024, 0.1):.3g} KB"


def _render_page(
    ctx: PageContext,
    form: ResponseFormBase,
    *,
    errors: dict[str, list[str]] | None = None,
    conflicts: dict[str, store.Conflict] | None = None,
    notice: str | None = None,
    status: int = 200,
    shown: list[str] | None = None,
) -> tuple[str, int]:
    session = dbsession()
    assessment = ctx.assessment
    answers = store.answers_of(session, assessment.id)  # type: ignore[arg-type]
    values = store.values_of(answers)
    relevant = store.relevant_questions(ctx.rubric, values)
    trees = _relevance_trees(ctx.rubric)
    conflicts = conflicts or {}
    colleague_ids = {c.changed_by_id for c in conflicts.values() if c.changed_by_id}
    colleagues = {
        u.id: u.name
        for u in session.exec(select(User).where(col(User.id).in_(colleague_ids))).all()
    }
    token = _resume_serializer().dumps({"u": current_user.id, "a": assessment.id})
    return render_template(
        "questionnaire/page.html",
        assessment=assessment,
        cycle=ctx.cycle,
        rubric=ctx.rubric,
        domain=ctx.domain,
        page=ctx.page,
        form=form,
        errors=errors or {},
        conflicts=conflicts,
        colleagues=colleagues,
        notice=notice,
        newly_shown=set(shown or ()),
        relevant=relevant,
        relevance=trees,
        relevance_values=_relevance_values(trees, values, relevant),
        language=ctx.language,
        languages=language_choices(ctx.rubric),
        editable=assessment.status in EDITABLE,
        files=evidence.live_evidence(session, assessment.id),  # type: ignore[arg-type]
        max_bytes=evidence.max_bytes(current_app.config),
        resume_token=token,
        can_see_history=permissions.can("view_history", assessment),
        choice_parts=choice_parts,
        display_value=display_value,
        file_field=file_name,
        choice_field=choice_name,
        size=_size,
    ), status


def _after_save(ctx: PageContext) -> Response:
    assessment_id, page, pages = ctx.assessment.id, ctx.page, len(ctx.rubric.domains)
    lang = request.args.get("lang")
    action = request.form.get("action", "next")
    if action == "later":
        flash(_("Your answers are saved. You can come back at any time."), "success")
        return redirect(url_for("main.home"))
    if action == "save":
        target = page
    elif action == "prev":
        target = max(page - 1, 0)
    elif action.startswith("goto-") and parse_id(action[5:]) is not None:
        target = min(parse_id(action[5:]) or 0, pages - 1)
    elif action == "review" or page + 1 >= pages:
        return redirect(url_for("questionnaire.answers", assessment_id=assessment_id, lang=lang))
    else:
        target = page + 1
    return redirect(
        url_for("questionnaire.page", assessment_id=assessment_id, page=target, lang=lang)
    )


# --- an expired session: keep the page, save it after the next login ----------------------------


def _stash_expired_post(assessment_id: int, page: int) -> Response:
    """A page posted without a logged-in user (the session expired while it was being filled
    in): keep what was posted, and send the person to log in, then to :func:`replay`.

    Not a CSRF hole: a page carries a resume token signed for its user and assessment, and
    only that user, logged in again, can replay what was kept (:func:`replay`). Anyone else's
    post is not kept.
    """
    lang = request.args.get("lang")
    here = url_for("questionnaire.page", assessment_id=assessment_id, page=page, lang=lang)
    try:
        claims = _resume_serializer().loads(request.form.get("r", ""), max_age=RESUME_MAX_AGE)
    except BadData:
        claims = None
    user = dbsession().get(User, claims["u"]) if isinstance(claims, dict) else None
    if (
        not isinstance(claims, dict)
        or claims.get("a") != assessment_id
        or user is None
        or dbsession().get(Assessment, assessment_id) is None
    ):
        flash(_("Your session has expired. Please log in again."), "error")
        return redirect(url_for("accounts.login", next=here))
    # One kept page per person, assessment and page: a retried post replaces the last one.
    dbsession().execute(
        delete(PendingSave).where(
            col(PendingSave.user_id) == user.id,
            col(PendingSave.assessment_id) == assessment_id,
            col(PendingSave.page) == page,
        )
    )
    kept = PendingSave(
        token=secrets.token_urlsafe(32),
        user_id=user.id,  # type: ignore[arg-type]
        assessment_id=assessment_id,
        page=page,
        form=[
            [name, value]
            for name, value in request.form.items(multi=True)
            if name not in ("csrf_token", "r")
        ],
    )
    dbsession().add(kept)
    dbsession().commit()
    replay_url = url_for("questionnaire.replay", lang=lang)
    session["pending_answers"] = {"token": kept.token, "url": replay_url, "files": _posted_files()}
    flash(
        _(
            "Your session had expired. Log in again: the answers you sent are kept "
            "and will be saved."
        ),
        "info",
    )
    return redirect(url_for("accounts.login", next=replay_url))


@bp.route("/pending")
@login_required
@requires("logged_in")
def replay() -> Response | str | tuple[str, int]:
    """Save the page kept by :func:`_stash_expired_post`, based on the versions it was built
    from (so a colleague's change in between is still a conflict), then show it.

    A GET, because it is reached by the redirect after logging in; it only ever saves what the
    logged-in person posted themselves, kept server-side under a token in their session.
    """
    kept = session.pop("pending_answers", None)
    token = kept.get("token") if isinstance(kept, dict) else None
    row = (
        dbsession().exec(select(PendingSave).where(PendingSave.token == token)).first()
        if isinstance(token, str)
        else None
    )
    if row is None:
        return redirect(url_for("main.home"))
    dbsession().delete(row)  # replayed once, whatever happens next
    if row.user_id != current_user.id:  # kept for someone else: never replayed
        dbsession().commit()
        return redirect(url_for("main.home"))
    assessment = load_assessment(row.assessment_id, need="answer_assessment")
    ctx = _page_context(assessment, row.page)
    if assessment.status not in EDITABLE:
        dbsession().commit()
        flash(
            _(
                "This assessment was submitted while you were logged out: "
                "your answers could not be saved."
            ),
            "error",
        )
        return redirect(url_for("questionnaire.overview", assessment_id=assessment.id))
    formdata: MultiDict[str, str] = MultiDict([(str(k), str(v)) for k, v in row.form or []])
    form = ctx.form_class(formdata=formdata, meta={"csrf": False})
    outcome = _save_posted(ctx, form, formdata, MultiDict())
    dbsession().commit()
    message = _("Your answers from before you were logged out are saved.")
    if kept.get("files"):
        message += " " + _("Files you had chosen then were not kept: please attach them again.")
    if outcome.ok:
        flash(message, "success")
        if outcome.newly_shown:  # saved; stay, so that the questions now shown get answered
            return _render_outcome(ctx, form, outcome)
        return redirect(
            url_for(
                "questionnaire.page",
                assessment_id=assessment.id,
                page=row.page,
                lang=request.args.get("lang"),
            )
        )
    notice = _("Your answers from before you were logged out are kept; some need your attention.")
    if kept.get("files"):
        notice += " " + _("Files you had chosen then were not kept: please attach them again.")
    return _render_outcome(ctx, form, outcome, notice=notice)


# --- reading every answer: before submitting, and after -----------------------------------------


Sheet = tuple[AssessmentCycle, Rubric, str, list[services.SheetSection]]


def _sheet(assessment: Assessment) -> Sheet:
    cycle, rubric = store.rubric_for(dbsession(), assessment)
    language = page_language(rubric)
    sections = services.answer_sheet(
        rubric,
        store.answers_of(dbsession(), assessment.id),  # type: ignore[arg-type]
        language,
        lambda question, value: display_value(question, rubric, language, value),
    )
    return cycle, rubric, language, sections


@bp.route("/<int:assessment_id>/answers")
@login_required
@requires("view_assessment")
def answers(assessment_id: int) -> str:
    """Every answer of every section, as the questionnaire shows it: what the NGO reviews
    before submitting, and reads (or prints) afterwards."""
    assessment = load_assessment(assessment_id)
    cycle, rubric, language, sections = _sheet(assessment)
    return render_template(
        "questionnaire/answers.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        organization=dbsession().get(Organization, assessment.organization_id),
        language=language,
        sections=sections,
        missing=sum(section.missing for section in sections),
        sections_missing=sum(bool(section.missing) for section in sections),
        can_edit=_can_edit(assessment),
        printing=request.args.get("print") == "1",
    )


@bp.route("/<int:assessment_id>/submit", methods=["GET"])
@login_required
@requires("answer_assessment")
def confirm_submit(assessment_id: int) -> Response | str:
    """The confirmation step: what submitting does, asked once nothing required is missing."""
    assessment = load_assessment(assessment_id, need="answer_assessment")
    if assessment.status not in EDITABLE:
        return redirect(url_for("questionnaire.answers", assessment_id=assessment_id))
    cycle, rubric, language, sections = _sheet(assessment)
    if any(section.missing for section in sections):
        return redirect(url_for("questionnaire.answers", assessment_id=assessment_id))
    return render_template(
        "questionnaire/confirm_submit.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        organization=dbsession().get(Organization, assessment.organization_id),
        language=language,
    )


# --- submission ---------------------------------------------------------------------------------


@bp.route("/<int:assessment_id>/submit", methods=["POST"])
@login_required
@requires("answer_assessment")
def submit(assessment_id: int) -> Response | tuple[str, int]:
    assessment = load_assessment(assessment_id, need="answer_assessment")
    try:
        missing = services.submit(dbsession(), assessment, by=current_user)
    except workflow.AssessmentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("questionnaire.overview", assessment_id=assessment_id))
    if missing:
        dbsession().rollback()
        rubric = store.rubric_for(dbsession(), assessment)[1]
        return render_template(
            "questionnaire/missing.html",
            assessment=assessment,
            rubric=rubric,
            missing=missing,
            language=page_language(rubric),
        ), 422
    dbsession().commit()
    flash(_("Submitted. Thank you: your scorecard is ready."), "success")
    return redirect(url_for("reports.scorecard", assessment_id=assessment_id))


# --- history -----------------------------------------------------------------


@bp.route("/<int:assessment_id>/history")
@bp.route("/<int:assessment_id>/history/<question_id>")
@login_required
@requires("view_history")
def history(assessment_id: int, question_id: str | None = None) -> str:
    """Who changed which answer, when, from what to what (NGO admins, evaluators, admins)."""
    assessment = load_assessment(assessment_id, need="view_history")
    cycle, rubric = store.rubric_for(dbsession(), assessment)
    question = None
    if question_id is not None:
        try:
            question = rubric.question(question_id)
        except KeyError:
            abort(404)
    events = services.history_events(dbsession(), assessment_id, question_id=question_id)
    state = read_list(request.args, services.history_spec(events))
    found = services.history_page(dbsession(), events, state)
    known = {q.id: q for _d, _i, q in rubric.questions()}
    return render_template(
        "questionnaire/history.html",
        assessment=assessment,
        cycle=cycle,
        rubric=rubric,
        question=question,
        questions=known,
        found=found,
        entries=found.rows,
        source_options=[("self", _("self-assessment")), ("verified", _("verification"))],
        organization=dbsession().get(Organization, assessment.organization_id),
        language=page_language(rubric),
        display_value=display_value,
    )


# --- preview ------------------------------------------------------------------------------------


@bp.route("/preview/<int:version_id>/page/<int:page>")
@login_required
@requires("view_rubric")
def preview(version_id: int, page: int) -> str:
    """A rubric version's questionnaire exactly as NGOs will see it (evaluators only)."""
    version = load_rubric_version_by_id(version_id)
    rubric = rubric_of(version)
    if not 0 <= page < len(rubric.domains):
        abort(404)
    domain = rubric.domains[page]
    language = page_language(rubric)
    form = build_response_form(rubric, domain, language)(data={}, meta={"csrf": False})
    trees = _relevance_trees(rubric)
    relevant = store.relevant_questions(rubric, {})
    return render_template(
        "questionnaire/page.html",
        assessment=None,
        preview_version=version,
        cycle=None,
        rubric=rubric,
        domain=domain,
        page=page,
        form=form,
        errors={},
        conflicts={},
        colleagues={},
        notice=None,
        newly_shown=set(),
        relevant=relevant,
        relevance=trees,
        relevance_values=_relevance_values(trees, {}, relevant),
        language=language,
        languages=language_choices(rubric),
        editable=True,
        files={},
        max_bytes=evidence.max_bytes(current_app.config),
        resume_token="",
        can_see_history=False,
        choice_parts=choice_parts,
        display_value=display_value,
        file_field=file_name,
        choice_field=choice_name,
        size=_size,
    )
