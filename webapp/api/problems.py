"""Problem details (RFC 9457): every error under ``/api`` is ``application/problem+json``, with
a message a developer can act on. Plain HTTP errors have the type ``about:blank`` and the
status's title; the API's own kinds of problem have a type that is the address of their
explanation in the API's documentation (``/api/v1/docs#problem-<kind>``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Response, request, url_for
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.exceptions import HTTPException, MethodNotAllowed

MEDIA_TYPE = "application/problem+json"
PREFIX = "/api/"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
}

DETAILS = {
    400: "The request could not be understood.",
    401: "Send a personal API token in the Authorization header: `Bearer <token>`. Make one on "
    "your account page (/account).",
    403: "The token's person may not do this (or the token is read-only).",
    404: "There is no such resource, or the token's person may not see it.",
    405: "This resource cannot be used with this method.",
    413: "The request is larger than the server accepts.",
    429: "Too many requests with this token: wait for the time in Retry-After.",
    500: "An unexpected error happened. It has been logged.",
}

# The API's own kinds of problem: their slug -> (title, what it means), listed in the docs.
KINDS: dict[str, tuple[str, str]] = {
    "invalid-request": (
        "Your request is not valid",
        "A parameter or a field of the body is missing or wrong: `errors` lists each with its "
        "`path` (e.g. `body.answers[0].value`) and what is wrong.",
    ),
    "invalid-answers": (
        "The answers do not fit the assessment's questions",
        "The request is well formed, but an answer names no question of the assessment's "
        "rubric, or is not an answer that question accepts (the questionnaire's own checks): "
        "`errors` lists each with its `path` (e.g. `body.answers[0].value`).",
    ),
    "invalid-token": (
        "The token is not valid",
        "The token is unknown, revoked or expired, or its person can no longer log in. Make a "
        "new one on your account page.",
    ),
    "read-only-token": (
        "The token is read-only",
        "This request changes something, and the token was made read-only.",
    ),
    "stale-version": (
        "Someone changed these answers meanwhile",
        "An answer's `version` is not the stored one: nothing was saved. `conflicts` gives, for "
        "each, your value and the stored one with its version; send again based on it.",
    ),
    "not-editable": (
        "The assessment cannot be changed",
        "Only assessments not started, in progress or returned can be answered or submitted.",
    ),
    "incomplete": (
        "Required answers are missing",
        "The assessment cannot be submitted before every required question that applies is "
        "answered: `missing` lists them.",
    ),
    "idempotency-key-reused": (
        "The Idempotency-Key was used for another request",
        "A key may be used again only to retry the same request (same method, path and body). "
        "Use a new key for a new request.",
    ),
    "rate-limited": (
        "Too many requests",
        "The token made more requests than the limit allows in the current window; retry "
        "after the number of seconds in Retry-After.",
    ),
}


class FieldError(BaseModel):
    path: str = Field(description="Where: `query.limit`, `body.answers[0].value`, ...")
    message: str


class Problem(BaseModel):
    """A problem detail (RFC 9457), with the extension members of the API's own problems."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    conflicts: list[dict[str, Any]] | None = None
    missing: list[str] | None = None


class ApiError(Exception):
    """An answer other than success, raised by a view and written as a problem."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or DETAILS.get(status, ""))
        self.status = status
        self.detail = detail or DETAILS.get(status)
        self.kind = kind
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return problem_body(self.status, self.detail, kind=self.kind, **self.extra)

    def response(self) -> Response:
        return problem_response(
            self.status, self.detail, kind=self.kind, headers=self.headers, **self.extra
        )


def invalid(
    errors: Sequence[tuple[str, str]], *, status: int = 400, kind: str = "invalid-request"
) -> ApiError:
    """A 400 naming each field that is wrong: ``[(path, message), ...]`` (422 with the kind
    ``invalid-answers``: well formed, but not what the rubric accepts)."""
    listed = [{"path": path, "message": message} for path, message in errors]
    return ApiError(
        status,
        "; ".join(f"{path}: {message}" for path, message in errors)[:500],
        kind=kind,
        errors=listed,
    )


def type_uri(kind: str) -> str:
    return url_for("api.docs", _external=True, _anchor=f"problem-{kind}")


def problem_body(
    status: int, detail: str | None = None, *, kind: str | None = None, **extra: Any
) -> dict[str, Any]:
    title = KINDS[kind][0] if kind else TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": type_uri(kind) if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail if detail is not None else DETAILS.get(status, title),
        "instance": request.path,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = problem_body(status, detail, kind=kind, **extra)
    return stored_response(status, body, headers=headers, media_type=MEDIA_TYPE)


def stored_response(
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    media_type: str | None = None,
) -> Response:
    """A JSON answer (a problem when ``status`` >= 400)."""
    kind = media_type or (MEDIA_TYPE if status >= 400 else "application/json")
    response = Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")), status, mimetype=kind
    )
    response.headers["Cache-Control"] = "private, no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def applies() -> bool:
    """Whether the request is the API's (its errors are problems, not pages)."""
    return request.path.startswith(PREFIX)


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    headers: dict[str, str] = {}
    detail = DETAILS.get(status) or error.description
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        allowed = sorted(error.valid_methods)
        headers["Allow"] = ", ".join(allowed)
        detail = f"This resource accepts {', '.join(allowed)} only."
    for name, value in error.get_headers():
        if name in ("Retry-After", "WWW-Authenticate"):
            headers[name] = value
    return problem_response(status, detail, headers=headers)


def unexpected() -> Response:
    return problem_response(500)
