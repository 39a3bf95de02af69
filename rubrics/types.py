"""The question types, pure part: one object per type, the one place that says what it means.

Each :class:`QuestionType` says, for its type, how a question of it is validated
(:meth:`~QuestionType.check`), how an answer is encoded for the engine
(:meth:`~QuestionType.encode` and :attr:`~QuestionType.engine_kind`), how it behaves in relevance
(:attr:`~QuestionType.relevance` and :meth:`~QuestionType.relevance_constant`), how it maps to
and from XLSForm (:attr:`~QuestionType.xlsform_type`, :attr:`~QuestionType.xlsform_types`) and how
an answer reads (:meth:`~QuestionType.display`). :data:`TYPES` holds them by name; the form
part (field builder, read-back, template) lives in ``surveys.questionnaire.fields``, keyed by the
same names.

Add a type: a subclass here, registered in :data:`TYPES` and named in :data:`QuestionTypeName`,
and its form part in ``surveys.questionnaire.fields`` (CTFd's pluggable challenge types, split
by layer).

Pure: no web, no database (``rubrics.schema`` imports this module).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from itertools import pairwise
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from rubrics.schema import Path, Question, Rubric

QuestionTypeName = Literal[
    "maturity", "single", "yes_no", "multiple", "number", "text", "evidence", "date"
]
"""The type names a rubric file may use (a Literal, so that the JSON Schema lists them)."""

NOT_APPLICABLE_VALUE = "__na__"
"""The web-form value of a "not applicable" answer."""
DONT_KNOW_VALUE = "__dk__"
"""The web-form value of a "don't know" answer."""

RelevanceKind = Literal["number", "choice", "blank", "constant"]
Issue = tuple[tuple[str | int, ...], str]
"""A problem of one question: a path below the question, and a message."""


class Shown(Enum):
    """What :func:`display` gives instead of text for answers that are not values: the web
    layer translates these, so that they read the same on every page and in every export."""

    BLANK = "blank"
    NOT_APPLICABLE = "not_applicable"
    DONT_KNOW = "dont_know"


def is_blank(value: object) -> bool:
    """An unanswered value: None, an empty or blank string, an empty list."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, Sequence | set | frozenset | Mapping) and not value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_float(value: object) -> float:
    """``value`` (a number or a numeric string) as a finite float. Raises ValueError."""
    if _is_number(value):
        number = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"{value!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def number_text(value: float) -> str:
    """A number as people write it: ``3`` rather than ``3.0``, and no exponent for large ones."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class QuestionType:
    """A question type. Subclasses override what differs; the defaults fit an unscored type
    whose only known property is whether it is answered."""

    name: ClassVar[str]
    engine_kind: ClassVar[str]
    """Its kind in the engine (a name of ``evaluator.spec.KIND_NAMES``)."""
    scoreable: ClassVar[bool] = False
    """Whether questions of this type can carry scores."""
    has_options: ClassVar[bool] = False
    has_levels: ClassVar[bool] = False
    has_number_scoring: ClassVar[bool] = False
    relevance: ClassVar[RelevanceKind] = "blank"
    """How it compares in relevance: as a number, with an option id, with a constant of its
    own kind (read by :meth:`relevance_constant`, such as a date), or only as blank."""
    relevance_hint: ClassVar[str] = "a number"
    relevance_example: ClassVar[str] = "2"
    xlsform_type: ClassVar[str]
    """The XLSForm type written on export."""
    xlsform_types: ClassVar[frozenset[str]] = frozenset()
    """The XLSForm types (pyxform's names) imported as this type, unless a ``rubric_type``
    column says otherwise."""
    relevance_functions: ClassVar[Mapping[str, Callable[[str], str]]] = {}
    """Relevance functions of one quoted argument that stand for a constant (``date('...')``):
    the parser folds them into that constant."""

    def scored(self, question: Question) -> bool:
        return False

    def check(self, question: Question, rubric: Rubric) -> list[Issue]:
        """Problems of the type-specific parts of ``question`` (the schema checks the rest)."""
        return []

    def encode(self, question: Question, rubric: Rubric, value: object) -> float:
        """A non-blank answer (not N/A or don't know) as the engine's number. Raises ValueError."""
        empty = isinstance(value, Sequence | Mapping | set) and not value
        return math.nan if empty else 1.0

    def relevance_constant(self, constant: float | str) -> float:
        """A constant of a relevance comparison as this type's engine number (for the types
        whose :attr:`relevance` is ``"constant"``). Raises ValueError."""
        return as_float(constant)

    def display(self, question: Question, rubric: Rubric, value: object, language: str) -> str:
        """A (non-blank, non-missing) answer as people read it."""
        if isinstance(value, list | tuple):
            return "; ".join(map(str, value))
        return str(value)


class MaturityType(QuestionType):
    name = "maturity"
    engine_kind = "maturity"
    scoreable = True
    has_levels = True
    relevance = "number"
    xlsform_type = "select_one"
    xlsform_types = frozenset({"select one"})  # only when declared: see rubrics.xlsform

    def scored(self, question: Question) -> bool:
        return True

    def check(self, question: Question, rubric: Rubric) -> list[Issue]:
        scale = rubric.scale
        got = sorted(lv.level for lv in question.levels)
        if got != list(range(scale.min, scale.max + 1)):
            return [
                (
                    ("levels",),
                    f"needs one descriptor for each level {scale.min}..{scale.max}, got {got}",
                )
            ]
        return []

    def encode(self, question: Question, rubric: Rubric, value: object) -> float:
        level = as_float(value)
        scale = rubric.scale
        if not (level.is_integer() and scale.min <= level <= scale.max):
            raise ValueError(f"{value!r} is not a level of the scale {scale.min}..{scale.max}")
        return level

    def display(self, question: Question, rubric: Rubric, value: object, language: str) -> str:
        try:
            level = int(as_float(value))
        except ValueError:
            return str(value)
        names = {lv.level: rubric.text(lv.label, language) for lv in rubric.scale.levels}
        descriptors = {lv.level: rubric.text(lv.descriptor, language) for lv in question.levels}
        text = f"{level} · {names[level]}" if names.get(level) else str(level)
        return f"{text}: {descriptors[level]}" if descriptors.get(level) else text


class ChoiceType(QuestionType):
    """``single`` and ``yes_no``: one option, encoded as its index."""

    engine_kind = "single"
    scoreable = True
    has_options = True
    relevance = "choice"
    xlsform_type = "select_one"
    min_options: ClassVar[int] = 2

    def scored(self, question: Question) -> bool:
        return any(o.score is not None for o in question.options)

    def check(self, question: Question, rubric: Rubric) -> list[Issue]:
        issues: list[Issue] = []
        scale = rubric.scale
        if len(question.options) < self.min_options:
            issues.append((("options",), f"a {self.name} question needs options"))
        if self.name == "multiple" and len(question.options) > 52:
            issues.append((("options",), "at most 52 options"))

        def in_scale(value: float, where: tuple[str | int, ...]) -> None:
            if not scale.min <= value <= scale.max:
                issues.append(
                    (where, f"score {value:g} is outside the scale {scale.min}..{scale.max}")
                )

        option_ids: set[str] = set()
        for o, option in enumerate(question.options):
            if option.id in option_ids:
                issues.append((("options", o, "id"), f"duplicate option id {option.id!r}"))
            option_ids.add(option.id)
            if option.score is not None:
                in_scale(option.score, ("options", o, "score"))
        scored = [o.score is not None for o in question.options]
        if any(scored) and not all(scored):
            issues.append((("options",), "score every option or none"))
        if question.cap is not None:
            in_scale(question.cap, ("cap",))
        return issues

    def ids(self, question: Question) -> list[str]:
        return [option.id for option in question.options]

    def encode(self, question: Question, rubric: Rubric, value: object) -> float:
        ids = self.ids(question)
        text = str(value) if _is_number(value) or isinstance(value, str) else None
        if text not in ids:
            raise ValueError(f"{value!r} is not an option (options: {', '.join(ids)})")
        return float(ids.index(text))

    def display(self, question: Question, rubric: Rubric, value: object, language: str) -> str:
        labels = {o.id: rubric.text(o.label, language) for o in question.options}
        chosen = value if isinstance(value, list | tuple) else [value]
        return "; ".join(labels.get(str(v)) or str(v) for v in chosen)


class SingleType(ChoiceType):
    name = "single"
    xlsform_types = frozenset({"select one"})


class YesNoType(ChoiceType):
    name = "yes_no"
    engine_kind = "yes_no"
    xlsform_types = frozenset({"select one"})


class MultipleType(ChoiceType):
    name = "multiple"
    engine_kind = "multiple"
    xlsform_type = "select_multiple"
    xlsform_types = frozenset({"select all that apply"})
    min_options = 1

    def encode(self, question: Question, rubric: Rubric, value: object) -> float:
        ids = self.ids(question)
        if isinstance(value, str):
            chosen: list[object] = list(value.split())
        elif isinstance(value, Sequence | set | frozenset):
            chosen = list(value)
        else:
            raise ValueError(f"{value!r} is not a list of option ids")
        mask = 0
        for option in chosen:
            text = str(option) if _is_number(option) or isinstance(option, str) else None
            if text not in ids:
                raise ValueError(f"{option!r} is not an option (options: {', '.join(ids)})")
            mask |= 1 << ids.index(text)
        return float(mask)


class NumberType(QuestionType):
    name = "number"
    engine_kind = "number"
    scoreable = True
    has_number_scoring = True
    relevance = "number"
    xlsform_type = "decimal"
    xlsform_types = frozenset({"integer", "int", "decimal"})

    def scored(self, question: Question) -> bool:
        return question.number is not None

    def check(self, question: Question, rubric: Rubric) -> list[Issue]:
        number = question.number
        if number is None:
            return []
        issues: list[Issue] = []
        scale = rubric.scale
        if number.method == "bands":
            if not number.bands:
                issues.append((("number", "bands"), "at least one band is needed"))
            for b, band in enumerate(number.bands):
                if band.min > band.max:
                    issues.append(
                        (("number", "bands", b), f"min {band.min:g} is above max {band.max:g}")
                    )
                if not scale.min <= band.score <= scale.max:
                    issues.append(
                        (
                            ("number", "bands", b, "score"),
                            f"score {band.score:g} is outside the scale {scale.min}..{scale.max}",
                        )
                    )
            bands = sorted(number.bands, key=lambda b: b.min)
            for lower, upper in pairwise(bands):
                if upper.min <= lower.max:
                    issues.append((("number", "bands"), f"bands overlap at {upper.min:g}"))
        elif number.low is None or number.high is None or number.low >= number.high:
            issues.append((("number",), "linear scoring needs low < high"))
        return issues

    def encode(self, question: Question, rubric: Rubric, value: object) -> float:
        return as_float(value)

    def display(self, question: Question, rubric: Rubric, value: object, language: str) -> str:
        try:
            return number_text(as_float(value))
        except ValueError:
            return str(value)


class TextType(QuestionType):
    name = "text"
    engine_kind = "text"
    xlsform_type = "text"
    xlsform_types = frozenset({"text", "string"})


class EvidenceType(QuestionType):
    name = "evidence"
    engine_kind = "evidence"
    xlsform_type = "file"
    xlsform_types = frozenset({"file"})


def parse_date(value: object) -> dt.date:
    """An ISO date (``YYYY-MM-DD``, or a date object). Raises ValueError."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def _date_constant(text: str) -> str:
    return parse_date(text).isoformat()


class DateType(QuestionType):
    """A calendar date, unscored; stored as ISO ``YYYY-MM-DD``, given to the engine as its
    proleptic Gregorian ordinal (so that relevance compares dates as numbers)."""

    name = "date"
    engine_kind = "number"  # unscored: a number without number scoring
    relevance = "constant"
    relevance_hint = "a date"
    relevance_example = "'2024-01-31' or date('2024-01-31')"
    xlsform_type = "date"
    xlsform_types = frozenset({"date"})
    relevance_functions: ClassVar[Mapping[str, Callable[[str], str]]] = {"date": _date_constant}

    def encode(self, question: Question, rubric: Rubric, value: object) -> float:
        return float(parse_date(value).toordinal())

    def relevance_constant(self, constant: float | str) -> float:
        return float(parse_date(constant).toordinal())

    def display(self, question: Question, rubric: Rubric, value: object, language: str) -> str:
        try:
            return parse_date(value).isoformat()
        except ValueError:
            return str(value)


TYPES: dict[str, QuestionType] = {
    kind.name: kind
    for kind in (
        MaturityType(),
        SingleType(),
        YesNoType(),
        MultipleType(),
        NumberType(),
        TextType(),
        EvidenceType(),
        DateType(),
    )
}
"""Every question type by name (the names of :data:`QuestionTypeName`, in that order)."""

SCORED_TYPES: frozenset[str] = frozenset(name for name, t in TYPES.items() if t.scoreable)
CHOICE_TYPES: frozenset[str] = frozenset(name for name, t in TYPES.items() if t.has_options)

RELEVANCE_FUNCTIONS: dict[str, Callable[[str], str]] = {
    name: function for kind in TYPES.values() for name, function in kind.relevance_functions.items()
}


def display(
    question: Question, rubric: Rubric, value: object, language: str | None = None
) -> str | Shown:
    """An answer as people read it, or a :class:`Shown` marker for blank, "not applicable"
    and "don't know" (which the caller translates). The one way of writing out an answer."""
    if is_blank(value):
        return Shown.BLANK
    if value == NOT_APPLICABLE_VALUE:
        return Shown.NOT_APPLICABLE
    if value == DONT_KNOW_VALUE:
        return Shown.DONT_KNOW
    language = language or rubric.default_language
    return TYPES[question.type].display(question, rubric, value, language)


def check_question_type(question: Question, rubric: Rubric, path: Path) -> list[tuple[Path, str]]:
    """The type-specific problems of ``question``, with paths from the rubric's root."""
    kind = TYPES[question.type]
    found: list[tuple[Path, str]] = [
        ((*path, *where), message) for where, message in kind.check(question, rubric)
    ]
    name = question.type
    if question.levels and not kind.has_levels:
        found.append(((*path, "levels"), f"only maturity questions have levels, not {name}"))
    if question.options and not kind.has_options:
        found.append(((*path, "options"), f"only choice questions have options, not {name}"))
    if question.number is not None and not kind.has_number_scoring:
        found.append(((*path, "number"), f"only number questions have number scoring, not {name}"))
    return found
