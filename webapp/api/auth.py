"""Who makes an API request: a personal API token in ``Authorization: Bearer <token>``, never a
cookie. The token's person becomes the request's user (``flask_login.current_user``), so that
the permissions core (:mod:`accounts.permissions`) answers for them exactly as it does on the
pages; their session cookie, if the client sends one, is never read.

Then the request is counted against the token's rate limit (``API_RATE_LIMIT`` requests per
``API_RATE_WINDOW`` seconds), and the token's use is noted: ``last_used_at``, and in the audit
log its first use of each day (writes are each in the audit log, see :mod:`webapp.api.routing`).
"""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.wrappers import Response

from accounts.api_tokens import services as api_tokens
from accounts.permissions import access_of, load_principal
from webapp.api.problems import ApiError
from webapp.extensions import db, dbsession

NUL = "\x00"


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _check_inputs() -> None:
    """What :mod:`webapp.inputs` checks for the pages, answered as a problem."""
    for name, value in request.args.items(multi=True):
        if NUL in name or NUL in value:
            raise ApiError(
                400,
                f"The query parameter {name.replace(NUL, '')[:80]!r} holds a NUL character.",
                kind="invalid-request",
                errors=[{"path": f"query.{name.replace(NUL, '')[:80]}", "message": "NUL"}],
            )


def authenticate() -> Response | None:
    """The blueprint's ``before_request``: public routes (the document, the docs) need nothing;
    every other needs a live token of a person who may log in."""
    _check_inputs()
    view = current_app.view_functions.get(request.endpoint or "")
    declared = access_of(view) if view is not None else None
    if declared is not None and declared.public:
        g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
        return None
    raw = _bearer()
    if raw is None:
        raise ApiError(
            401,
            "This request needs a personal API token in the Authorization header: "
            "`Authorization: Bearer <token>`. Make one on your account page (/account); "
            "cookies do not authenticate the API.",
        )
    session = dbsession()
    found = api_tokens.authenticate(session, raw)
    principal = load_principal(session, found.user.id) if found else None
    if found is None or principal is None or principal.locked_out:
        raise ApiError(
            401,
            "The token is unknown, revoked or expired, or its person may no longer log in.",
            kind="invalid-token",
            headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
        )
    # End the lookup's transaction before counting on a connection of its own: on SQLite a
    # write request's transaction holds the write lock from its first statement.
    session.commit()
    # The token's person is the request's user; the cookie (if any) is never read.
    g._login_user = found.user
    g._principal = principal
    g.api_token = found.token
    config = current_app.config
    wait = api_tokens.count_request(
        db.engine,
        found.token.id,  # type: ignore[arg-type]
        limit=int(config["API_RATE_LIMIT"]),
        window=max(1, int(config["API_RATE_WINDOW"])),
    )
    if wait is not None:
        raise ApiError(
            429,
            f"This token may make {config['API_RATE_LIMIT']} requests in "
            f"{config['API_RATE_WINDOW']} seconds; retry in {wait} seconds.",
            kind="rate-limited",
            headers={"Retry-After": str(wait)},
        )
    api_tokens.note_use(
        db.engine,
        found.token,
        address=(request.remote_addr or "")[:45] or None,
        agent=(request.user_agent.string or "")[:255] or None,
    )
    return None
