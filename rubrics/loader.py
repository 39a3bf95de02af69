"""Rubric files in, rubrics and scoring specs out.

* :func:`load_rubric` / :func:`load_rubric_text`: YAML -> :class:`~rubrics.schema.Rubric`, with
  every problem located at ``FILE:LINE`` (:class:`RubricFileError`).
* :func:`compile_spec`: Rubric -> :class:`~evaluator.spec.ScoringSpec` (cached per rubric).
* :func:`encode_answers`: web-form values -> the engine's answer matrix (:func:`encode_stored`:
  stored answers, as JSON text, -> the same).
* :func:`write_json_schema`: the JSON Schema shipped as ``rubrics/rubric.schema.json``.

Pure: yaml, pydantic, numpy and the engine; no web, no database.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Any, TypeVar

import numpy as np
import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from evaluator.results import AnswersError, FloatArray
from evaluator.spec import (
    COMBINE_NAMES,
    KIND_CODES,
    NUMBER_BANDS,
    NUMBER_LINEAR,
    NUMBER_NONE,
    ScoringSpec,
)
from rubrics.codebook import Codebook, check_links, shipped_codebook
from rubrics.relevance import compile_relevance
from rubrics.schema import (
    DEFAULT_MISSING,
    Problem,
    Question,
    Rubric,
    RubricError,
    parse_rubric,
)
from rubrics.types import DONT_KNOW_VALUE as DONT_KNOW_VALUE
from rubrics.types import NOT_APPLICABLE_VALUE as NOT_APPLICABLE_VALUE
from rubrics.types import TYPES

SCHEMA_FILE = Path(__file__).with_name("rubric.schema.json")
T = TypeVar("T")


# --- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileProblem(Problem):
    """A problem of a rubric file, located at ``file:line``."""

    file: str = "<rubric>"
    line: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.dotted}: {self.message}"


class RubricFileError(RubricError):
    """A rubric file that does not load; ``str()`` lists ``FILE:LINE: path: message`` lines."""

    problems: list[FileProblem]  # type: ignore[assignment]

    def __init__(self, problems: list[FileProblem], source: str) -> None:
        super().__init__(list(problems), source)
        self.problems = problems
        self.args = ("\n".join(str(problem) for problem in problems),)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _locate(root: Node | None, path: Sequence[str | int]) -> int:
    """Line of the deepest node of ``path`` that exists (of the key, for a mapping entry)."""
    if root is None:
        return 1
    node, line = root, _line(root)
    for part in path:
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.value == str(part):
                    node, line = value, _line(key)
                    break
            else:
                break
        elif isinstance(node, SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = _line(node)
        else:
            break
    return line


def _node_at(root: Node | None, path: Sequence[str | int]) -> Node | None:
    node = root
    for part in path:
        if isinstance(node, MappingNode):
            node = next(
                (v for k, v in node.value if isinstance(k, ScalarNode) and k.value == str(part)),
                None,
            )
        elif (
            isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value)
        ):
            node = node.value[part]
        else:
            return None
    return node


def _duplicate_keys(root: Node | None) -> list[tuple[tuple[str | int, ...], int, str]]:
    """Keys given twice in one mapping (YAML would silently keep the last)."""
    found: list[tuple[tuple[str | int, ...], int, str]] = []
    stack: list[tuple[Node, tuple[str | int, ...]]] = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value) if isinstance(key, ScalarNode) else ""
                if name in seen:
                    found.append(((*path, name), _line(key), f"duplicate key {name!r}"))
                seen.add(name)
                stack.append((value, (*path, name)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value))
    return sorted(found, key=lambda item: item[1])


_READ_AS = {
    "tag:yaml.org,2002:bool": "true/false",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:timestamp": "a date",
}


def _hint(root: Node | None, problem: Problem) -> str:
    """A YAML-specific hint: unquoted yes/no/on/off are booleans, 1.0 a number, not text."""
    node = _node_at(root, problem.path)
    wants_text = "valid string" in problem.message or "valid dictionary" in problem.message
    if isinstance(node, ScalarNode) and node.tag in _READ_AS and wants_text:
        value = node.value
        return (
            f"{problem.message} (YAML reads {value} as {_READ_AS[node.tag]}: quote it, '{value}')"
        )
    return problem.message


# Limits on the YAML document, checked while it is composed, before anything is built from it:
# a 378-byte file of eight levels of aliases expands to 43 million nodes, and 5,000 nested
# brackets overflow the composer's recursion. The largest shipped rubric has 3,252 nodes nested
# 10 deep and no aliases.
MAX_DEPTH = 64
MAX_ALIASES = 1_000
MAX_NODES = 200_000


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document over one of the limits above (or with an alias inside its own anchor)."""


