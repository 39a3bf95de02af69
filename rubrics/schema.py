"""What a rubric is: rubric -> domains -> indicators -> questions, and the rules that bind them.

Pure (pydantic only). Structure is checked by pydantic; the cross-field rules that pydantic cannot
express on one field (unique ids, band gaps, scores inside the scale, relevance references) are
checked by :func:`check_rubric`, which returns *every* problem with its path so that the loader can
name the file and line of each. Build rubrics with :func:`parse_rubric`, which runs both.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from rubrics.types import CHOICE_TYPES as CHOICE_TYPES
from rubrics.types import SCORED_TYPES as SCORED_TYPES
from rubrics.types import TYPES, QuestionTypeName, check_question_type

CODE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
Code = Annotated[str, Field(pattern=CODE_PATTERN, min_length=1, max_length=64)]
"""A stable identifier: used in exports, in relevance expressions and across versions."""

UNTAGGED = "_"  # language key of a plain-string label, replaced by the default language


def _to_text(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {UNTAGGED: str(value)}
    return value


Text = Annotated[
    dict[str, str], BeforeValidator(_to_text, json_schema_input_type=str | dict[str, str])
]
"""Text in one or several languages: ``{"en": "...", "el": "..."}``; a plain string is accepted."""

QuestionType = QuestionTypeName  # the registry's names (rubrics.types)


def _keys_as_text(value: Any) -> Any:
    """YAML reads ``{1: 0, 2: 1}`` with numbers as keys: an answer is its text (a level's)."""
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    return value


IndicatorMap = Annotated[dict[str, float | None], BeforeValidator(_keys_as_text)]
"""A question's answers (levels or option ids) -> values of a shared indicator's scale (null:
no counterpart on it)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Option(_Model):
    """A choice of a ``single``, ``yes_no`` or ``multiple`` question."""

    id: Code
    label: Text
    score: float | None = None  # None: not scored yet (e.g. imported from an unscored form)


class Level(_Model):
    """A maturity level's descriptor for one question."""

    level: int
    descriptor: Text


class NumberBand(_Model):
    """Numbers in ``[min, max]`` score ``score``."""

    min: float
    max: float
    score: float


class NumberScoring(_Model):
    """How a ``number`` answer is scored: by bands, or linearly from ``low`` to ``high``."""

    method: Literal["bands", "linear"]
    bands: tuple[NumberBand, ...] = ()
    low: float | None = None  # linear: answers <= low score the scale minimum
    high: float | None = None  # linear: answers >= high score the scale maximum


class MissingPolicy(_Model):
    """How "not applicable" and "don't know" answers are offered and scored.

    At rubric level, unset fields take the defaults below; at question level, unset fields
    inherit the rubric's.
    """

    allow_not_applicable: bool | None = None
    allow_dont_know: bool | None = None
    not_applicable: Literal["exclude", "score"] | None = None
    not_applicable_score: float | None = None
    dont_know: Literal["missing", "score"] | None = None
    dont_know_score: float | None = None
    min_coverage: float | None = Field(default=None, ge=0, le=1)


DEFAULT_MISSING = MissingPolicy(
    allow_not_applicable=False,
    allow_dont_know=False,
    not_applicable="exclude",
    dont_know="missing",
    min_coverage=0.5,
)


class ScaleLevel(_Model):
    level: int
    label: Text


class Scale(_Model):
    """The score scale shared by every scored question (maturity levels are its integers)."""

    min: int = 1
    max: int = 4
    levels: tuple[ScaleLevel, ...] = ()


class Band(_Model):
    """A named range of 0-100 scores: ``[min, max)``, the last one ``[min, max]``."""

    label: Text
    min: float
    max: float


DEFAULT_BANDS = (
    Band(label={"en": "Emerging"}, min=0, max=40),
    Band(label={"en": "Developing"}, min=40, max=70),
    Band(label={"en": "Established"}, min=70, max=90),
    Band(label={"en": "Leading"}, min=90, max=100),
)


class Question(_Model):
    id: Code
    type: QuestionType
    label: Text
    guidance: Text | None = None
    hint: Text | None = None
    weight: float = 1.0
    required: bool | None = None  # default: scored questions are required, others are not
    relevant: str | None = None  # XLSForm syntax: ${q3} = 'yes' and ${q4} > 2
    levels: tuple[Level, ...] = ()  # maturity
    options: tuple[Option, ...] = ()  # single / yes_no / multiple
    combine: Literal["sum", "max", "mean"] = "sum"  # multiple
    cap: float | None = None  # multiple with sum: defaults to the scale maximum
    number: NumberScoring | None = None
    missing: MissingPolicy | None = None
    previous_id: Code | None = None  # this question's id in an earlier version, if renamed
    indicator: Code | None = None  # the shared indicator it measures (rubrics/codebook.yaml)
    indicator_map: IndicatorMap | None = None  # its answers on that indicator's scale

    @property
    def scored(self) -> bool:
        return TYPES[self.type].scored(self)

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.scored


class Indicator(_Model):
    id: Code
    label: Text
    guidance: Text | None = None
    weight: float = 1.0
    questions: tuple[Question, ...]


class Domain(_Model):
    id: Code
    label: Text
    guidance: Text | None = None
    weight: float = 1.0
    indicators: tuple[Indicator, ...]


class Rubric(_Model):
    id: Code
    title: Text
    description: Text | None = None
    version: str | None = None  # the author's label; the platform numbers versions itself
    languages: tuple[str, ...] = ("en",)
    default_language: str = "en"
    scale: Scale = Scale()
    bands: tuple[Band, ...] = DEFAULT_BANDS
    missing: MissingPolicy = DEFAULT_MISSING
    domains: tuple[Domain, ...]

    # -- navigation ------------------------------------------------------------------------
    def questions(self) -> Iterator[tuple[Domain, Indicator, Question]]:
        for domain in self.domains:
            for indicator in domain.indicators:
                for question in indicator.questions:
                    yield domain, indicator, question

    def question(self, question_id: str) -> Question:
        for _, _, question in self.questions():
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def policy(self, question: Question) -> MissingPolicy:
        """The question's missing-data policy with the rubric's (and the defaults') filled in."""
        merged: dict[str, Any] = DEFAULT_MISSING.model_dump()
        for layer in (self.missing, question.missing):
            if layer is not None:
                merged.update({k: v for k, v in layer.model_dump().items() if v is not None})
        return MissingPolicy(**merged)

    def band(self, score: float | None) -> Band | None:
        """The band a 0-100 score falls in (``[min, max)``, the last one ``[min, max]``)."""
        if score is None or math.isnan(score):
            return None
        bands = sorted(self.bands, key=lambda b: b.min)
        for index, band in enumerate(bands):
            if band.min <= score < band.max or (index == len(bands) - 1 and score <= band.max):
                return band
        return None

    def band_label(self, score: float | None, language: str | None = None) -> str | None:
        found = self.band(score)
        return self.text(found.label, language) if found else None

    def text(self, value: Mapping[str, str] | None, language: str | None = None) -> str:
        """``value`` in ``language``, falling back to the default language, then any."""
        return localize(value, language, self.default_language)


def localize(value: Mapping[str, str] | None, language: str | None, default: str = "en") -> str:
    if not value:
        return ""
    for key in (language, default, UNTAGGED):
        if key and value.get(key):
            return value[key]
    return next(iter(value.values()))


# --- cross-checks -----------------------------------------------------------------------------

Path = tuple[str | int, ...]


# Problem messages stay English on purpose: they are for rubric authors and the CLI
# (``FILE:LINE: path: message``, the form compilers and linters use), they quote the file's own
# English keywords (``not_applicable``, ``levels``), and this module is pure (no Flask-Babel, see
# the import-linter contract). The editor's own interface around them is translated.
@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rubric: where (a path into the document) and what."""

    path: Path
    message: str

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.path) or "(rubric)"


class RubricError(ValueError):
    """A rubric that does not validate; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(f"{p.dotted}: {p.message}" for p in problems))


