"""What every request may carry, checked once for all routes.

- Ids in URLs: the ``int`` converter of every route is bounded to :data:`accounts.inputs.MAX_ID`,
  so ``/assessments/99999999999999999999`` is a 404 like any other missing object (SQLite
  raises ``OverflowError`` above 2^63 - 1, PostgreSQL refuses anything above 2^31 - 1).
- NUL characters: PostgreSQL cannot store them in text, and no person types one. A request
  carrying one in its path, query or form is answered 422 with a message saying so, before any
  view reads it (files are not text fields: their checks are the evidence service's).
- Uploads: the questionnaire page carries files beside typed answers. Its request may be as
  large as ``UPLOAD_REQUEST_MAX_BYTES``, so that a file over the per-file limit
  (``EVIDENCE_MAX_BYTES``) is refused on its own and the rest of the page is saved; every
  other request keeps ``MAX_CONTENT_LENGTH``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, render_template, request
from flask_babel import gettext
from werkzeug.routing import IntegerConverter, Map

from accounts.inputs import MAX_ID

NUL = "\x00"

# Endpoints whose requests carry evidence files beside answers (see the module's docstring).
UPLOAD_ENDPOINTS = frozenset({"questionnaire.page"})


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` of every route: 0..MAX_ID, anything larger does not match (404)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def register_converters(app: Flask) -> None:
    """Call before any route is added: rules compile their converters when added."""
    app.url_map.converters["int"] = BoundedIntConverter


def _has_nul(values: Any) -> str | None:
    """The name of the first field (of a MultiDict) whose name or a value holds a NUL."""
    for name, value in values.items(multi=True):
        if NUL in name or (isinstance(value, str) and NUL in value):
            return str(name).replace(NUL, "")
    return None


def register(app: Flask) -> None:
    register_converters(app)

    @app.before_request
    def _check_inputs() -> Any:
        if request.path.startswith("/api/"):  # the API checks them itself (problem details)
            return None
        if request.endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = app.config.get("UPLOAD_REQUEST_MAX_BYTES")
        if NUL in request.path:
            abort(404)
        field = _has_nul(request.args)
        if field is None and request.method in ("POST", "PUT", "PATCH"):
            field = _has_nul(request.form)
        if field is None:
            return None
        message = gettext(
            "The field “%(field)s” contains a NUL character (\\0), which text may not hold. "
            "Remove it and send the form again.",
            field=field[:80],
        )
        return render_template(
            "errors.html", status=422, title=gettext("This cannot be saved"), message=message
        ), 422
