"""The cycle page's *Send reminders now* button (the same reminders as ``remind``, of one
cycle); the blueprint also carries the reminder e-mail templates."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from accounts import mail
from accounts.permissions import requires
from accounts.services import audit
from surveys.access import load_cycle
from surveys.reminders.services import due_reminders, send_reminders
from webapp.extensions import dbsession

bp = Blueprint("reminders", __name__, template_folder="templates")


@bp.route("/cycles/<int:cycle_id>/remind", methods=["POST"])
@login_required
@requires("manage_cycle")
def remind_cycle(cycle_id: int) -> Response:
    cycle = load_cycle(cycle_id, need="manage_cycle")
    if not FlaskForm().validate_on_submit():
        abort(400)
    session = dbsession()
    today = date.today()
    due = due_reminders(
        session, today=today, days=int(current_app.config["REMINDER_DAYS"]), cycle_id=cycle.id
    )
    back = redirect(url_for("cycles.cycle_detail", cycle_id=cycle_id))
    if not due:
        flash(gettext("No reminder is due: each is sent once."), "info")
        return back
    if not mail.configured():
        flash(gettext("No mail server is set up: reminders cannot be sent."), "error")
        return back
    try:
        sent = send_reminders(session, due, today=today, sent_batch=lambda n: session.commit())
    except mail.MailError:
        session.commit()  # what went out before the failure stays recorded
        flash(gettext("The mail server failed; try again later."), "error")
        return back
    audit(
        session,
        actor=current_user,
        action="reminders_sent",
        object_type="cycle",
        object_id=cycle.id,
        count=sent,
    )
    session.commit()
    flash(ngettext("%(num)d reminder sent.", "%(num)d reminders sent.", sent), "success")
    return back
