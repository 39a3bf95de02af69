"""The words of an evaluation that an NGO worker may not know, each with one short explanation.

Pages show them with the ``terms`` macro (webapp/templates/macros.html), a ``<details>`` beside
the table or form that uses the words, so a word means the same on every page and in both
languages. Add a word here, never a second explanation in a template.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


@dataclass(frozen=True)
class Term:
    term: LazyString
    text: LazyString


GLOSSARY: dict[str, Term] = {
    "score": Term(
        _l("Score"),
        _l(
            "From 0 to 100, computed from the answers and the rubric's weights; shown with one "
            "decimal, halves rounded up (56.25 shows as 56.3)."
        ),
    ),
    "coverage": Term(
        _l("Coverage"),
        _l(
            "The share of the questions that apply to you that have an answer. A score built "
            "on few answers says less; below the rubric's minimum coverage no score is given."
        ),
    ),
    "weight": Term(
        _l("Weight"),
        _l(
            "How much a domain or an indicator counts in the score above it: a weight of 2 "
            "counts twice as much as a weight of 1."
        ),
    ),
    "band": Term(
        _l("Band"),
        _l(
            "The named range of scores the overall score falls in (for example 70 to 89), as "
            "the rubric defines it."
        ),
    ),
    "version": Term(
        _l("Rubric version"),
        _l(
            "Rubrics are improved over time, and each published change gets a new number. "
            "Scores are compared only between assessments of the same version."
        ),
    ),
    "verified": Term(
        _l("Verified"),
        _l(
            "An evaluator has checked the answers against the evidence and may have changed "
            "some ratings. The self-assessed score is the NGO's own, before that check."
        ),
    ),
    "na": Term(
        _l("N/A (not applicable)"),
        _l(
            "The question does not concern the organisation's work. Unless the rubric gives "
            "it a score, it is left out of the score rather than counted as zero."
        ),
    ),
    "dont_know": Term(
        _l("Don't know"),
        _l(
            "Nobody can tell yet. Unless the rubric gives it a score, it counts like a "
            "question without an answer: it lowers the coverage, not the score."
        ),
    ),
    "level": Term(
        _l("Maturity level"),
        _l(
            "A step on the rubric's scale, from just starting to fully in place. Each level "
            "is described: choose the one that best fits what you do today."
        ),
    ),
    "target": Term(
        _l("Target score"),
        _l(
            "The score every indicator should reach, set for the cycle. The improvement plan "
            "lists the indicators below it."
        ),
    ),
    "percentile": Term(
        _l("Percentile"),
        _l("The share of the peers whose score is at or below yours."),
    ),
    "peers": Term(
        _l("Peers' median and middle half"),
        _l(
            "Half of the peers score below the median and half above it; the middle half "
            "runs from the peer a quarter of the way up to the one three quarters of the way up."
        ),
    ),
    "domain": Term(
        _l("Domain and indicator"),
        _l(
            "A domain is a broad area of the rubric (for example governance); it groups "
            "indicators, and each indicator groups questions."
        ),
    ),
}


def explain(key: str) -> Term:
    """The glossary entry ``key`` (a KeyError names a word the glossary lacks)."""
    return GLOSSARY[key]
