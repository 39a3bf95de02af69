"""schemathesis against the app (issue 14): for an NGO's token and an evaluator's, every
operation of the OpenAPI document gets generated requests, valid and invalid (a few examples
each, so that the file stays fast); no answer may be a 500, and every answer must match the
document (status documented, body valid against its schema, problem details for errors).

SQLite only: the app under test is the same code on PostgreSQL, and the other API tests run on
both."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings

from tests.webapp.api_world import World, seed
from webapp import create_app
from webapp.api import openapi
from webapp.extensions import db

EXAMPLES = 5  # per operation and token: enough to find a 500, few enough for `make test`


@pytest.fixture(scope="module")
def fuzzed_world(_sqlite_template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("schemathesis")
    shutil.copyfile(_sqlite_template, folder / "api.sqlite3")
    app: Flask = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "schemathesis-secret",
            "DATABASE_URL": f"sqlite:///{folder / 'api.sqlite3'}",
            "UPLOAD_FOLDER": str(folder / "uploads"),
            "API_RATE_LIMIT": 0,  # generated requests come fast; the limit has its own test
        }
    )
    APP.app = app
    yield seed(app)
    APP.app = None
    with app.app_context():
        db.engine.dispose()


class LateApp:
    """The WSGI app under test, known only once the module's fixture has made it (schemathesis
    binds an app to the schema when the tests are collected)."""

    app: Flask | None = None

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        assert self.app is not None, "the fuzzed_world fixture makes the app"
        return self.app(environ, start_response)


APP = LateApp()

# The document the app serves at /api/v1/openapi.json (built from the registry of operations;
# a test of test_api.py checks that the app serves it). Loaded here, at collection, because
# schemathesis' lazy fixture loader does not work with pytest 9.
schema = schemathesis.openapi.from_dict(openapi.document())
schema.config.update(base_url="http://localhost")
schema.config.phases.update(phases=["examples", "fuzzing"])
schema.app = APP
# Valid requests may be refused for what they mean, as documented: 409 (not a draft, a stale
# version), 422 (an incomplete submission, an Idempotency-Key sent again with another request).
schema.config.checks.positive_data_acceptance.expected_statuses = [
    "2xx",
    "3xx",
    "401",
    "403",
    "404",
    "409",
    "422",
    "429",
]
schema.config.generation.update(max_examples=EXAMPLES, database="none", deterministic=True)

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@SETTINGS
def test_the_api_matches_its_document_for_an_ngo_token(case, fuzzed_world: World) -> None:
    case.call_and_validate(headers=fuzzed_world.headers("ngo_admin"))


@schema.parametrize()
@SETTINGS
def test_the_api_matches_its_document_for_an_evaluator_token(case, fuzzed_world: World) -> None:
    case.call_and_validate(headers=fuzzed_world.headers("evaluator"))
