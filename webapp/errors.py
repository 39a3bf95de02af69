"""Error pages: a clear message and the right status, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from webapp.api import problems
from webapp.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Please go back and try again."),
    ),
    401: (_l("Please log in"), _l("You need to log in to see this page.")),
    # The same words for every refusal: they name neither the object nor the missing right.
    403: (
        _l("You do not have access to this"),
        _l(
            "Your account may not open this page or do this. If you think it should, ask an "
            "administrator of your organisation or of the platform."
        ),
    ),
    404: (_l("Not found"), _l("There is no page at this address, or you have no access to it.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    409: (_l("Conflict"), _l("Someone else changed this at the same time.")),
    413: (
        _l("Too large"),
        _l("What you sent is larger than the limit. Please send a smaller file."),
    ),
    429: (_l("Too many requests"), _l("Please wait a moment and try again.")),
    500: (
        _l("Something went wrong"),
        _l(
            "An unexpected error happened. It has been logged; nothing you saved before it is "
            "lost. Please try again."
        ),
    ),
}


def render_error(status: int, detail: str | None = None) -> tuple[str, int]:
    title, message = MESSAGES.get(status, (f"Error {status}", ""))
    return render_template(
        "errors.html", status=status, title=str(title), message=str(detail or message)
    ), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            gettext(
                "The form's security token is missing or has expired. Go back, reload the page "
                "and send it again."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int] | Response:
        if problems.applies():  # the API answers problem details, not pages
            return problems.from_http_exception(error)
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[str, int] | Response:
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return render_error(error.code or 500)
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except Exception:  # pragma: no cover - the database itself may be the problem
            log.exception("rollback failed")
        if problems.applies():
            return problems.unexpected()
        return render_error(InternalServerError.code)
