"""E-mail: messages in the recipient's language (plain text and HTML), sent through SMTP.

Settings: ``MAIL_SERVER`` (none: nothing is sent; the caller shows the link to the person who
made it, and it is written to the server log), ``MAIL_PORT``, ``MAIL_USE_TLS`` (STARTTLS),
``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_FROM``, and ``BASE_URL`` (the site's address, for
links in messages; within a request the request's own address when it is not set).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale

log = logging.getLogger(__name__)

LANGUAGES = ("en", "el")


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str
    link: str | None = None  # the link it carries, to show or log when no mail goes out


def language_of(locale: str | None) -> str:
    return locale if locale in LANGUAGES else current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def absolute(path: str) -> str:
    """``path`` (``/invitations/...``) as a full address, for a link in a message."""
    base = current_app.config.get("BASE_URL")
    if not base:
        base = request.host_url if has_request_context() else "http://localhost:5000"
    return str(base).rstrip("/") + path


def path_for(endpoint: str, **values: Any) -> str:
    """A route's path, inside or outside a request (the CLI has no server name)."""
    adapter = current_app.url_map.bind("localhost")
    return adapter.build(endpoint, values)


def compose(
    template: str,
    *,
    to: str,
    locale: str | None,
    subject: Any,
    link: str | None = None,
    **context: Any,
) -> Message:
    """Render ``accounts/email/<template>.txt`` and ``.html`` in the recipient's language.
    ``subject`` is a lazy string (or a callable) read in that language."""
    with force_locale(language_of(locale)):
        title = str(subject() if callable(subject) else subject)
        values = {"subject": title, "link": link, **context}
        text = render_template(f"{template}.txt", **values)
        html = render_template(f"{template}.html", **values)
    return Message(to=to, subject=title, text=text, html=html, link=link)


def configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def _email(message: Message) -> EmailMessage:
    sender = current_app.config.get("MAIL_FROM") or "evaluator@localhost"
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = message.to
    email["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email


def send(messages: Iterable[Message]) -> int:
    """Send ``messages`` over one connection; the number sent. Without ``MAIL_SERVER``,
    nothing is sent (0) and each message's link is written to the log. Raises
    :class:`MailError` when the server fails."""
    batch = list(messages)
    if not batch:
        return 0
    if not configured():
        for message in batch:
            log.warning(
                "MAIL_SERVER is not set: not sending %r to %s; its link: %s",
                message.subject,
                message.to,
                message.link or "(none)",
            )
        return 0
    config = current_app.config
    try:
        with smtplib.SMTP(
            config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), timeout=30
        ) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            for message in batch:
                smtp.send_message(_email(message))
    except (smtplib.SMTPException, OSError) as exc:
        log.exception("could not send e-mail through %s", config["MAIL_SERVER"])
        raise MailError(str(exc)) from exc
    return len(batch)
