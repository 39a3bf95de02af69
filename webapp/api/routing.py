"""The API's routes and the one registry the OpenAPI document is generated from.

A route is declared once, with the pydantic models that validate its query and body and shape
its answer; :func:`operation` registers it on the blueprint (behind the permission it needs,
like every page) and records it in :data:`OPERATIONS`, from which :mod:`webapp.api.openapi`
writes the document. No hand-kept copy of the schema can drift from what the code does.

Writes (``writes=True``) are refused to read-only tokens, run in one transaction with the
audit event of the request and, when the client sends an ``Idempotency-Key``, with the stored
answer for that key: a retry with the same key and the same request is answered the same, and
changes nothing; the same key with another request is a 422.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, g, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from accounts.api_tokens import services as api_tokens
from accounts.permissions import public, requires
from accounts.services import audit
from webapp.api.problems import ApiError, invalid, stored_response
from webapp.api.schemas import NoQuery
from webapp.extensions import dbsession

bp = Blueprint("api", __name__, template_folder="templates")

# Writes, and the errors any authenticated operation may answer.
AUTH_ERRORS = (401, 429)
MAX_KEY = 255


@dataclass(frozen=True)
class Operation:
    """One route as the OpenAPI document describes it."""

    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    permission: str | None
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[int, ...]
    media: dict[str, str] = field(default_factory=dict)  # non-JSON answers: type -> what
    writes: bool = False


OPERATIONS: list[Operation] = []


def location(loc: tuple[int | str, ...], where: str) -> str:
    """A pydantic error location as a path: ``("answers", 0)`` -> ``body.answers[0]``."""
    out = where
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _validation_errors(exc: ValidationError, where: str) -> ApiError:
    return invalid([(location(tuple(e["loc"]), where), e["msg"]) for e in exc.errors()])


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _repeatable(model: type[BaseModel], name: str) -> bool:
    """Whether a query parameter is a list (given as ``name=a&name=b``)."""
    found = model.model_fields.get(name)
    if found is None:
        return False
    annotation = found.annotation
    return typing.get_origin(annotation) is list or any(
        typing.get_origin(arg) is list for arg in typing.get_args(annotation)
    )


def parse_query(model: type[BaseModel]) -> BaseModel:
    args: dict[str, Any] = {
        key: request.args.getlist(key) if _repeatable(model, key) else request.args.get(key)
        for key in request.args
    }
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        raise _validation_errors(exc, "query") from None


def parse_body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise ApiError(
            415, "Send the body as JSON, with the header Content-Type: application/json."
        )
    data = request.get_json(silent=True)
    if data is None:
        raise invalid([("body", "is not valid JSON")])
    if _has_nul(data):
        raise invalid([("body", "text may not hold NUL characters (\\u0000)")], status=422)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_errors(exc, "body") from None


def dump(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


def openapi_path(rule: str) -> str:
    """``/assessments/<int:assessment_id>`` -> ``/assessments/{assessment_id}``."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def operation(
    rule: str,
    method: str = "GET",
    *,
    permission: str | None,
    summary: str,
    tag: str,
    response: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    media: dict[str, str] | None = None,
    writes: bool = False,
    defaults: dict[str, Any] | None = None,
    endpoint: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view as an API operation (see the module's docstring). The view takes the
    URL's arguments, and ``query`` / ``body`` (the validated models) when it declares them; it
    returns a model (answered with ``status``), or a :class:`Response`."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        wanted = inspect.signature(fn).parameters
        name = endpoint or fn.__name__

        @functools.wraps(fn)
        def view(**kwargs: Any) -> Response:
            if writes and g.api_token.read_only:
                raise ApiError(
                    403,
                    "This token is read-only: it may not change anything.",
                    kind="read-only-token",
                )
            parsed = parse_query(query or NoQuery)
            if query is not None and "query" in wanted:
                kwargs["query"] = parsed
            if body is not None and "body" in wanted:
                kwargs["body"] = parse_body(body)
            if writes:
                return _write(fn, kwargs, status, permission)
            result = fn(**kwargs)
            if isinstance(result, Response):
                return result
            return stored_response(status, dump(result))

        view.__name__ = name
        guarded = requires(permission)(view) if permission else public(view)
        options: dict[str, Any] = {"defaults": defaults} if defaults else {}
        bp.add_url_rule(rule, endpoint=name, view_func=guarded, methods=[method], **options)
        OPERATIONS.append(
            Operation(
                rule=rule,
                method=method,
                endpoint=name,
                summary=summary,
                description=inspect.cleandoc(fn.__doc__ or ""),
                tag=tag,
                permission=permission,
                query=query,
                body=body,
                response=response,
                status=status,
                errors=errors,
                media=media or {},
                writes=writes,
            )
        )
        return fn

    return decorate


# --- writes ----------------------------------------------------------------------------------


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise invalid([("header.Idempotency-Key", f"1 to {MAX_KEY} printable characters")])
    return key


def _write(
    fn: Callable[..., Any], kwargs: dict[str, Any], status: int, permission: str | None
) -> Response:
    """Run a write: replayed from its Idempotency-Key, or run and kept for the key, with the
    request in the audit log, in one transaction."""
    session = dbsession()
    token = g.api_token
    key = _idempotency_key()
    fingerprint = api_tokens.request_hash(
        request.method, request.full_path.rstrip("?"), request.get_data()
    )
    if key is not None:
        earlier = api_tokens.stored_answer(session, token.id, key)
        if earlier is not None:
            # The answer this token's request got once, after the core allowed it: given
            # again, nothing is loaded or done (the core's check of the view is satisfied).
            g.setdefault("_authorized", set()).add(permission)
            return _replay(earlier, fingerprint)
    try:
        result = fn(**kwargs)
        answer_status, body = status, dump(result)
    except ApiError as exc:  # nothing of the write is kept; the answer is, for the key
        session.rollback()
        if key is None:
            raise
        answer_status, body = exc.status, exc.body()
    audit(
        session,
        actor=current_user._get_current_object(),
        action="api_write",
        object_type="api_token",
        object_id=token.id,
        organization_id=g.get("audit_organization_id"),  # set by the view, once it is known
        method=request.method,
        path=request.path,
        status=answer_status,
        idempotency_key=key,
    )
    if key is not None:
        try:
            with session.begin_nested():
                api_tokens.store_answer(
                    session,
                    token_id=token.id,
                    key=key,
                    request=fingerprint,
                    status=answer_status,
                    body=body,
                )
        except IntegrityError:  # the same key, at the same moment: the first one's answer
            session.rollback()
            g.setdefault("_authorized", set()).add(permission)
            earlier = api_tokens.stored_answer(session, token.id, key)
            if earlier is None:  # pragma: no cover - the constraint names this row
                raise
            return _replay(earlier, fingerprint)
    session.commit()
    return stored_response(answer_status, body)


def _replay(earlier: Any, fingerprint: str) -> Response:
    if earlier.request_hash != fingerprint:
        raise ApiError(
            422,
            "This Idempotency-Key was sent with another request; use a new key.",
            kind="idempotency-key-reused",
        )
    response = stored_response(earlier.status, earlier.body)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
