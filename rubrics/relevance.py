"""Relevance (skip logic) of rubric questions, written in XLSForm syntax.

A question's ``relevant`` expression decides whether it is shown, as in XLSForm::

    ${q3} = 'yes' and ${q4} > 2
    selected(${services}, 'shelter') or count-selected(${services}) >= 2
    not(${focal} = 'no') and ${notes} != ''

Supported: ``${id}`` references, numbers, quoted strings, ``( )``, ``or``, ``and``, ``=``,
``!=``, ``<``, ``<=``, ``>``, ``>=``, ``+``, ``-``, ``*``, ``div``, ``mod``, unary minus, and
the functions ``not()``, ``selected()``, ``count-selected()``, ``true()`` and ``false()``.
Anything else is refused with a message that says what and where.

Parse tree
----------
:func:`parse_relevance` returns nested tuples of strings and floats (JSON-serialisable: after
a JSON round trip they are lists, which every function here accepts), so that the web page can
ship a tree to a small JavaScript evaluator:

=================================  ======================================================
``("num", 2.0)``                   a number
``("str", "yes")``                 a string
``("ref", "q3")``                  the value of question ``q3`` (``${q3}``)
``("or", a, b)``, ``("and", a, b)``  logic
``("not", a)``                     ``not(a)``
``("cmp", op, a, b)``              ``op`` one of ``= != < <= > >=``
``("arith", op, a, b)``            ``op`` one of ``+ - * div mod``
``("neg", a)``                     ``-a`` (folded into the number for ``-2``)
``("call", name, *args)``          ``selected(ref, str)``, ``count-selected(ref)``,
                                   ``true()``, ``false()``
=================================  ======================================================

Meaning
-------
The engine encodes answers as numbers (see :mod:`evaluator.spec`) and evaluates compiled trees
over many responses at once; :func:`compile_relevance` turns parse trees into those engine
trees (option ids become option indices, maturity levels numbers), checking types on the way.
The rules, close to XLSForm's:

* A blank question (unanswered, "not applicable", "don't know", or hidden by its own relevance)
  equals ``''`` and compares false with any number (like XPath's NaN), so ``${q} != 'yes'`` is
  true when ``q`` is blank.
* ``single``/``yes_no`` questions compare with ``=``/``!=`` to one of their option ids;
  ``multiple`` questions to a space-separated list of option ids (the exact selection), and
  ``selected()`` / ``count-selected()`` look inside a selection.
* ``maturity`` and ``number`` questions compare as numbers (a quoted number is a number).
* Of a ``text`` or ``evidence`` answer only blankness is known: ``${t} != ''``.
* ``date`` questions compare with a date: ``${start} >= '2024-01-31'`` or
  ``${start} >= date('2024-01-31')`` (``date()`` is folded into the string when parsing).
  ``today()`` is not supported: a rubric's relevance must not change with the day it is read.
* A bare ``${q}`` is not a condition (in XPath it would be always true): write ``${q} != ''``.

:func:`evaluate_relevance` evaluates one response's web values with the engine itself, so the
questionnaire and the scores can never disagree about which questions apply.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rubrics.schema import CODE_PATTERN, Question, Rubric
from rubrics.types import RELEVANCE_FUNCTIONS, TYPES

Tree = tuple[Any, ...]
"""A parse tree node (or, after JSON, a list)."""

FUNCTIONS = {"not": 1, "selected": 2, "count-selected": 1, "true": 0, "false": 0}
_KEYWORDS = frozenset({"and", "or", "div", "mod"})
_CODE = re.compile(CODE_PATTERN)
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    | \$\{(?P<ref>[^}]*)\}
    | (?P<num>\d+(?:\.\d*)?|\.\d+)
    | '(?P<sq>[^']*)' | "(?P<dq>[^"]*)"
    | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)


class RelevanceError(ValueError):
    """A relevance expression that cannot be parsed or does not fit the rubric."""


# --- parsing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "ref", "num", "str", "op", "word", "end"
    text: str
    column: int  # 1-based


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            column = position + 1
            if char in "'\"":
                raise RelevanceError(f"column {column}: the string {char}... is never closed")
            if text.startswith("${", position):
                raise RelevanceError(f"column {column}: '${{' without its closing '}}'")
            raise RelevanceError(f"column {column}: unexpected {char!r}")
        group = match.lastgroup or "ws"
        if group != "ws":
            kind = "str" if group in ("sq", "dq") else group
            tokens.append(_Token(kind, match.group(group), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent over XPath 1.0's precedence: or < and < = != < < <= > >= < + - < * div
    mod < unary minus."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> RelevanceError:
        token = token or self.token
        return RelevanceError(f"column {token.column}: {message}")

    def describe(self, token: _Token) -> str:
        return "the end of the expression" if token.kind == "end" else repr(token.text)

    def expect(self, text: str) -> None:
        if not (self.token.kind == "op" and self.token.text == text):
            raise self.error(f"expected {text!r}, found {self.describe(self.token)}")
        self.take()

    def is_word(self, *words: str) -> bool:
        return self.token.kind == "word" and self.token.text in words

    def is_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def parse(self) -> Tree:
        if self.token.kind == "end":
            raise self.error("the expression is empty")
        tree = self.parse_or()
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.describe(self.token)}")
        return tree

    def parse_or(self) -> Tree:
        tree = self.parse_and()
        while self.is_word("or"):
            self.take()
            tree = ("or", tree, self.parse_and())
        return tree

    def parse_and(self) -> Tree:
        tree = self.parse_equality()
        while self.is_word("and"):
            self.take()
            tree = ("and", tree, self.parse_equality())
        return tree

    def parse_equality(self) -> Tree:
        tree = self.parse_relational()
        while self.is_op("=", "!="):
            op = self.take().text
            tree = ("cmp", op, tree, self.parse_relational())
        return tree

    def parse_relational(self) -> Tree:
        tree = self.parse_additive()
        while self.is_op("<", "<=", ">", ">="):
            op = self.take().text
            tree = ("cmp", op, tree, self.parse_additive())
        return tree

    def parse_additive(self) -> Tree:
        tree = self.parse_multiplicative()
        while self.is_op("+", "-"):
            op = self.take().text
            tree = ("arith", op, tree, self.parse_multiplicative())
        return tree

    def parse_multiplicative(self) -> Tree:
        tree = self.parse_unary()
        while self.is_op("*") or self.is_word("div", "mod"):
            op = self.take().text
            tree = ("arith", op, tree, self.parse_unary())
        return tree

    def parse_unary(self) -> Tree:
        if self.is_op("-"):
            self.take()
            operand = self.parse_unary()
            if operand[0] == "num":
                return ("num", -operand[1])
            return ("neg", operand)
        return self.parse_primary()

    def parse_primary(self) -> Tree:
        token = self.take()
        if token.kind == "num":
            return ("num", float(token.text))
        if token.kind == "str":
            return ("str", token.text)
        if token.kind == "ref":
            name = token.text.strip()
            if not _CODE.fullmatch(name):
                raise self.error(f"${{{token.text}}} is not a question id", token)
            return ("ref", name)
        if token.kind == "op" and token.text == "(":
            tree = self.parse_or()
            self.expect(")")
            return tree
        if token.kind == "word":
            if self.is_op("("):
                return self.parse_call(token)
            if token.text in _KEYWORDS:
                raise self.error(f"{token.text!r} needs an operand before it", token)
            raise self.error(
                f"unexpected name {token.text!r}; refer to a question as ${{{token.text}}}", token
            )
        raise self.error(f"expected a value, found {self.describe(token)}", token)

    def parse_call(self, name: _Token) -> Tree:
        if name.text in RELEVANCE_FUNCTIONS:
            return self.parse_constant_call(name)
        if name.text not in FUNCTIONS:
            supported = ", ".join(f"{f}()" for f in FUNCTIONS)
            raise self.error(f"unsupported function {name.text}(); supported: {supported}", name)
        self.expect("(")
        args: list[Tree] = []
        if not self.is_op(")"):
            args.append(self.parse_or())
            while self.is_op(","):
                self.take()
                args.append(self.parse_or())
        self.expect(")")
        wanted = FUNCTIONS[name.text]
        if len(args) != wanted:
            raise self.error(f"{name.text}() takes {wanted} argument(s), got {len(args)}", name)
        if name.text == "not":
            return ("not", args[0])
        return ("call", name.text, *args)

    def parse_constant_call(self, name: _Token) -> Tree:
        """A function of the question types that stands for a constant, such as
        ``date('2024-01-01')``: folded into the constant (a string), so that neither the
        compiler nor the page's script need know it."""
        self.expect("(")
        token = self.take()
        if token.kind != "str":
            raise self.error(f"{name.text}() takes one quoted value", token)
        self.expect(")")
        try:
            return ("str", RELEVANCE_FUNCTIONS[name.text](token.text))
        except ValueError as exc:
            raise self.error(f"{name.text}(): {exc}", token) from None


