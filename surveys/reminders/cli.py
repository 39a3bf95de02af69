"""``flask --app wsgi remind``: for cron (daily)."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from accounts import mail
from accounts.services import audit
from surveys.reminders.services import due_reminders, send_reminders
from webapp.extensions import dbsession


@click.command("remind")
@click.option(
    "--days", type=click.IntRange(0, 365), help="Days before the deadline [REMINDER_DAYS]."
)
@with_appcontext
def remind_command(days: int | None) -> None:
    """E-mail NGOs whose assessment is due or overdue, and evaluators of new submissions;
    each reminder once, however often this runs."""
    session = dbsession()
    today = date.today()
    window = days if days is not None else int(current_app.config["REMINDER_DAYS"])
    due = due_reminders(session, today=today, days=window)
    if due and not mail.configured():
        click.echo(f"MAIL_SERVER is not set: {len(due)} reminder(s) not sent")
        return

    def committed(n: int) -> None:
        session.commit()
        bar.update(n)

    with tqdm(total=len(due), unit="message", desc="reminding", disable=None) as bar:
        try:
            sent = send_reminders(session, due, today=today, sent_batch=committed)
        except mail.MailError as exc:
            session.rollback()
            raise click.ClickException(f"the mail server failed: {exc}") from exc
    if sent:
        audit(session, actor=None, action="reminders_sent", object_type="reminder", count=sent)
        session.commit()
    click.echo(f"sent {sent} reminder(s)")