class _LimitedLoader(yaml.SafeLoader):
    """The safe loader, refusing documents nested deeper than :data:`MAX_DEPTH` or with more
    than :data:`MAX_ALIASES` aliases while composing them (the composer recurses per level)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise YamlLimitError(
                    problem=f"more than {MAX_ALIASES} aliases (*name): write the values out",
                    problem_mark=mark,
                )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YamlLimitError(
                    problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _check_size(root: Node) -> None:
    """Refuse a document that would expand to more than :data:`MAX_NODES` nodes once its
    aliases are followed (counted on the composed graph, each shared node once), or whose
    alias points into its own anchor (a cycle)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            children = _children(node)
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_NODES:
                raise YamlLimitError(
                    problem=f"more than {MAX_NODES} values once its aliases (*name) are expanded",
                    problem_mark=node.start_mark,
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in open_:
            raise YamlLimitError(
                problem="an alias (*name) refers to a value that contains it",
                problem_mark=node.start_mark,
            )
        open_.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def read_yaml_document(
    text: str,
    source: str,
    parse: Callable[[Any, str], T],
    error: type[RubricError] | type[ValueError],
    what: str = "rubric",
) -> T:
    """Compose YAML ``text`` within the limits below, then build it with ``parse(data,
    source)``; every problem (YAML, duplicate keys, ``error``'s problems) located at
    ``FILE:LINE`` in one :class:`RubricFileError`. Shared by rubrics and the codebook."""
    loader: _LimitedLoader | None = None
    try:
        loader = _LimitedLoader(text)  # reads the first characters: a NUL is refused here
        root = loader.get_single_node()
        if root is not None:
            _check_size(root)
        data = loader.construct_document(root) if root is not None else None
    except YamlLimitError as exc:
        line = int(exc.problem_mark.line) + 1 if exc.problem_mark is not None else 1
        problem = FileProblem((), f"YAML: {exc.problem}", source, line)
        raise RubricFileError([problem], source) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        problem = FileProblem((), f"YAML syntax: {message}", source, line)
        raise RubricFileError([problem], source) from None
    except yaml.YAMLError as exc:  # e.g. a reader error: a character YAML does not allow
        position = getattr(exc, "position", 0)
        line = text.count("\n", 0, position) + 1
        raise RubricFileError([FileProblem((), f"YAML: {exc}", source, line)], source) from None
    finally:
        if loader is not None:
            loader.dispose()

    problems = [
        FileProblem(path, message, source, line) for path, line, message in _duplicate_keys(root)
    ]
    if not isinstance(data, Mapping):
        example = "(id: ..., domains: ...)" if what == "rubric" else "(indicators: ...)"
        problems.append(
            FileProblem((), f"a {what} file must be a mapping {example}", source, _locate(root, ()))
        )
        raise RubricFileError(problems, source)
    try:
        built = parse(data, source)
    except error as exc:
        found: list[Problem] = getattr(exc, "problems", [])
        problems.extend(
            FileProblem(p.path, _hint(root, p), source, _locate(root, p.path)) for p in found
        )
        problems.sort(key=lambda p: p.line)
        raise RubricFileError(problems, source) from None
    if problems:
        raise RubricFileError(problems, source)
    return built


def load_rubric_text(
    text: str, source: str = "<rubric>", *, codebook: Codebook | None = None
) -> Rubric:
    """Parse and validate a rubric from YAML ``text`` (``source`` names it in messages).

    Its questions' ``indicator:`` and ``indicator_map:`` are checked against ``codebook``
    (default: the shipped ``rubrics/codebook.yaml``; the web app passes the one in use).
    Raises :class:`RubricFileError` listing every problem with its line; a document nested
    deeper than :data:`MAX_DEPTH`, with more than :data:`MAX_ALIASES` aliases or expanding to
    more than :data:`MAX_NODES` values is refused before anything is built from it.
    """
    against = codebook if codebook is not None else shipped_codebook()

    def parse(data: Any, where: str) -> Rubric:
        rubric = parse_rubric(data, where)
        problems = check_links(rubric, against)
        if problems:
            raise RubricError(problems, where)
        return rubric

    return read_yaml_document(text, source, parse, RubricError)


def locate_problems(text: str, problems: Sequence[Problem], source: str) -> list[FileProblem]:
    """``problems`` of the rubric written as YAML ``text``, each at its ``FILE:LINE``."""
    loader = _LimitedLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    return sorted(
        (FileProblem(p.path, p.message, source, _locate(root, p.path)) for p in problems),
        key=lambda p: p.line,
    )


def load_rubric(path: str | Path, *, codebook: Codebook | None = None) -> Rubric:
    """Load and validate the rubric in YAML file ``path`` (against ``codebook``, default the
    shipped one).

    Raises :class:`RubricFileError` (problems at ``FILE:LINE``) or :class:`OSError`.
    """
    path = Path(path)
    return load_rubric_text(path.read_text(encoding="utf-8"), str(path), codebook=codebook)


def rubric_yaml(rubric: Rubric | Mapping[str, Any], *, header: str | None = None) -> str:
    """A rubric as the YAML file a person would write: what differs from the defaults, with the
    id, title and domains heading it (the inverse of :func:`load_rubric_text`).

    The one writer of rubric YAML (the editor, the file export, the XLSForm import). A mapping
    that is not a valid rubric (a draft the editor refused) is written as it stands, in the same
    style. ``header`` becomes a comment on the first line.
    """
    data: Mapping[str, Any]
    if isinstance(rubric, Rubric):
        compact = rubric.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        ordered: dict[str, Any] = {
            "id": rubric.id,
            "title": compact.pop("title", dict(rubric.title)),
        }
        ordered.update({k: v for k, v in compact.items() if k not in ("id", "domains")})
        ordered["domains"] = compact.get("domains", [])
        data = ordered
    else:
        data = dict(rubric)
    head = f"# {header}\n" if header else ""
    return head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def library_path() -> Path:
    """The folder of the rubrics shipped with the platform."""
    return Path(__file__).with_name("library")


def library_rubrics() -> list[Path]:
    """The shipped rubric files, sorted by name."""
    return sorted(library_path().glob("*.yaml"))


def rubric_json_schema() -> dict[str, Any]:
    """The JSON Schema of a rubric file (for editors and external tools)."""
    schema = Rubric.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def write_json_schema(path: str | Path = SCHEMA_FILE) -> None:
    """Write :func:`rubric_json_schema` to ``path`` (the shipped ``rubric.schema.json``)."""
    text = json.dumps(rubric_json_schema(), indent=2, ensure_ascii=False) + "\n"
    Path(path).write_text(text, encoding="utf-8")


# --- answers ------------------------------------------------------------------------------------


def _encode(rubric: Rubric, question: Question, value: object) -> float:
    """One web-form value as the engine's number (NaN: blank). Raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, str) and value in (NOT_APPLICABLE_VALUE, DONT_KNOW_VALUE):
        policy = rubric.policy(question)
        if value == NOT_APPLICABLE_VALUE:
            if not policy.allow_not_applicable:
                raise ValueError("'not applicable' is not offered for this question")
            return -math.inf
        if not policy.allow_dont_know:
            raise ValueError("'don't know' is not offered for this question")
        return math.inf
    return TYPES[question.type].encode(question, rubric, value)


def encode_answers(
    rubric: Rubric, rows: Sequence[Mapping[str, object]], *, strict: bool = True
) -> FloatArray:
    """Web-form values -> the engine's answer matrix (responses x questions, document order).

    Each row maps question ids to an option id (single, yes_no), a list of option ids or a
    space-separated string of them (multiple), a level (maturity), a number, or text/evidence
    (any non-empty value); None, ``""`` or a missing id is unanswered, ``"__na__"`` not
    applicable and ``"__dk__"`` don't know. With ``strict`` a value that does not fit raises
    :class:`~evaluator.results.AnswersError` naming row and question; otherwise it reads as
    unanswered.
    """
    questions = [question for _, _, question in rubric.questions()]
    matrix = np.full((len(rows), len(questions)), np.nan)
    for r, row in enumerate(rows):
        for j, question in enumerate(questions):
            try:
                matrix[r, j] = _encode(rubric, question, row.get(question.id))
            except ValueError as exc:
                if strict:
                    raise AnswersError(f"rows[{r}][{question.id!r}]: {exc}") from None
    return matrix


def encode_stored(
    rubric: Rubric, n_rows: int, stored: Iterable[tuple[int, str, str | None]]
) -> FloatArray:
    """Stored answers -> the engine's answer matrix, as :func:`encode_answers` with
    ``strict=False`` gives for the answers carried over to ``rubric`` (a question's own id
    first, else its ``previous_id``), without a dict per response.

    ``stored`` yields ``(row, question_id, json_text)`` (the JSON text of the stored value, None
    for SQL NULL). Each distinct text is decoded and encoded once per question: most answers are
    one of a few values (a level, an option id), so a large matrix costs dictionary look-ups.
    """
    questions = [question for _, _, question in rubric.questions()]
    own: dict[str, int] = {}
    renamed: dict[str, list[int]] = {}
    for j, question in enumerate(questions):
        own[question.id] = j
        if question.previous_id:
            renamed.setdefault(question.previous_id, []).append(j)
    matrix = np.full((n_rows, len(questions)), np.nan)
    by_id = np.zeros((n_rows, len(questions)), dtype=bool)  # set from the question's own id
    codes: dict[tuple[int, str | None], float] = {}

    def code(j: int, text: str | None) -> float:
        try:
            return codes[(j, text)]
        except KeyError:
            pass
        try:
            value = None if text is None else json.loads(text)
            found = _encode(rubric, questions[j], value)
        except ValueError:  # json.JSONDecodeError too: unreadable reads as unanswered
            found = math.nan
        codes[(j, text)] = found
        return found

    for row, question_id, text in stored:
        column = own.get(question_id)
        if column is not None:
            matrix[row, column] = code(column, text)
            by_id[row, column] = True
        for k in renamed.get(question_id, ()):
            if not by_id[row, k]:
                matrix[row, k] = code(k, text)
    return matrix


# --- rubric -> scoring spec -----------------------------------------------------------------------

_SPEC_CACHE: OrderedDict[str, ScoringSpec] = OrderedDict()
_SPEC_CACHE_SIZE = 64
_SPEC_LOCK = Lock()


def compile_spec(rubric: Rubric) -> ScoringSpec:
    """The engine's :class:`~evaluator.spec.ScoringSpec` of ``rubric``.

    Cached on the rubric's content (pydantic models holding dicts are not hashable, so the key is
    a SHA-256 of its JSON): compiling the same rubric twice returns the same spec object.
    Raises :class:`~evaluator.results.SpecError` or
    :class:`~rubrics.relevance.RelevanceError` for a rubric that did not pass
    :func:`~rubrics.schema.check_rubric`.
    """
    key = hashlib.sha256(rubric.model_dump_json().encode()).hexdigest()
    with _SPEC_LOCK:
        spec = _SPEC_CACHE.get(key)
        if spec is not None:
            _SPEC_CACHE.move_to_end(key)
            return spec
    spec = _compile(rubric)
    with _SPEC_LOCK:
        _SPEC_CACHE[key] = spec
        while len(_SPEC_CACHE) > _SPEC_CACHE_SIZE:
            _SPEC_CACHE.popitem(last=False)
    return spec


def _score(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _compile(rubric: Rubric) -> ScoringSpec:
    questions: list[Question] = []
    question_indicator: list[int] = []
    indicator_ids: list[str] = []
    indicator_weights: list[float] = []
    indicator_domain: list[int] = []
    for d, domain in enumerate(rubric.domains):
        for indicator in domain.indicators:
            for question in indicator.questions:
                questions.append(question)
                question_indicator.append(len(indicator_ids))
            indicator_ids.append(indicator.id)
            indicator_weights.append(indicator.weight)
            indicator_domain.append(d)

    n_q = len(questions)
    width = max((len(q.options) for q in questions), default=0)
    option_scores = np.full((n_q, max(width, 1)), np.nan)
    number_bands: list[FloatArray] = []
    number_linear = np.full((n_q, 2), np.nan)
    number_method = np.full(n_q, NUMBER_NONE)
    policies = [rubric.policy(q) for q in questions]
    for j, question in enumerate(questions):
        kind = TYPES[question.type]
        if kind.has_options:
            option_scores[j, : len(question.options)] = [_score(o.score) for o in question.options]
        bands = np.zeros((0, 3))
        scoring = question.number
        if kind.has_number_scoring and scoring is not None:
            if scoring.method == "bands":
                number_method[j] = NUMBER_BANDS
                ordered = sorted(scoring.bands, key=lambda band: band.min)
                bands = np.array([[b.min, b.max, b.score] for b in ordered]).reshape(-1, 3)
            else:
                number_method[j] = NUMBER_LINEAR
                number_linear[j] = (_score(scoring.low), _score(scoring.high))
        number_bands.append(bands)

    min_coverage = rubric.missing.min_coverage
    if min_coverage is None:
        min_coverage = DEFAULT_MISSING.min_coverage
    score_bands = sorted(rubric.bands, key=lambda band: band.min)
    relevance, order = compile_relevance(rubric)
    return ScoringSpec(
        question_ids=tuple(q.id for q in questions),
        indicator_ids=tuple(indicator_ids),
        domain_ids=tuple(d.id for d in rubric.domains),
        kinds=np.array([KIND_CODES[TYPES[q.type].engine_kind] for q in questions]),
        scored=np.array([q.scored for q in questions], dtype=bool),
        question_weights=np.array([q.weight for q in questions]),
        indicator_weights=np.array(indicator_weights),
        domain_weights=np.array([d.weight for d in rubric.domains]),
        question_indicator=np.array(question_indicator),
        indicator_domain=np.array(indicator_domain),
        scale_min=rubric.scale.min,
        scale_max=rubric.scale.max,
        n_options=np.array([len(q.options) if TYPES[q.type].has_options else 0 for q in questions]),
        option_scores=option_scores,
        combine=np.array([COMBINE_NAMES.index(q.combine) for q in questions]),
        cap=np.array([_score(q.cap) for q in questions]),
        number_method=number_method,
        number_bands=tuple(number_bands),
        number_linear=number_linear,
        allow_na=np.array([bool(p.allow_not_applicable) for p in policies]),
        allow_dk=np.array([bool(p.allow_dont_know) for p in policies]),
        na_score=np.array(
            [
                _score(p.not_applicable_score) if p.not_applicable == "score" else math.nan
                for p in policies
            ]
        ),
        dk_score=np.array(
            [_score(p.dont_know_score) if p.dont_know == "score" else math.nan for p in policies]
        ),
        min_coverage=float(min_coverage if min_coverage is not None else 0.5),
        band_min=np.array([b.min for b in score_bands]),
        band_max=np.array([b.max for b in score_bands]),
        band_labels=tuple(rubric.text(b.label) for b in score_bands),
        relevance=relevance,
        relevance_order=order,
    )