def parse_relevance(text: str) -> Tree:
    """Parse an XLSForm relevance expression into a tree (see the module docstring).

    Raises :class:`RelevanceError` with the column of the problem.
    """
    return _Parser(text).parse()


def _children(tree: Sequence[Any]) -> Iterator[Sequence[Any]]:
    head = tree[0]
    if head in ("cmp", "arith", "call"):  # operator or function name first
        yield from tree[2:]
    elif head in ("or", "and", "not", "neg"):
        yield from tree[1:]


def references(tree: Sequence[Any]) -> set[str]:
    """The question ids that ``tree`` refers to."""
    if tree[0] == "ref":
        return {str(tree[1])}
    found: set[str] = set()
    for child in _children(tree):
        found |= references(child)
    return found


# --- compiling to the engine's trees ---------------------------------------------------------


@dataclass(frozen=True)
class _Const:
    value: float | str


@dataclass(frozen=True)
class _Ref:
    column: int
    question: Question


@dataclass(frozen=True)
class _Expr:
    node: Tree
    kind: str  # "num" or "bool"


_Value = _Const | _Ref | _Expr
_OPS = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ARITH = {"+": "add", "-": "sub", "*": "mul", "div": "div", "mod": "mod"}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _option_text(value: float | str) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


class _Compiler:
    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric
        self.columns: dict[str, tuple[int, Question]] = {}
        for j, (_, _, question) in enumerate(rubric.questions()):
            self.columns.setdefault(question.id, (j, question))

    # values
    def value(self, tree: Sequence[Any]) -> _Value:
        head = tree[0]
        if head == "num":
            return _Const(float(tree[1]))
        if head == "str":
            return _Const(str(tree[1]))
        if head == "ref":
            name = str(tree[1])
            if name not in self.columns:
                raise RelevanceError(f"${{{name}}} is not a question of this rubric")
            return _Ref(*self.columns[name])
        if head in ("or", "and"):
            return _Expr((head, self.truth(tree[1]), self.truth(tree[2])), "bool")
        if head == "not":
            return _Expr(("not", self.truth(tree[1])), "bool")
        if head == "neg":
            return _Expr(("neg", self.number(self.value(tree[1]))), "num")
        if head == "arith":
            op = str(tree[1])
            if op not in _ARITH:
                raise RelevanceError(f"unknown operator {op!r}")
            left, right = self.number(self.value(tree[2])), self.number(self.value(tree[3]))
            return _Expr((_ARITH[op], left, right), "num")
        if head == "cmp":
            return _Expr(
                self.compare(str(tree[1]), self.value(tree[2]), self.value(tree[3])), "bool"
            )
        if head == "call":
            return self.call(str(tree[1]), [self.value(arg) for arg in tree[2:]])
        raise RelevanceError(f"unknown node {head!r}")

    def call(self, name: str, args: list[_Value]) -> _Value:
        if name in ("true", "false") and not args:
            return _Expr(("const", 1.0 if name == "true" else 0.0), "bool")
        if name == "selected" and len(args) == 2:
            ref, option = args
            if not (
                isinstance(ref, _Ref)
                and TYPES[ref.question.type].relevance == "choice"
                and isinstance(option, _Const)
            ):
                raise RelevanceError(
                    "selected() takes a choice question and an option id: selected(${q}, 'id')"
                )
            index = self.option_index(ref, _option_text(option.value))
            if TYPES[ref.question.type].engine_kind == "multiple":
                return _Expr(("bit", ref.column, index), "bool")
            return _Expr(("eq", ("col", ref.column), ("const", float(index))), "bool")
        if name == "count-selected" and len(args) == 1:
            ref = args[0]
            if not (isinstance(ref, _Ref) and TYPES[ref.question.type].relevance == "choice"):
                raise RelevanceError(
                    "count-selected() takes a choice question: count-selected(${q})"
                )
            if TYPES[ref.question.type].engine_kind == "multiple":
                return _Expr(("popcount", ref.column), "num")
            return _Expr(("not", ("blank", ref.column)), "num")
        raise RelevanceError(f"{name}() cannot take these arguments")

    def option_index(self, ref: _Ref, option: str) -> int:
        ids = [o.id for o in ref.question.options]
        if option not in ids:
            raise RelevanceError(
                f"${{{ref.question.id}}} has no option {option!r} (its options: {', '.join(ids)})"
            )
        return ids.index(option)

    def number(self, value: _Value) -> Tree:
        if isinstance(value, _Expr):
            return value.node
        if isinstance(value, _Const):
            if isinstance(value.value, float):
                return ("const", value.value)
            try:
                return ("const", float(value.value))
            except ValueError:
                raise RelevanceError(f"{value.value!r} is not a number") from None
        question = value.question
        behaviour = TYPES[question.type].relevance
        if behaviour == "number":
            return ("col", value.column)
        name = f"${{{question.id}}}"
        if behaviour == "constant":
            raise RelevanceError(
                f"{name} is a {question.type} question: compare it with "
                f"{TYPES[question.type].relevance_hint} ({name} >= "
                f"{TYPES[question.type].relevance_example}), not with a number or another question"
            )
        if behaviour == "choice":
            hint = f"compare it with an option id ({name} = 'id') or use selected()"
        else:
            hint = f"only whether it is blank is known: {name} != ''"
        raise RelevanceError(f"{name} is a {question.type} question, not a number; {hint}")

    def truth(self, tree: Sequence[Any]) -> Tree:
        value = self.value(tree)
        if isinstance(value, _Expr):
            return value.node if value.kind == "bool" else ("truth", value.node)
        if isinstance(value, _Const):
            if isinstance(value.value, str):
                return ("const", 1.0 if value.value else 0.0)
            return ("const", 0.0 if value.value == 0 or math.isnan(value.value) else 1.0)
        raise RelevanceError(
            f"${{{value.question.id}}} alone is not a condition; "
            f"to test that it is answered write ${{{value.question.id}}} != ''"
        )

    def blank(self, ref: _Ref) -> Tree:
        if TYPES[ref.question.type].engine_kind == "multiple":  # an empty selection is '' too
            return ("or", ("blank", ref.column), ("eq", ("col", ref.column), ("const", 0.0)))
        return ("blank", ref.column)

    def compare(self, op: str, left: _Value, right: _Value) -> Tree:
        if op not in _OPS:
            raise RelevanceError(f"unknown comparison {op!r}")
        if isinstance(right, _Ref) and not isinstance(left, _Ref):
            op, left, right = _FLIPPED[op], right, left
        if isinstance(left, _Ref) and isinstance(right, _Const):
            return self.compare_constant(op, left, right.value)
        if isinstance(left, _Const) and isinstance(right, _Const):
            strings = isinstance(left.value, str) and isinstance(right.value, str)
            if strings and op in ("=", "!="):
                return ("const", 1.0 if (left.value == right.value) == (op == "=") else 0.0)
        return (_OPS[op], self.number(left), self.number(right))

    def compare_constant(self, op: str, ref: _Ref, constant: float | str) -> Tree:
        question = ref.question
        name = f"${{{question.id}}}"
        equality = op in ("=", "!=")
        if constant == "":
            if not equality:
                raise RelevanceError(f"{name} {op} '' compares with nothing; use = or !=")
            test = self.blank(ref)
            return test if op == "=" else ("not", test)
        kind = question.type
        behaviour = TYPES[kind].relevance
        if behaviour == "constant":
            try:
                code = TYPES[kind].relevance_constant(constant)
            except ValueError:
                raise RelevanceError(
                    f"{name} is a {kind} question: compare it with {TYPES[kind].relevance_hint} "
                    f"such as {TYPES[kind].relevance_example}, not {_option_text(constant)!r}"
                ) from None
            return (_OPS[op], ("col", ref.column), ("const", code))
        if behaviour == "blank":
            raise RelevanceError(
                f"{name} is a {kind} question: only whether it is blank is "
                f"known ({name} = '' or {name} != '')"
            )
        if behaviour == "choice":
            if not equality:
                raise RelevanceError(
                    f"{name} is a {kind} question: compare it with = or != "
                    "(or use selected() / count-selected())"
                )
            text = _option_text(constant)
            if TYPES[kind].engine_kind == "multiple":
                mask = sum(1 << self.option_index(ref, part) for part in set(text.split()))
                code = float(mask)
            else:
                code = float(self.option_index(ref, text))
            return (_OPS[op], ("col", ref.column), ("const", code))
        if isinstance(constant, str) and not _is_number(constant):
            raise RelevanceError(
                f"{name} is a {kind} question: compare it with a number, not {constant!r}"
            )
        number = self.number(_Const(constant))
        if TYPES[kind].has_levels and equality:
            scale = self.rubric.scale
            level = number[1]
            if not (float(level).is_integer() and scale.min <= level <= scale.max):
                raise RelevanceError(
                    f"{name} has no level {_option_text(level)} (levels {scale.min}..{scale.max})"
                )
        return (_OPS[op], ("col", ref.column), number)


