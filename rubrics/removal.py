"""Removing one item of a draft rubric: what goes with it, and the document without it.

The structured editor never removes anything as a side effect of saving a section: a removal
is its own step, asked for by the item's id and confirmed on a page that says what goes with
it (:func:`plan_removal` gives both the counts and the document without the item; the view
validates that document and stores it with the draft's compare-and-set version).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("domain", "indicator", "question", "option", "band")


@dataclass(frozen=True)
class Removal:
    """One item to remove from a draft, what goes with it, and the rubric without it.

    ``key`` is the item's id (an option: ``question/option``; a band: its number from 1);
    ``domain`` is the id of the domain it belongs to (None: the rubric's settings); the counts
    are of what goes with the item, itself included.
    """

    kind: str
    key: str
    label: Mapping[str, str]
    domain: str | None
    document: dict[str, Any]
    indicators: int = 0
    questions: int = 0
    options: int = 0
    question_ids: tuple[str, ...] = field(default=())
    only_domain: bool = False


def _count(questions: list[Mapping[str, Any]]) -> tuple[int, int, tuple[str, ...]]:
    """(questions, their options and levels, their ids)."""
    choices = sum(len(q.get("options") or []) + len(q.get("levels") or []) for q in questions)
    return len(questions), choices, tuple(str(q.get("id")) for q in questions)


def _text(value: Any) -> Mapping[str, str]:
    return value if isinstance(value, Mapping) else {}


def plan_removal(content: Mapping[str, Any], kind: str, key: str) -> Removal | None:
    """The removal of the item ``kind``/``key`` from ``content`` (None: there is no such item)."""
    document = copy.deepcopy(dict(content))
    domains: list[dict[str, Any]] = document.get("domains") or []
    if kind == "band":
        bands = document.get("bands") or []
        if not key.isdigit() or not 1 <= int(key) <= len(bands):
            return None
        band = bands.pop(int(key) - 1)
        return Removal(kind, key, _text(band.get("label")), None, document)
    for d, domain in enumerate(domains):
        indicators = domain.get("indicators") or []
        if kind == "domain" and str(domain.get("id")) == key:
            questions = [q for i in indicators for q in i.get("questions") or []]
            n, choices, ids = _count(questions)
            del domains[d]
            return Removal(
                kind,
                key,
                _text(domain.get("label")),
                None,
                document,
                indicators=len(indicators),
                questions=n,
                options=choices,
                question_ids=ids,
                only_domain=not domains,
            )
        for i, indicator in enumerate(indicators):
            questions = indicator.get("questions") or []
            if kind == "indicator" and str(indicator.get("id")) == key:
                n, choices, ids = _count(questions)
                del indicators[i]
                return Removal(
                    kind,
                    key,
                    _text(indicator.get("label")),
                    str(domain.get("id")),
                    document,
                    indicators=1,
                    questions=n,
                    options=choices,
                    question_ids=ids,
                )
            for k, question in enumerate(questions):
                qid = str(question.get("id"))
                if kind == "question" and qid == key:
                    n, choices, ids = _count([question])
                    del questions[k]
                    return Removal(
                        kind,
                        key,
                        _text(question.get("label")),
                        str(domain.get("id")),
                        document,
                        questions=n,
                        options=choices,
                        question_ids=ids,
                    )
                if kind == "option" and key.startswith(f"{qid}/"):
                    options = question.get("options") or []
                    wanted = key.removeprefix(f"{qid}/")
                    for o, option in enumerate(options):
                        if str(option.get("id")) == wanted:
                            del options[o]
                            return Removal(
                                kind,
                                key,
                                _text(option.get("label")),
                                str(domain.get("id")),
                                document,
                                options=1,
                            )
    return None


__all__ = ["KINDS", "Removal", "plan_removal"]
