"""Hostile values to every form and every id in URLs: no answer is a 500 (issue 13).

hypothesis draws huge and negative integers, whitespace, NUL, CR/LF, a 1 MB string, several
values for one field, Unicode digits and deep YAML, and posts them to every POST route (as a
person who gets past its permission, per the route matrix) and puts them in every URL argument
and query. Bounded: a few examples each, derandomised, so that it takes seconds in `make test`.
It shares the route matrix's world (seeded once per module).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_route_matrix import (  # the matrix's world and clients
    MATRIX,
    ROLES,
    People,
    matrix_app,  # noqa: F401 - a fixture
    routes,
    url_of,
    world,  # noqa: F401 - a fixture
)

FUZZ = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PLACEHOLDER = 987654321
DEEP_YAML = "[" * 5000
ALIAS_BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)

HOSTILE = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(
        [
            "",
            "   ",
            "\x00",
            "a\x00b",
            "\r\n",
            "/\r\nSet-Cookie: x=1",
            "²",
            "١٢",
            "1e309",
            "nan",
            "-0",
            "__na__",
            "__dk__",
            "<script>alert(1)</script>",
            "' OR '1'='1",
            "x" * 1_000_000,
            DEEP_YAML,
            ALIAS_BOMB,
            "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
        ]
    ),
    st.text(max_size=40),
)
VALUES = st.one_of(HOSTILE, st.lists(HOSTILE, min_size=2, max_size=3))  # wrong types: lists


def _who_passes(key: str) -> str:
    """A person the matrix lets past the route's permission (anonymous for public routes, and
    for routes that turn everyone away)."""
    row = MATRIX[key]
    for role in ("ngo_admin", "member", "evaluator", "admin", "funder", "anonymous", *ROLES):
        if row[role] == "ok":
            return role
    # Nobody gets past (a link with a token nobody was given): the hostile values still go to
    # the route, whose own checks must answer them without a 500.
    return "anonymous"


def _field_names(people: People, seeded: dict[str, Any], app: Flask) -> list[str]:
    """The names of every form field on every page people open (as those who pass)."""
    names: set[str] = set()
    for key, rule in routes(app):
        if not key.startswith("GET ") or key not in MATRIX or "static" in key:
            continue
        role = _who_passes(key)
        response = people.client(role).get(url_of(rule, key, seeded["values"]))
        if response.mimetype == "text/html":
            names.update(re.findall(r'name="([^"]+)"', response.get_data(as_text=True)))
        response.close()
    return sorted(names - {"csrf_token"})


def _send(people: People, role: str, method: str, url: str, form: dict[str, Any]) -> Any:
    response = people.client(role).get(url) if method == "GET" else people.post(role, url, form)
    response.close()
    return response


def test_no_form_answers_hostile_values_with_a_500(matrix_app: Flask, world: dict) -> None:  # noqa: F811
    people = People(matrix_app, world["ids"])
    names = _field_names(people, world, matrix_app)
    assert len(names) > 30
    posts = [(key, rule) for key, rule in sorted(routes(matrix_app)) if key.startswith("POST ")]

    @FUZZ
    @given(data=st.data())
    def post_everywhere(data: st.DataObject) -> None:
        form = data.draw(st.dictionaries(st.sampled_from(names), VALUES, max_size=12))
        for key, rule in posts:
            role = _who_passes(key)
            url = url_of(rule, key, world["values"])
            response = _send(people, role, "POST", url, form)
            assert response.status_code != 500, (
                key,
                role,
                {k: repr(v)[:80] for k, v in form.items()},
            )

    post_everywhere()


def test_no_url_argument_or_query_answers_a_500(matrix_app: Flask, world: dict) -> None:  # noqa: F811
    people = People(matrix_app, world["ids"])
    gets = [
        (key, rule)
        for key, rule in sorted(routes(matrix_app))
        if key.startswith("GET ") and "static" not in key and "scorecard.pdf" not in key
    ]

    @FUZZ
    @given(data=st.data())
    def visit_everywhere(data: st.DataObject) -> None:
        raw = data.draw(HOSTILE.filter(lambda v: len(v) < 2000))
        query = data.draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "cycle",
                        "version",
                        "page",
                        "lang",
                        "next",
                        "to",
                        "from",
                        "type",
                        "country",
                        "status",
                        "source",
                        "focus",
                        "format",
                    ]
                ),
                HOSTILE.filter(lambda v: len(v) < 2000),
                max_size=4,
            )
        )
        for key, rule in gets:
            role = _who_passes(key)
            url = url_of(rule, key, world["values"])
            # each argument of the rule replaced by the drawn value, one at a time
            for name in sorted(rule.arguments) or [None]:
                target = url
                if name is not None:  # a placeholder any converter takes, then the value
                    values = dict(world["values"], **{name: PLACEHOLDER})
                    target = url_of(rule, key, values).replace(
                        str(PLACEHOLDER), quote(raw, safe="")
                    )
                suffix = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in query.items())
                response = _send(people, role, "GET", f"{target}?{suffix}", {})
                assert response.status_code != 500, (key, role, repr(raw)[:80], query)

    visit_everywhere()