# --- whole rubrics ---------------------------------------------------------------------------


def _parsed(rubric: Rubric) -> dict[str, Tree | RelevanceError]:
    """Each question id with a relevance expression -> its tree or its parse error."""
    found: dict[str, Tree | RelevanceError] = {}
    for _, _, question in rubric.questions():
        if question.relevant and question.id not in found:
            try:
                found[question.id] = parse_relevance(question.relevant)
            except RelevanceError as exc:
                found[question.id] = exc
    return found


def _find_cycles(graph: Mapping[str, set[str]], order: Sequence[str]) -> list[list[str]]:
    """Each distinct cycle of ``graph`` once, as a path ``[a, b, ..., a]``."""
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    for root in order:
        if state.get(root):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph.get(root, ()))))]
        path = [root]
        state[root] = 1
        while stack:
            node, successors = stack[-1]
            nxt = next(successors, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    cycles.append(cycle)
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
    return cycles


def check_relevance(rubric: Rubric) -> list[tuple[str, str]]:
    """Every problem with the rubric's relevance expressions, as ``(question_id, message)``.

    Reports syntax errors, references to unknown questions or to the question itself,
    comparisons that do not fit the question referred to (such as an option id the question
    does not have), and cycles. Never raises.
    """
    problems: list[tuple[str, str]] = []
    try:
        compiler = _Compiler(rubric)
        order = [q.id for _, _, q in rubric.questions()]
        graph: dict[str, set[str]] = {}
        for question_id, tree in _parsed(rubric).items():
            if isinstance(tree, RelevanceError):
                problems.append((question_id, f"cannot parse: {tree}"))
                continue
            refs = references(tree)
            unknown = sorted(refs - compiler.columns.keys())
            for name in unknown:
                problems.append((question_id, f"refers to ${{{name}}}, which is not a question"))
            if question_id in refs:
                problems.append((question_id, "refers to itself"))
            if unknown or question_id in refs:
                continue
            graph[question_id] = refs
            try:
                compiler.truth(tree)
            except RelevanceError as exc:
                problems.append((question_id, str(exc)))
        for cycle in _find_cycles(graph, order):
            first = min(cycle, key=order.index)
            problems.append((first, "relevance cycle: " + " -> ".join(cycle)))
    except Exception as exc:  # a checker reports: it must never crash rubrics.schema
        problems.append((_first_question(rubric), f"could not check relevance: {exc!r}"))
    return problems


def _first_question(rubric: Rubric) -> str:
    for _, _, question in rubric.questions():
        return question.id
    return rubric.id


def relevance_order(rubric: Rubric) -> list[str]:
    """Ids of the questions that have relevance, each after those whose relevance it reads.

    Ties keep document order. Raises :class:`RelevanceError` on a syntax error or a cycle.
    """
    parsed = _parsed(rubric)
    deps: dict[str, set[str]] = {}
    for question_id, tree in parsed.items():
        if isinstance(tree, RelevanceError):
            raise RelevanceError(f"{question_id}: {tree}")
        deps[question_id] = {ref for ref in references(tree) if ref in parsed}
    order: list[str] = []
    done: set[str] = set()
    pending = [q.id for _, _, q in rubric.questions() if q.id in parsed]
    pending = list(dict.fromkeys(pending))
    while pending:
        ready = [q for q in pending if deps[q] <= done]
        if not ready:
            raise RelevanceError("relevance cycle among: " + ", ".join(pending))
        order.extend(ready)
        done.update(ready)
        pending = [q for q in pending if q not in done]
    return order


def compile_relevance(rubric: Rubric) -> tuple[tuple[Tree | None, ...], tuple[int, ...]]:
    """The engine's relevance trees (one per question, None: always relevant) and their order.

    See :mod:`evaluator.spec` for the engine's tree format. Raises :class:`RelevanceError`
    naming the question on the first problem (valid rubrics have none: see
    :func:`check_relevance`).
    """
    compiler = _Compiler(rubric)
    trees: list[Tree | None] = []
    for _, _, question in rubric.questions():
        if not question.relevant:
            trees.append(None)
            continue
        try:
            trees.append(compiler.truth(parse_relevance(question.relevant)))
        except RelevanceError as exc:
            raise RelevanceError(f"{question.id}: {exc}") from None
    column = {qid: j for qid, (j, _) in compiler.columns.items()}
    return tuple(trees), tuple(column[qid] for qid in relevance_order(rubric))


def evaluate_relevance(rubric: Rubric, values: Mapping[str, object]) -> dict[str, bool]:
    """Which questions one response shows, from its web-form values.

    ``values`` maps question ids to option ids, level numbers, lists of option ids (multiple),
    numbers or text, None for blank, ``"__na__"``/``"__dk__"`` for not applicable / don't know;
    values that do not fit their question read as blank. Questions are evaluated in dependency
    order and a hidden question reads as blank, by the scoring engine itself on a one-row
    matrix (so the questionnaire and the scores agree).
    """
    # Imported here: the loader (encoder and spec compiler) and the engine both build on this
    # module, which must stay importable from rubrics.schema.
    from evaluator.scoring import relevance_mask
    from rubrics.loader import compile_spec, encode_answers

    spec = compile_spec(rubric)
    matrix = encode_answers(rubric, [values], strict=False)
    mask = relevance_mask(spec, matrix)[0]
    return {
        question_id: bool(shown) for question_id, shown in zip(spec.question_ids, mask, strict=True)
    }