def parse_rubric(data: Any, source: str | None = None) -> Rubric:
    """Validate ``data`` (a mapping, as read from YAML or JSON) into a :class:`Rubric`.

    Raises :class:`RubricError` listing every structural and cross-field problem.
    """
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        problems = [Problem(tuple(err["loc"]), _pydantic_message(err)) for err in exc.errors()]
        raise RubricError(problems, source) from None
    rubric = _fill_default_language(rubric)
    problems = check_rubric(rubric)
    if problems:
        raise RubricError(problems, source)
    return rubric


def _pydantic_message(err: Mapping[str, Any]) -> str:
    message = str(err["msg"])
    if err.get("type") == "extra_forbidden":
        return "unknown field"
    if err.get("type") == "string_pattern_mismatch":
        return "must be a code: letters, digits, '_', '.', '-', not starting with a digit"
    return message


def _fill_default_language(rubric: Rubric) -> Rubric:
    """Replace the untagged language key of plain-string labels by the default language."""
    lang = rubric.default_language

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            if UNTAGGED in node and all(isinstance(v, str) for v in node.values()):
                return {(lang if k == UNTAGGED else k): v for k, v in node.items()}
            return {k: fix(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [fix(v) for v in node]
        return node

    return Rubric.model_validate(fix(rubric.model_dump(exclude_unset=True)))


def check_rubric(rubric: Rubric) -> list[Problem]:
    """Every cross-field problem of ``rubric`` (an empty list when it is valid)."""
    # Imported lazily: relevance parsing needs the question table built here.
    from rubrics.relevance import RelevanceError, check_relevance

    problems: list[Problem] = []
    add = problems.append
    scale = rubric.scale

    if rubric.default_language not in rubric.languages:
        add(Problem(("default_language",), f"{rubric.default_language!r} is not in languages"))
    if scale.min >= scale.max:
        add(Problem(("scale",), f"min ({scale.min}) must be below max ({scale.max})"))
    levels = [lv.level for lv in scale.levels]
    if levels and sorted(levels) != list(range(scale.min, scale.max + 1)):
        add(Problem(("scale", "levels"), f"must name each level {scale.min}..{scale.max} once"))
    problems.extend(_check_bands(rubric.bands))
    problems.extend(_check_policy(rubric.missing, ("missing",), rubric))

    seen: dict[str, Path] = {}

    def unique(code: str, path: Path) -> None:
        if code in seen:
            where = ".".join(map(str, seen[code]))
            add(Problem((*path, "id"), f"duplicate id {code!r} (also at {where})"))
        else:
            seen[code] = path

    unique(rubric.id, ())
    if not rubric.domains:
        add(Problem(("domains",), "a rubric needs at least one domain"))
    for d, domain in enumerate(rubric.domains):
        dpath: Path = ("domains", d)
        unique(domain.id, dpath)
        _check_weight(domain.weight, dpath, add)
        if not domain.indicators:
            add(Problem((*dpath, "indicators"), "a domain needs at least one indicator"))
        for i, indicator in enumerate(domain.indicators):
            ipath: Path = (*dpath, "indicators", i)
            unique(indicator.id, ipath)
            _check_weight(indicator.weight, ipath, add)
            if not indicator.questions:
                add(Problem((*ipath, "questions"), "an indicator needs at least one question"))
            for q, question in enumerate(indicator.questions):
                qpath: Path = (*ipath, "questions", q)
                unique(question.id, qpath)
                problems.extend(_check_question(question, qpath, rubric))

    paths = {
        q.id: ("domains", d, "indicators", i, "questions", k)
        for d, dom in enumerate(rubric.domains)
        for i, ind in enumerate(dom.indicators)
        for k, q in enumerate(ind.questions)
    }
    try:
        for question_id, message in check_relevance(rubric):
            add(Problem((*paths[question_id], "relevant"), message))
    except RelevanceError as exc:  # pragma: no cover - check_relevance reports, never raises
        add(Problem((), str(exc)))
    return problems


def _check_weight(weight: float, path: Path, add: Any) -> None:
    if not (math.isfinite(weight) and weight > 0):
        add(Problem((*path, "weight"), f"must be a number above 0, got {weight}"))


def _check_bands(bands: tuple[Band, ...]) -> list[Problem]:
    problems: list[Problem] = []
    if not bands:
        return [Problem(("bands",), "at least one band is needed")]
    ordered = sorted(enumerate(bands), key=lambda pair: pair[1].min)
    first, last = ordered[0][1], ordered[-1][1]
    if first.min != 0:
        problems.append(Problem(("bands", ordered[0][0], "min"), "the first band must start at 0"))
    if last.max != 100:
        problems.append(Problem(("bands", ordered[-1][0], "max"), "the last band must end at 100"))
    for index, band in enumerate(bands):
        if band.min >= band.max:
            problems.append(
                Problem(("bands", index), f"min {band.min} must be below max {band.max}")
            )
    for (_, lower), (index, upper) in pairwise(ordered):
        if lower.max < upper.min:
            problems.append(
                Problem(("bands", index, "min"), f"gap between {lower.max:g} and {upper.min:g}")
            )
        elif lower.max > upper.min:
            problems.append(
                Problem(("bands", index, "min"), f"overlaps the band ending at {lower.max:g}")
            )
    return problems


def _check_policy(policy: MissingPolicy, path: Path, rubric: Rubric) -> list[Problem]:
    problems = []
    scale = rubric.scale
    for kind in ("not_applicable", "dont_know"):
        rule = getattr(policy, kind)
        score = getattr(policy, f"{kind}_score")
        if rule == "score" and score is None:
            problems.append(Problem((*path, f"{kind}_score"), f"needed when {kind} is 'score'"))
        if score is not None and not scale.min <= score <= scale.max:
            problems.append(
                Problem(
                    (*path, f"{kind}_score"),
                    f"{score:g} is outside the scale {scale.min}..{scale.max}",
                )
            )
    return problems


def _check_question(question: Question, path: Path, rubric: Rubric) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.append
    _check_weight(question.weight, path, add)
    if question.missing is not None:
        if question.missing.min_coverage is not None:
            add(Problem((*path, "missing", "min_coverage"), "is set per rubric, not per question"))
        problems.extend(_check_policy(question.missing, (*path, "missing"), rubric))

    if question.indicator_map is not None and question.indicator is None:
        add(Problem((*path, "indicator_map"), "needs indicator: the shared indicator it maps to"))
    problems.extend(
        Problem(where, message) for where, message in check_question_type(question, rubric, path)
    )
    return problems
