"""The JSON API at ``/api/v1`` (issue 14): personal API tokens, problem details, cursors, a
rate limit per token, and an OpenAPI 3.1 document generated from the models that validate the
requests. A web layer like the pages: it calls the same services and the same permissions core.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

from accounts.permissions import public
from webapp.api import auth, openapi
from webapp.api import views as _views  # noqa: F401  (registers the operations)
from webapp.api.problems import ApiError
from webapp.api.routing import bp
from webapp.extensions import csrf

URL_PREFIX = "/api/v1"


@bp.route("/openapi.json")
@public
def openapi_document() -> Response:
    response = jsonify(openapi.document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/docs")
@public
def docs() -> str:
    return openapi.docs_page()


bp.before_request(auth.authenticate)


@bp.errorhandler(ApiError)
def _problem(error: ApiError) -> Response:
    return error.response()


def register(app: Flask) -> None:
    """The blueprint, exempt from CSRF: a token, not a cookie, authenticates it (a page of
    another site cannot send one: browsers add no Authorization header across sites)."""
    app.config.setdefault("API_RATE_LIMIT", 600)
    app.config.setdefault("API_RATE_WINDOW", 60)
    csrf.exempt(bp)
    app.register_blueprint(bp, url_prefix=URL_PREFIX)
