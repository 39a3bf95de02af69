"""The OpenAPI 3.1 document, generated from the registry of operations and the pydantic models
that validate and shape them, and the browsable docs: a page written from the same document,
by the server, that needs no script and no CDN."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import render_template
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from accounts.inputs import MAX_ID
from webapp.api.problems import DETAILS, KINDS, TITLES, Problem
from webapp.api.routing import AUTH_ERRORS, OPERATIONS, Operation, openapi_path
from webapp.api.schemas import PageQuery

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"

DESCRIPTION = """\
The platform's data for other systems: organisations (as the directory shows them), rubrics
and their versions, cycles, assessments and their answers, scores, and exports.

**Authentication.** Every request but this document and the docs needs a personal API token:
make one on your account page (`/account`) and send it as `Authorization: Bearer <token>`. A
token acts as its person: it sees and does what they may on the pages, never more; a read-only
token changes nothing. Cookies do not authenticate the API.

**Errors** are problem details (RFC 9457, `application/problem+json`). **Lists** are read by
cursor: follow `next` until it is null. **Rate limit**: per token; over it, 429 with
`Retry-After`. **Writes** accept an `Idempotency-Key` header: a retry with the same key and
the same request gets the first answer again and changes nothing.
"""

_cache: dict[str, Any] = {}


def _models() -> list[tuple[type[BaseModel], str]]:
    """Each model in the mode it is used in: bodies validate, answers serialise (so that a
    model used one way has one schema, named after it)."""
    found: list[tuple[type[BaseModel], str]] = [(Problem, "serialization")]
    for op in OPERATIONS:
        for model, mode in ((op.body, "validation"), (op.response, "serialization")):
            if model is not None and (model, mode) not in found:
                found.append((model, mode))
    return found


def _parameters(op: Operation, path: str, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name in _path_names(op.rule):
        integer = f"<int:{name}>" in op.rule
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 0, "maximum": MAX_ID}
            if integer
            else {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.-]*$", "maxLength": 64}
        )
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF, mode="validation")
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            description = prop.pop("description", None)
            prop.pop("title", None)
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if description:
                param["description"] = description
            params.append(param)
    if op.writes:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Retry safely: the same key and request get the first answer.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    return params


def _path_names(rule: str) -> list[str]:
    return re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule)


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": TITLES.get(status, "Error")
        + (f": {DETAILS[status]}" if status in DETAILS else ""),
        "content": {PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}},
    }


def document() -> dict[str, Any]:
    """The OpenAPI document (built once per process: the registry does not change)."""
    if "doc" in _cache:
        return _cache["doc"]  # type: ignore[no-any-return]
    keys, defs = models_json_schema(_models(), ref_template=REF)  # type: ignore[arg-type]
    schemas = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path = PREFIX + (openapi_path(op.rule) if op.rule != "/" else "/")
        entry: dict[str, Any] = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "tags": [op.tag],
        }
        if op.description:
            entry["description"] = op.description
        params = _parameters(op, path, schemas)
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": keys[(op.body, "validation")]}},
            }
        responses: dict[str, Any] = {}
        if op.response is not None:
            responses[str(op.status)] = {
                "description": op.summary,
                "content": {"application/json": {"schema": keys[(op.response, "serialization")]}},
            }
        else:
            responses[str(op.status)] = {
                "description": op.summary,
                "content": {
                    media: {"schema": {"type": "string", "contentMediaType": media}}
                    for media in op.media
                },
            }
        errors = {400, 405, *op.errors}
        if op.permission is not None:
            errors |= set(AUTH_ERRORS)
            if op.query is not None and issubclass(op.query, PageQuery):
                errors.add(400)
        if op.writes:
            errors |= {403, 415, 422}
        for status in sorted(errors):
            responses[str(status)] = _problem(status)
        entry["responses"] = responses
        if op.permission is None:
            entry["security"] = []
        else:
            entry["x-permission"] = op.permission
        paths.setdefault(path, {})[op.method.lower()] = entry
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Evaluator API", "version": "1", "description": DESCRIPTION},
        "tags": [
            {"name": name}
            for name in ("organisations", "rubrics", "cycles", "assessments", "scores", "exports")
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token, made on the account page",
                }
            },
        },
        "security": [{"token": []}],
    }
    _cache["doc"] = doc
    return doc


def docs_page() -> str:
    """The browsable docs: every operation with its parameters, body and answers."""
    doc = document()
    operations = []
    for path, methods in doc["paths"].items():
        for method, entry in methods.items():
            operations.append((entry["tags"][0], path, method.upper(), entry))
    body_of = {}
    for _tag, _path, _method, entry in operations:
        body = entry.get("requestBody")
        if body:
            body_of[entry["operationId"]] = json.dumps(
                body["content"]["application/json"]["schema"], indent=2
            )
    return render_template(
        "api/docs.html",
        doc=doc,
        operations=operations,
        tags=[t["name"] for t in doc["tags"]] + ["meta"],
        schemas={
            name: json.dumps(s, indent=2, ensure_ascii=False)
            for name, s in doc["components"]["schemas"].items()
        },
        kinds=KINDS,
        ref_name=lambda ref: ref.rsplit("/", 1)[-1],
    )
