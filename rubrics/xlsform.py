"""XLSForm import and export: the survey format of ODK, KoboToolbox and most NGO tools.

Import reads the workbook with pyxform's own readers and runs pyxform's own checks, so a malformed
form fails with pyxform's message (naming the sheet and row) as an :class:`XLSFormError`. The
parsed form is mapped onto a draft rubric; whatever the platform does not support is skipped and
listed in the import report, and the result is validated with :func:`rubrics.schema.parse_rubric`.

Mapping (import and export agree on it, so that export -> import gives back an equal rubric):

- top-level groups are domains, groups nested in them indicators (deeper groups are merged into
  their indicator); questions directly in a domain go into an indicator named after the domain,
  questions outside any group into a "General" domain. Group relevance is ANDed into each question.
  A repeat is imported like a group, its questions asked once (reported); a loop is skipped.
- what cannot be imported (notes, calculations, geo, media capture, dates, selects from files,
  constraints, ...) is reported by row and skipped; relevance that refers to a skipped question,
  or that the platform cannot evaluate, is dropped with a report line. Names that are not valid
  ids get a stable id derived from the name (reported), and references follow them.
- ``select_one`` -> single (yes_no when the choices are exactly yes/no), ``select_multiple`` ->
  multiple, ``integer``/``decimal`` -> number, ``text`` -> text, ``file`` -> evidence.
- ``label``/``hint``/``guidance_hint`` columns, one per language (``label::English (en)``: the code
  in parentheses is the language, else the name lowercased); ``required``; ``relevant``.

Extension columns (ignored by ODK and Kobo, read by the platform):

- survey: ``rubric_type`` (our question type, e.g. ``maturity``), ``weight``, ``domain`` and
  ``indicator`` (explicit placement, overriding the groups), ``combine``, ``cap``,
  ``number_scoring`` (``bands`` or ``linear``), ``score_bands`` (``0..9=1; 10..19=2``),
  ``score_linear`` (``low..high``, either side may be empty), ``allow_na``, ``allow_dk``, ``na``
  (``exclude``/``score``), ``na_score``, ``dk`` (``missing``/``score``), ``dk_score``,
  ``previous_id``, ``shared_indicator`` (the codebook indicator the question measures: its
  ``indicator:``) and ``indicator_map`` (``yes=1; no=0``; an empty value maps to null). Group
  rows take ``weight`` and ``guidance_hint`` for their domain/indicator.
- choices: ``score``. A maturity question is a ``select_one`` over its own list whose choices are
  the levels (name and ``score`` = the level, label = the descriptor).
- settings: ``form_id`` (rubric id), ``form_title``, ``version``, ``default_language``, and
  ``languages``, ``scale_min``, ``scale_max``, the missing-data columns above and ``min_coverage``.
- rubric-level lists on the choices sheet, never used by a question: ``rubric:text`` (choices
  ``title`` and ``description``, translated), ``rubric:scale`` (one choice per level) and
  ``rubric:bands`` (label, ``min``, ``max``). ``:`` cannot occur in a rubric id, so these list
  names never clash with the per-question lists (named after the question id).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, cast

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pyxform import aliases
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import (
    get_excel_column_headers,
    get_xlsform,
)

from rubrics.schema import (
    CODE_PATTERN,
    Problem,
    Question,
    Rubric,
    RubricError,
    parse_rubric,
)
from rubrics.types import TYPES

__all__ = ["ImportResult", "XLSFormError", "export_xlsform", "id_for_name", "import_xlsform"]


class XLSFormError(ValueError):
    """An XLSForm that cannot be imported; the message names the file, sheet and row."""

    def __init__(self, message: str, report: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.report = list(report)


@dataclass(frozen=True)
class ImportResult:
    """A draft rubric imported from an XLSForm, and what the import skipped or changed."""

    rubric: Rubric
    report: list[str]


# --- vocabulary shared by import and export ----------------------------------------------------

_ROW = "_evaluator_row"  # injected into each row before pyxform parses, so reports name rows
_TEXT_LIST, _SCALE_LIST, _BANDS_LIST = "rubric:text", "rubric:scale", "rubric:bands"
_GENERAL = "General"

_SELECT_ONE, _SELECT_MULTIPLE = "select one", "select all that apply"  # pyxform's internal names


def _compatible() -> dict[str, list[str]]:
    """Which of our types each XLSForm type may be declared as with the rubric_type column, from
    the type registry (the first is the default, but for select one, which looks at the
    choices)."""
    found: dict[str, list[str]] = {}
    for name, kind in TYPES.items():
        for xtype in sorted(kind.xlsform_types):
            found.setdefault(xtype, []).append(name)
    return found


_COMPATIBLE = _compatible()

# Missing-data policy fields and their (shorter) column names.
_POLICY_COLUMNS = {
    "allow_not_applicable": "allow_na",
    "allow_dont_know": "allow_dk",
    "not_applicable": "na",
    "not_applicable_score": "na_score",
    "dont_know": "dk",
    "dont_know_score": "dk_score",
}
_POLICY_CHOICES = {"not_applicable": ("exclude", "score"), "dont_know": ("missing", "score")}

# Names used in `label::Name (code)` headers on export; other codes are written `code (code)`.
_LANGUAGE_NAMES = {
    "am": "Amharic", "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "bs": "Bosnian",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "fa": "Persian",
    "fr": "French", "ha": "Hausa", "hi": "Hindi", "hr": "Croatian", "it": "Italian",
    "ku": "Kurdish", "mk": "Macedonian", "nl": "Dutch", "pl": "Polish", "ps": "Pashto",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "so": "Somali", "sq": "Albanian",
    "sr": "Serbian", "sw": "Swahili", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "zh": "Chinese",
}  # fmt: skip

# pyxform turns typographic quotes into straight ones in every cell. Labels keep them verbatim:
# they are swapped for private-use characters before pyxform reads the rows and swapped back in
# texts afterwards (expressions get the straight quotes pyxform would have given them).
_SMART_QUOTES = "\u2018\u2019\u201c\u201d"
_PLACEHOLDERS = "\uf8f0\uf8f1\uf8f2\uf8f3"
_PROTECT = str.maketrans(_SMART_QUOTES, _PLACEHOLDERS)
_RESTORE = str.maketrans(_PLACEHOLDERS, _SMART_QUOTES)
_STRAIGHTEN = str.maketrans(_PLACEHOLDERS, "''\"\"")

_ESCAPED = "$\u2060{"  # "${" that is text, not a reference (see _escape_references)
_ESCAPABLE_RE = re.compile(r"\$\{([^}]*)\}?")
_CODE_RE = re.compile(CODE_PATTERN)
_REFERENCE_RE = re.compile(r"\$\{([^}]*)\}")
_LANGUAGE_CODE_RE = re.compile(r"\(([^()]+)\)\s*$")
_MAX_OPTIONS = 52


# --- import ------------------------------------------------------------------------------------


def import_xlsform(
    source: str | PathLike[str] | bytes, *, filename: str | None = None
) -> ImportResult:
    """Import an XLSForm (.xlsx or .xls) as a draft rubric.

    ``source`` is a path or the file's bytes; ``filename`` names the upload in messages and, when
    the form has no ``form_id``, gives the rubric id. The file type is read from the content.
    Raises :class:`XLSFormError` when pyxform rejects the form or nothing in it can be imported.
    """
    if isinstance(source, bytes):
        data, name = source, filename or "form.xlsx"
    else:
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise XLSFormError(f"{path}: cannot be read: {exc.strerror or exc}") from None
        name = filename or path.name
    suffix = _file_type(data, name)
    form, warnings, raw_types = _read_form(data, suffix, name)
    importer = _Importer(form, raw_types, name)
    rubric = importer.run()
    report = importer.report + [f"pyxform: {_restore(w)}" for w in warnings]
    return ImportResult(rubric=rubric, report=list(dict.fromkeys(report)))


def _file_type(data: bytes, name: str) -> str:
    suffix = Path(name).suffix.lower()
    if data[:4] == b"PK\x03\x04":  # a zip archive: .xlsx / .xlsm
        return ".xlsm" if suffix == ".xlsm" else ".xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # an OLE2 compound file: .xls
        return ".xls"
    raise XLSFormError(f"{name}: not an Excel workbook (.xlsx or .xls)")


def _read_form(
    data: bytes, suffix: str, name: str
) -> tuple[dict[str, Any], list[str], dict[int, str]]:
    """Parse with pyxform: its readers, its header handling, its checks."""
    # pyxform and the spreadsheet libraries below it raise more than PyXFormError on damaged
    # files (KeyError, IndexError, xlrd and zip errors): an upload must never end in a traceback.
    try:
        definition = get_xlsform(xlsform=data, file_type=suffix)
    except Exception as exc:  # see above
        raise XLSFormError(f"{name}: {_locate(exc, data, suffix)}") from None
    raw_types = _prepare(definition)
    warnings: list[str] = []
    try:
        form = workbook_to_json(
            workbook_dict=definition,
            form_name="data",
            fallback_form_name=Path(name).stem or None,
            warnings=warnings,
        )
    except Exception as exc:  # see above
        raise XLSFormError(f"{name}: {_locate(exc, data, suffix)}") from None
    return cast(dict[str, Any], form), warnings, raw_types


def _locate(exc: Exception, data: bytes, suffix: str) -> str:
    """pyxform's message, with the sheet and row added where pyxform leaves them out."""
    message = _restore(str(exc)).strip() or type(exc).__name__
    if not isinstance(exc, PyXFormError):
        return f"cannot be read as an {suffix} workbook, is it damaged? ({message})"
    if message.startswith("Argument 'definition' was not recognized"):  # pyxform's read failure
        return f"cannot be read as an {suffix} workbook, is it damaged?"
    if message.startswith("Duplicate column header"):
        sheet = _sheet_with_bad_header(data, suffix)
        where = f"sheet '{sheet}', row 1" if sheet else "row 1"
        return f"{where}: {message}"
    row = re.match(r"\[row : (\d+)\]\s*", message)
    if row and "sheet" not in message:  # pyxform's survey-sheet messages omit the sheet
        return f"sheet 'survey', row {row.group(1)}: {message[row.end() :]}"
    if row:
        return f"row {row.group(1)}: {message[row.end() :]}"
    return message


def _sheet_with_bad_header(data: bytes, suffix: str) -> str | None:
    # pyxform's header check names the column but not the sheet: run it again on each sheet.
    for sheet, first_row in _first_rows(data, suffix):
        try:
            get_excel_column_headers(first_row=first_row)
        except PyXFormError:
            return sheet
    return None


def _first_rows(data: bytes, suffix: str) -> list[tuple[str, list[Any]]]:
    """Each sheet's name and header row, read with the libraries pyxform reads with."""
    if suffix == ".xls":
        import xlrd  # only on this rare path

        book = xlrd.open_workbook(file_contents=data)
        return [(s.name, s.row_values(0) if s.nrows else []) for s in book.sheets()]
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return [
            (sheet.title, list(next(sheet.iter_rows(max_row=1, values_only=True), ())))
            for sheet in book.worksheets
        ]
    finally:
        book.close()


def _prepare(definition: Any) -> dict[int, str]:
    """Protect typographic quotes and number the survey and choices rows; return raw types."""
    raw_types: dict[int, str] = {}
    for sheet in ("survey", "choices", "settings"):
        rows = getattr(definition, sheet)
        if not rows:
            continue
        prepared = []
        for number, row in enumerate(rows, start=2):
            new = {k: v.translate(_PROTECT) if isinstance(v, str) else v for k, v in row.items()}
            if new and sheet != "settings":
                new[_ROW] = str(number)
            if sheet == "survey":
                kind = next((v for k, v in new.items() if k.strip().lower() == "type"), None)
                if isinstance(kind, str):
                    raw_types[number] = _restore(kind)
            prepared.append(new)
        setattr(definition, sheet, prepared)
        header = getattr(definition, f"{sheet}_header")
        if header and sheet != "settings":
            header[0][_ROW] = None
    return raw_types


def _restore(text: str) -> str:
    return text.translate(_RESTORE)


@dataclass
class _Pending:
    """A question on its way into the rubric."""

    row: int | None
    name: str
    fields: dict[str, Any]
    relevance: list[tuple[str, int | None, str]]  # (expression, row, whose) outermost first
    path: tuple[str, ...] = ()  # names of the groups holding it: domain, indicator
    domain: str | None = None  # the extension columns
    indicator: str | None = None
    option_names: dict[str, str] = field(default_factory=dict)  # XLSForm name -> option id


@dataclass
class _Section:
    """A domain or an indicator being assembled."""

    name: str
    label: dict[str, str]
    row: int | None
    guidance: dict[str, str] | None = None
    weight: float | None = None
    implicit: bool = False
    used: bool = False
    indicators: dict[str, _Section] = field(default_factory=dict)
    questions: list[_Pending] = field(default_factory=list)
    id: str = ""


class _Importer:
    """Walks pyxform's parsed form and assembles the rubric's data, reporting as it goes."""

    def __init__(self, form: dict[str, Any], raw_types: dict[int, str], filename: str) -> None:
        self.form = form
        self.raw_types = raw_types
        self.filename = filename
        self.stem = Path(filename).stem or "form"
        self.report: list[str] = []
        self.languages: dict[str, None] = {}  # in order of appearance
        self.default = self._default_language()
        self.groups: dict[tuple[str, ...], _Section] = {}  # by path of group names
        self.pending: list[_Pending] = []
        self.domains: dict[str | None, _Section] = {}  # in order of their first question
        self.rows: dict[str, int | None] = {}  # question id -> row
        self.renamed_options: dict[str, dict[str, str]] = {}  # question id -> name -> option id

    # -- languages and texts -------------------------------------------------------------------
    @staticmethod
    def language_code(name: str) -> str:
        match = _LANGUAGE_CODE_RE.search(name)
        return match.group(1).strip() if match else name.strip().lower()

    def _default_language(self) -> str:
        declared = self.form.get("default_language")
        if isinstance(declared, str) and declared and declared != "default":
            return self.language_code(declared)
        for key in _label_languages(self.form):
            if key != "default":
                return self.language_code(key)
        return "en"

    def text(self, value: Any) -> dict[str, str] | None:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = {"default": str(value)}
        if not isinstance(value, Mapping):
            return None
        out: dict[str, str] = {}
        explicit: set[str] = set()
        for key, raw in value.items():
            if not isinstance(raw, str) or not raw.strip():
                continue
            code = self.default if key == "default" else self.language_code(str(key))
            if code in explicit and key == "default":
                continue  # a column tagged with the default language wins over an untagged one
            out[code] = _restore(raw).replace(_ESCAPED, "${").strip()
            if key != "default":
                explicit.add(code)
            self.languages.setdefault(code)
        return out or None

    # -- reporting ----------------------------------------------------------------------------
    def note(self, row: int | None, message: str) -> None:
        self.report.append(f"row {row}: {message}" if row is not None else message)

    def type_name(self, element: Mapping[str, Any]) -> str:
        raw = self.raw_types.get(_row(element) or -1) or str(element.get("type"))
        return " ".join(raw.split())

    # -- the walk -------------------------------------------------------------------------------
    def run(self) -> Rubric:
        if self.form.get("entities") or _has_entities(self.form):
            self.report.append("sheet 'entities': entities are not supported, ignored")
        self.walk(self.form.get("children", []), [])
        for pending in self.pending:
            self.place(pending)
        for section in self.groups.values():
            if not section.used:
                self.note(section.row, f"group '{section.name}' has no supported question, skipped")
        data = self.assemble()
        return self.validate(data)

    def walk(self, children: Sequence[Mapping[str, Any]], groups: list[Mapping[str, Any]]) -> None:
        for element in children:
            kind = element.get("type")
            row = _row(element)
            if row is None:
                # Made by pyxform, not the author: the meta block, table-list headers, the text
                # question of "or specify other" (reported with its select).
                continue
            if kind == "group":
                self.enter(element, groups)
                self.walk(element.get("children", []), [*groups, element])
            elif kind == "repeat":
                # An assessment answers each question once: the repeat's questions are kept (the
                # form's substance) and asked once, as if the repeat were a group.
                self.note(
                    row,
                    f"type '{self.type_name(element)}' is not supported (repeats): the questions "
                    f"of '{element.get('name')}' are imported once, as a group",
                )
                self.enter(element, groups)
                self.walk(element.get("children", []), [*groups, element])
            elif kind == "loop":
                names = list(_descendant_names(element))
                self.note(
                    row,
                    f"type '{self.type_name(element)}' is not supported (loops), skipped with "
                    f"its {len(names)} questions",
                )
            else:
                self.question(element, groups)

    def question(self, element: Mapping[str, Any], groups: list[Mapping[str, Any]]) -> None:
        row, name = _row(element), str(element.get("name"))
        xtype = str(element.get("type"))
        columns = _columns(element)
        bind = element.get("bind") or {}
        if xtype not in _COMPATIBLE:
            self.note(row, f"type '{self.type_name(element)}' is not supported, skipped")
            return
        if xtype in (_SELECT_ONE, _SELECT_MULTIPLE) and "choices" not in element:
            self.note(
                row,
                f"type '{self.type_name(element)}' is not supported (choices kept in another "
                "file), skipped",
            )
            return
        if aliases.yes_no.get(str(bind.get("readonly", "")).strip()):
            self.note(row, f"'{name}' is read-only, skipped")
            return
        declared = _text_value(columns.get("rubric_type"))
        kind = self.kind(element, xtype, declared, row)
        fields: dict[str, Any] = {"type": kind}
        fields["label"] = self.text(element.get("label"))
        if fields["label"] is None:
            fields["label"] = {self.default: name}
            self.languages.setdefault(self.default)
            self.note(row, f"'{name}' has no label, its name is used")
        for key, column in (("hint", "hint"), ("guidance", "guidance_hint")):
            text = self.text(element.get(column))
            if text:
                fields[key] = text
        required = bind.get("required")
        if required is not None:
            flag = aliases.yes_no.get(str(required).strip())
            if flag is None:
                self.note(row, f"required '{required}' is not supported (yes or no), ignored")
            else:
                fields["required"] = flag
        self.number_fields(fields, columns, row, "weight", positive=True)
        if element.get("choice_filter"):
            self.note(row, "choice_filter is not supported: every choice is offered")
        for what, value in (
            ("constraint", bind.get("constraint")),
            ("default", element.get("default")),
        ):
            if value:
                self.note(row, f"{what} '{_text_value(value)}' is not supported, ignored")
        if element.get("media"):
            self.note(row, "media (images, audio, video) are not supported, ignored")
        pending = _Pending(row, name, fields, self.relevance(groups, element))
        if (TYPES[kind].has_options or TYPES[kind].has_levels) and not self.choices(
            pending, element
        ):
            return
        combine = _text_value(columns.get("combine"))
        if combine in ("sum", "max", "mean"):
            fields["combine"] = combine
        elif combine is not None:
            self.note(row, f"combine '{combine}' is not one of sum, max, mean: ignored")
        self.number_fields(fields, columns, row, "cap")
        if TYPES[kind].has_number_scoring:
            self.number_scoring(fields, columns, row)
        policy = self.policy(columns, row)
        if policy:
            fields["missing"] = policy
        previous = _text_value(columns.get("previous_id"))
        if previous:
            fields["previous_id"] = self.code(previous, row, "previous_id")
        shared = _text_value(columns.get("shared_indicator"))
        if shared:
            fields["indicator"] = self.code(shared, row, "shared_indicator")
        mapping = _text_value(columns.get("indicator_map"))
        if mapping:
            parsed = _parse_indicator_map(mapping)
            if parsed is None:
                self.note(row, f"indicator_map '{mapping}' is not like 'yes=1; no=0': ignored")
            else:
                fields["indicator_map"] = parsed
        pending.path = tuple(str(g.get("name")) for g in groups[:2])
        pending.domain = _text_value(columns.get("domain"))
        pending.indicator = _text_value(columns.get("indicator"))
        self.pending.append(pending)

    def kind(
        self, element: Mapping[str, Any], xtype: str, declared: str | None, row: int | None
    ) -> str:
        if declared is not None:
            if declared in _COMPATIBLE[xtype]:
                return declared
            self.note(
                row,
                f"rubric_type '{declared}' does not fit type '{self.type_name(element)}', ignored",
            )
        if xtype == _SELECT_ONE:
            names = sorted(str(c.get("name")).lower() for c in _authored(element["choices"]))
            return "yes_no" if names == ["no", "yes"] else "single"
        if xtype == _SELECT_MULTIPLE:
            return "multiple"
        return _COMPATIBLE[xtype][0]

    def choices(self, pending: _Pending, element: Mapping[str, Any]) -> bool:
        """Options (or maturity levels) from the question's choices; False if none can be."""
        row, fields = pending.row, pending.fields
        every = element["choices"]
        authored = _authored(every)
        if len(authored) < len(every):
            self.note(
                row,
                "'or specify other' is not supported: the 'other' choice and its text question "
                "are skipped",
            )
        if fields["type"] == "maturity":
            levels = self.levels(authored, row)
            if levels is not None:
                fields["levels"] = levels
                return True
            fields["type"] = "single"
        options: list[dict[str, Any]] = []
        for choice in authored:
            crow = _row(choice)
            raw = str(choice.get("name"))
            option_id = self.code(raw, crow, "choice", sheet="choices", quiet=True)
            if option_id != raw:
                self.report.append(
                    f"choices row {crow}: choice name '{raw}' is not a valid id, "
                    f"imported as '{option_id}'"
                )
            if any(o["id"] == option_id for o in options):
                self.report.append(
                    f"choices row {crow}: duplicate choice '{raw}' in list "
                    f"'{element.get('list_name')}', skipped"
                )
                continue
            pending.option_names[raw] = option_id
            option: dict[str, Any] = {"id": option_id}
            option["label"] = self.text(choice.get("label")) or {self.default: raw}
            score = self.number(_columns(choice).get("score"), crow, "score", sheet="choices")
            option["score"] = score
            options.append(option)
        if fields["type"] in ("single", "yes_no") and len(options) == 1:
            fields["type"] = "multiple"
            self.note(row, "a select_one with a single choice is imported as multiple (a tick box)")
        if fields["type"] == "multiple" and len(options) > _MAX_OPTIONS:
            self.note(row, f"more than {_MAX_OPTIONS} choices, skipped")
            return False
        if not options:
            self.note(row, "no choices, skipped")
            return False
        fields["options"] = options
        return True

    def levels(
        self, choices: Sequence[Mapping[str, Any]], row: int | None
    ) -> list[dict[str, Any]] | None:
        levels = []
        for choice in choices:
            raw = _columns(choice).get("score", choice.get("name"))
            try:
                value = float(str(raw))
            except ValueError:
                value = math.nan
            if not value.is_integer():
                self.note(row, f"maturity level '{raw}' is not a whole number: imported as single")
                return None
            label = self.text(choice.get("label")) or {self.default: str(choice.get("name"))}
            levels.append({"level": int(value), "descriptor": label})
        return levels

    def relevance(
        self, groups: Sequence[Mapping[str, Any]], element: Mapping[str, Any]
    ) -> list[tuple[str, int | None, str]]:
        parts = []
        for owner in [*groups, element]:
            expression = (owner.get("bind") or {}).get("relevant")
            if isinstance(expression, str) and expression.strip():
                parts.append((expression.strip(), _row(owner), str(owner.get("name"))))
        return parts

    def number_fields(
        self,
        fields: dict[str, Any],
        columns: Mapping[str, Any],
        row: int | None,
        name: str,
        *,
        positive: bool = False,
    ) -> None:
        value = self.number(columns.get(name), row, name)
        if value is None:
            return
        if positive and not (math.isfinite(value) and value > 0):
            self.note(row, f"{name} {value:g} must be above 0, ignored")
            return
        fields[name] = value

    def number(self, raw: Any, row: int | None, name: str, *, sheet: str = "") -> float | None:
        text = _text_value(raw)
        if text is None:
            return None
        try:
            return float(text)
        except ValueError:
            where = f"{sheet} row {row}" if sheet else f"row {row}"
            self.report.append(f"{where}: {name} '{text}' is not a number, ignored")
            return None

    def number_scoring(
        self, fields: dict[str, Any], columns: Mapping[str, Any], row: int | None
    ) -> None:
        method = _text_value(columns.get("number_scoring"))
        bands_text = _text_value(columns.get("score_bands"))
        linear_text = _text_value(columns.get("score_linear"))
        if method is None:
            method = "bands" if bands_text else "linear" if linear_text else None
        if method is None:
            return
        if method not in ("bands", "linear"):
            self.note(row, f"number_scoring '{method}' is not bands or linear, ignored")
            return
        scoring: dict[str, Any] = {"method": method}
        try:
            if bands_text:
                scoring["bands"] = [
                    {"min": lo, "max": hi, "score": score}
                    for lo, hi, score in _parse_bands(bands_text)
                ]
            if linear_text:
                low, high = _parse_range(linear_text)
                scoring.update({k: v for k, v in (("low", low), ("high", high)) if v is not None})
        except ValueError as exc:
            self.note(row, f"number scoring not imported: {exc}")
            return
        fields["number"] = scoring

    def policy(
        self, columns: Mapping[str, Any], row: int | None, *, where: str = ""
    ) -> dict[str, Any]:
        policy: dict[str, Any] = {}
        prefix = where or (f"row {row}" if row is not None else "form")
        for key, column in _POLICY_COLUMNS.items():
            value = _text_value(columns.get(column))
            if value is None:
                continue
            if key.startswith("allow_"):
                flag = aliases.yes_no.get(value)
                if flag is None:
                    self.report.append(f"{prefix}: {column} '{value}' is not yes or no, ignored")
                else:
                    policy[key] = flag
            elif key in _POLICY_CHOICES:
                if value in _POLICY_CHOICES[key]:
                    policy[key] = value
                else:
                    allowed = " or ".join(_POLICY_CHOICES[key])
                    self.report.append(f"{prefix}: {column} '{value}' is not {allowed}, ignored")
            else:
                try:
                    policy[key] = float(value)
                except ValueError:
                    self.report.append(f"{prefix}: {column} '{value}' is not a number, ignored")
        return policy

    # -- placement ------------------------------------------------------------------------------
    def enter(self, group: Mapping[str, Any], groups: Sequence[Mapping[str, Any]]) -> None:
        """Note a group as a possible domain (top level) or indicator (nested once)."""
        path = tuple(str(g.get("name")) for g in [*groups, group])
        if len(path) > 2:
            self.note(
                _row(group),
                f"group '{path[-1]}' is nested more than two deep: its questions go into "
                f"indicator '{path[1]}'",
            )
            return
        label = self.text(group.get("label"))
        if label is None:
            label = {self.default: path[-1]}
            self.languages.setdefault(self.default)
        weights: dict[str, Any] = {}
        self.number_fields(weights, _columns(group), _row(group), "weight", positive=True)
        self.groups[path] = _Section(
            name=path[-1],
            label=label,
            row=_row(group),
            guidance=self.text(group.get("guidance_hint")),
            weight=weights.get("weight"),
        )

    def place(self, pending: _Pending) -> None:
        """Put a question into its domain and indicator: the extension columns, else its groups."""
        path = pending.path
        domain_key = pending.domain or (path[0] if path else None)
        if pending.indicator is not None:
            indicator_key = pending.indicator
            if pending.domain is None and (domain_key or "", indicator_key) not in self.groups:
                # the domain of the group with that name, if there is one
                domain_key = next(
                    (p[0] for p in self.groups if len(p) == 2 and p[1] == indicator_key),
                    domain_key,
                )
        elif len(path) == 2 and domain_key == path[0]:
            indicator_key = path[1]
        else:
            indicator_key = ""  # the domain's own questions
        if domain_key not in self.domains:
            self.domains[domain_key] = self.new_section((domain_key,) if domain_key else ())
        domain = self.domains[domain_key]
        if indicator_key not in domain.indicators:
            if indicator_key:
                indicator = self.new_section((domain_key or "", indicator_key))
            else:
                indicator = _Section(name="", label=dict(domain.label), row=None, implicit=True)
            domain.indicators[indicator_key] = indicator
        domain.indicators[indicator_key].questions.append(pending)

    def new_section(self, path: tuple[str, ...]) -> _Section:
        if path in self.groups:
            section = self.groups[path]
            section.used = True
            return section
        self.languages.setdefault(self.default)
        name = path[-1] if path else _GENERAL
        return _Section(name=name, label={self.default: name}, row=None, implicit=not path)

    # -- ids ------------------------------------------------------------------------------------
    def code(
        self, name: str, row: int | None, what: str, *, sheet: str = "", quiet: bool = False
    ) -> str:
        code = _to_code(name)
        if code != name and not quiet:
            where = f"{sheet} row {row}" if sheet else f"row {row}" if row is not None else "form"
            self.report.append(f"{where}: {what} '{name}' is not a valid id, imported as '{code}'")
        return code

    def assemble(self) -> dict[str, Any]:
        used: set[str] = set()

        def unique(code: str, row: int | None, what: str) -> str:
            candidate, n = code, 1
            while candidate in used:
                n += 1
                candidate = f"{code[:60]}_{n}"
            if candidate != code:
                self.note(row, f"{what} id '{code}' is already taken, imported as '{candidate}'")
            used.add(candidate)
            return candidate

        pendings = [
            q
            for domain in self.domains.values()
            for indicator in domain.indicators.values()
            for q in indicator.questions
        ]
        ids: dict[str, str] = {}
        for q in pendings:
            q.fields["id"] = unique(self.code(q.name, q.row, "name"), q.row, "question")
            ids.setdefault(q.name, q.fields["id"])
            self.rows[q.fields["id"]] = q.row
        self.renamed_options = {
            q.fields["id"]: q.option_names
            for q in pendings
            if any(name != option_id for name, option_id in q.option_names.items())
        }
        domains = []
        for domain in self.domains.values():
            indicators = list(domain.indicators.values())
            base = "general" if domain.name == _GENERAL and domain.implicit else domain.name
            domain.id = unique(self.code(base, domain.row, "group name"), domain.row, "domain")
            out_indicators = []
            for indicator in indicators:
                base = f"{domain.id}_main" if indicator.implicit else indicator.name
                code = self.code(base, indicator.row, "group name")
                indicator.id = unique(code, indicator.row, "indicator")
                out_indicators.append(
                    _section_data(indicator, [self.finish(q, ids) for q in indicator.questions])
                )
            domains.append(_section_data(domain, out_indicators, indicators=True))
        if not domains:
            raise XLSFormError(
                f"{self.filename}: the form has no question the platform supports", self.report
            )
        rubric_id = _text_value(self.form.get("id_string")) or self.stem
        data: dict[str, Any] = {
            "id": unique(self.code(rubric_id, None, "form_id"), None, "form"),
            "domains": domains,
        }
        self.rubric_fields(data)
        return data

    def finish(self, pending: _Pending, ids: Mapping[str, str]) -> dict[str, Any]:
        """The question's data, with its relevance resolved against the imported ids."""
        parts = []
        for expression, row, owner in pending.relevance:
            missing = [r for r in _REFERENCE_RE.findall(expression) if r not in ids]
            if missing:
                whose = "" if owner == pending.name else f"group '{owner}' "
                self.note(
                    row,
                    f"relevant of {whose or repr(owner) + ' '}refers to '{missing[0]}', which is "
                    f"not imported: dropped{' for its questions' if whose else ''}",
                )
                continue
            parts.append(expression.translate(_STRAIGHTEN))
        if parts:
            joined = parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)
            pending.fields["relevant"] = _rewrite_references(joined, ids, self.renamed_options)
        return pending.fields

    def rubric_fields(self, data: dict[str, Any]) -> None:
        settings = _columns(self.form)
        lists = self.form.get("choices") or {}
        texts = {str(c.get("name")): c for c in lists.get(_TEXT_LIST, [])}
        title = self.text(texts["title"].get("label")) if "title" in texts else None
        if title is None:
            title = self.text(_text_value(self.form.get("title")) or data["id"])
        data["title"] = title
        if "description" in texts:
            description = self.text(texts["description"].get("label"))
            if description:
                data["description"] = description
        version = _text_value(self.form.get("version"))
        if version:
            data["version"] = version
        scale: dict[str, Any] = {}
        for key in ("min", "max"):
            value = self.number(settings.get(f"scale_{key}"), None, f"scale_{key}")
            if value is not None:
                if value.is_integer():
                    scale[key] = int(value)
                else:
                    self.report.append(f"settings: scale_{key} {value:g} is not whole, ignored")
        levels: list[dict[str, Any]] = []
        for choice in lists.get(_SCALE_LIST, []):
            level = self.number(choice.get("name"), _row(choice), "level", sheet="choices")
            if level is not None and level.is_integer():
                label = self.text(choice.get("label")) or {self.default: str(int(level))}
                levels.append({"level": int(level), "label": label})
        if levels:
            scale["levels"] = levels
            scale.setdefault("min", min(lv["level"] for lv in levels))
            scale.setdefault("max", max(lv["level"] for lv in levels))
        if "min" not in scale and "max" not in scale:
            self.fit_scale(data, scale)
        if scale:
            data["scale"] = scale
        bands = []
        for choice in lists.get(_BANDS_LIST, []):
            columns = _columns(choice)
            low = self.number(columns.get("min"), _row(choice), "min", sheet="choices")
            high = self.number(columns.get("max"), _row(choice), "max", sheet="choices")
            label = self.text(choice.get("label")) or {self.default: str(choice.get("name"))}
            if low is not None and high is not None:
                bands.append({"label": label, "min": low, "max": high})
        if bands:
            data["bands"] = bands
        policy = self.policy(settings, None, where="settings")
        coverage = self.number(settings.get("min_coverage"), None, "min_coverage")
        if coverage is not None:
            policy["min_coverage"] = coverage
        if policy:
            data["missing"] = policy
        declared = _text_value(settings.get("languages"))
        languages = declared.replace(",", " ").split() if declared else list(self.languages)
        if self.default not in languages:
            languages.append(self.default)
        data["languages"] = languages
        data["default_language"] = self.default

    def fit_scale(self, data: dict[str, Any], scale: dict[str, Any]) -> None:
        """Widen the default 1..4 scale to the scores the form uses (it declares no scale)."""
        scores = [s for s in _scores(data) if math.isfinite(s)]
        if not scores:
            return
        low, high = min(1, math.floor(min(scores))), max(4, math.ceil(max(scores)))
        if (low, high) != (1, 4):
            scale.update(min=low, max=high)
            self.report.append(f"settings: the scale is {low}..{high} to fit the form's scores")

    # -- validation -----------------------------------------------------------------------------
    def validate(self, data: dict[str, Any]) -> Rubric:
        filename = self.filename
        for _ in range(8):  # each round fixes every problem found, most forms need none
            try:
                return parse_rubric(data, source=filename)
            except RubricError as exc:
                for problem in exc.problems:
                    self.fix(data, problem)
                _prune(data)
                if not data["domains"]:
                    raise XLSFormError(
                        f"{filename}: the form has no question the platform supports", self.report
                    ) from None
        raise XLSFormError(f"{filename}: the imported rubric does not validate", self.report)

    def fix(self, data: dict[str, Any], problem: Problem) -> None:
        path = problem.path
        if (
            len(path) >= 6
            and path[0] == "domains"
            and path[2] == "indicators"
            and path[4] == "questions"
        ):
            question = data["domains"][path[1]]["indicators"][path[3]]["questions"][path[5]]
            self.fix_question(question, path[6:], problem.message)
            return
        if path[:1] == ("domains",) and path[-1] == "weight" and len(path) in (3, 5):
            section = data["domains"][path[1]]
            if len(path) == 5:
                section = section["indicators"][path[3]]
            self.report.append(f"{section['id']}: weight dropped: {problem.message}")
            section.pop("weight", None)
            return
        head = path[0] if path else None
        if head in ("bands", "missing", "scale"):
            data.pop(str(head), None)
            self.report.append(f"settings: {problem.dotted} {problem.message}: the default is used")
            return
        if head == "default_language":
            data["languages"].append(data["default_language"])
            return
        if head in ("id", "title"):
            data[str(head)] = _to_code(self.stem) if head == "id" else {self.default: self.stem}
            return
        raise XLSFormError(
            f"{self.filename}: the imported rubric does not validate: {problem.dotted}: "
            f"{problem.message}",
            self.report,
        )

    def fix_question(
        self, question: dict[str, Any], rest: tuple[str | int, ...], message: str
    ) -> None:
        where = self.rows.get(question.get("id", ""))
        qid = question.get("id")
        part = rest[0] if rest else None
        if part == "relevant":
            self.note(where, f"relevant of '{qid}' dropped: {message}")
            question.pop("relevant", None)
        elif part == "options" and ("score" in rest or "score" in message):
            self.note(where, f"scores of '{qid}' dropped: {message}")
            for option in question.get("options", []):
                option["score"] = None
        elif part == "levels" and question.get("type") == "maturity":
            self.note(where, f"'{qid}' imported as single, not maturity: {message}")
            question["type"] = "single"
            question["options"] = [
                {"id": f"level_{lv['level']}", "label": lv["descriptor"], "score": lv["level"]}
                for lv in question.pop("levels")
            ]
        elif part in (
            "number", "cap", "missing", "weight", "previous_id", "hint", "guidance",
            "indicator", "indicator_map",
        ):  # fmt: skip
            self.note(where, f"{part} of '{qid}' dropped: {message}")
            question.pop(str(part), None)
        else:
            self.note(where, f"'{qid}' skipped: {'.'.join(map(str, rest))} {message}".strip())
            question["_drop"] = True


def _parse_indicator_map(text: str) -> dict[str, float | None] | None:
    """``yes=1; no=0`` (an empty value: null) as a mapping; None when it does not read."""
    found: dict[str, float | None] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            return None
        try:
            found[key.strip()] = float(value) if value.strip() else None
        except ValueError:
            return None
    return found or None


def _row(element: Mapping[str, Any]) -> int | None:
    value = element.get(_ROW)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _columns(element: Mapping[str, Any]) -> dict[str, Any]:
    """Extension columns by normalised name (pyxform keeps unknown headers as written)."""
    return {"_".join(str(k).split()).lower(): v for k, v in element.items()}


def _text_value(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    text = _restore(str(value)).strip()
    return text or None


def _authored(choices: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The choices written on the choices sheet (pyxform adds 'other' for or_other)."""
    return [c for c in choices if _row(c) is not None]


def _descendant_names(element: Mapping[str, Any]) -> Iterator[str]:
    for child in element.get("children", []):
        if child.get("type") not in ("group", "repeat", "loop") and _row(child) is not None:
            yield str(child.get("name"))
        yield from _descendant_names(child)


def _has_entities(form: Mapping[str, Any]) -> bool:
    return any(
        child.get("type") == "entity" or _has_entities(child)
        for child in form.get("children", [])
        if isinstance(child, Mapping)
    )


def _label_languages(node: Any) -> Iterator[str]:
    """Language keys of label/hint texts, in the order pyxform found them."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("label", "hint", "guidance_hint") and isinstance(value, Mapping):
                yield from (str(k) for k in value)
            elif isinstance(value, Mapping | list):
                yield from _label_languages(value)
    elif isinstance(node, list):
        for item in node:
            yield from _label_languages(item)


def id_for_name(name: str) -> str:
    """The id an XLSForm ``name`` (of a question or a choice) becomes on import: how data
    exported by KoboToolbox or ODK, which carries the names, finds the rubric's questions and
    options again (issue 14)."""
    return _to_code(name)


def _to_code(name: str) -> str:
    """``name`` as an id matching CODE_PATTERN; the same name always gives the same id."""
    name = name.strip()
    if _CODE_RE.match(name) and len(name) <= 64:
        return name
    if _CODE_RE.match(f"_{name}") and len(name) < 64:
        return f"_{name}"  # e.g. a choice named "1"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", ascii_name).strip("_.-")[:50]
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:6]
    code = f"{base}_{digest}" if base else f"x_{digest}"
    return code if _CODE_RE.match(code) else f"_{code}"


def _rewrite_references(
    expression: str, ids: Mapping[str, str], options: Mapping[str, Mapping[str, str]]
) -> str:
    """Point ``${name}`` at the imported ids, and compared choice values at the option ids."""
    expression = _REFERENCE_RE.sub(lambda m: "${" + ids[m.group(1)] + "}", expression)
    if not options:
        return expression

    def option(match: re.Match[str]) -> str:
        renamed = options.get(match.group("q"), {})
        value = renamed.get(match.group("v"), match.group("v"))
        return f"{match.group('head')}{match.group('quote')}{value}{match.group('quote')}"

    patterns = (
        r"(?P<head>\$\{(?P<q>[^}]*)\}\s*!?=\s*)(?P<quote>['\"])(?P<v>[^'\"]*)(?P=quote)",
        r"(?P<head>selected\(\s*\$\{(?P<q>[^}]*)\}\s*,\s*)(?P<quote>['\"])(?P<v>[^'\"]*)(?P=quote)",
    )
    for pattern in patterns:
        expression = re.sub(pattern, option, expression)
    return expression


def _parse_range(text: str) -> tuple[float | None, float | None]:
    low, sep, high = text.partition("..")
    if not sep:
        raise ValueError(f"'{text}' is not a range like 0..10")
    return (float(low) if low.strip() else None, float(high) if high.strip() else None)


def _parse_bands(text: str) -> list[tuple[float, float, float]]:
    bands = []
    for part in re.split(r"[;\n]", text):
        if not part.strip():
            continue
        span, sep, score = part.rpartition("=")
        low, high = _parse_range(span) if sep else (None, None)
        if low is None or high is None:
            raise ValueError(f"'{part.strip()}' is not a band like 0..10=2")
        bands.append((low, high, float(score)))
    return bands


def _scores(data: Mapping[str, Any]) -> Iterator[float]:
    for domain in data["domains"]:
        for indicator in domain["indicators"]:
            for q in indicator["questions"]:
                yield from (o["score"] for o in q.get("options", []) if o["score"] is not None)
                yield from (lv["level"] for lv in q.get("levels", []))
                yield from (b["score"] for b in (q.get("number") or {}).get("bands", []))
                policy = q.get("missing") or {}
                yield from (
                    policy[k] for k in ("not_applicable_score", "dont_know_score") if k in policy
                )


def _section_data(
    section: _Section, children: list[dict[str, Any]], *, indicators: bool = False
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": section.id, "label": section.label}
    if section.guidance:
        data["guidance"] = section.guidance
    if section.weight is not None:
        data["weight"] = section.weight
    data["indicators" if indicators else "questions"] = children
    return data


def _prune(data: dict[str, Any]) -> None:
    for domain in data["domains"]:
        for indicator in domain["indicators"]:
            indicator["questions"] = [q for q in indicator["questions"] if not q.get("_drop")]
        domain["indicators"] = [i for i in domain["indicators"] if i["questions"]]
    data["domains"] = [d for d in data["domains"] if d["indicators"]]


# --- export ------------------------------------------------------------------------------------


def export_xlsform(rubric: Rubric) -> bytes:
    """``rubric`` as an XLSForm workbook (.xlsx): pyxform converts it, and it imports back equal."""
    languages = _export_languages(rubric)
    headers = {lang: _language_header(lang) for lang in languages}
    questions = [q for _, _, q in rubric.questions()]

    def used(test: Any) -> bool:
        return any(test(q) for q in questions)

    text_columns = [("label", "label")]
    if used(lambda q: q.hint):
        text_columns.append(("hint", "hint"))
    if (
        used(lambda q: q.guidance)
        or any(d.guidance for d in rubric.domains)
        or any(i.guidance for d in rubric.domains for i in d.indicators)
    ):
        text_columns.append(("guidance", "guidance_hint"))
    survey_columns = ["type", "name"]
    survey_columns += [
        f"{column}::{headers[lang]}" for _, column in text_columns for lang in languages
    ]
    survey_columns += ["required", "relevant", "rubric_type", "weight", "domain", "indicator"]
    optional = {
        "combine": used(lambda q: q.type == "multiple" or q.combine != "sum"),
        "cap": used(lambda q: q.cap is not None),
        "number_scoring": used(lambda q: q.number is not None),
        "score_bands": used(lambda q: q.number is not None and bool(q.number.bands)),
        "score_linear": used(
            lambda q: q.number is not None and (q.number.low, q.number.high) != (None, None)
        ),
        **{
            column: used(
                lambda q, key=key: q.missing is not None and getattr(q.missing, key) is not None
            )
            for key, column in _POLICY_COLUMNS.items()
        },
        "previous_id": used(lambda q: q.previous_id is not None),
        "shared_indicator": used(lambda q: q.indicator is not None),
        "indicator_map": used(lambda q: q.indicator_map is not None),
    }
    survey_columns += [column for column, wanted in optional.items() if wanted]

    survey: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []

    def texts(row: dict[str, Any], node: Any) -> None:
        for attribute, column in text_columns:
            value = getattr(node, attribute, None) or {}
            for lang, text in value.items():
                row[f"{column}::{headers[lang]}"] = text

    for domain in rubric.domains:
        row: dict[str, Any] = {"type": "begin_group", "name": domain.id, "weight": domain.weight}
        texts(row, domain)
        survey.append(row)
        for indicator in domain.indicators:
            row = {"type": "begin_group", "name": indicator.id, "weight": indicator.weight}
            texts(row, indicator)
            survey.append(row)
            for question in indicator.questions:
                survey.append(_question_row(question, domain.id, indicator.id, texts))
                choices.extend(_choice_rows(question, headers))
            survey.append({"type": "end_group"})
        survey.append({"type": "end_group"})

    choices.extend(_rubric_lists(rubric, headers))
    choice_columns = ["list_name", "name"] + [f"label::{headers[lang]}" for lang in languages]
    choice_columns += ["score", "min", "max"]

    ids = {q.id for q in questions}
    for row in (*survey, *choices):
        for key, value in row.items():
            if "::" in key and isinstance(value, str):
                row[key] = _escape_references(value, ids)
    settings = {k: v for k, v in _settings_row(rubric, headers).items() if v is not None}
    book = Workbook()
    _write_sheet(book.active, "survey", survey_columns, survey)
    _write_sheet(book.create_sheet(), "choices", choice_columns, choices)
    _write_sheet(book.create_sheet(), "settings", list(settings), [settings])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _export_languages(rubric: Rubric) -> list[str]:
    """The rubric's languages, then any other language a text is written in."""
    languages = dict.fromkeys(rubric.languages)
    texts = [rubric.title, rubric.description, *(lv.label for lv in rubric.scale.levels)]
    texts += [band.label for band in rubric.bands]
    for domain in rubric.domains:
        texts += [domain.label, domain.guidance]
        for indicator in domain.indicators:
            texts += [indicator.label, indicator.guidance]
            for q in indicator.questions:
                texts += [q.label, q.guidance, q.hint, *(lv.descriptor for lv in q.levels)]
                texts += [option.label for option in q.options]
    for text in texts:
        languages.update(dict.fromkeys(text or ()))
    return list(languages)


def _language_header(code: str) -> str:
    return f"{_LANGUAGE_NAMES.get(code, code)} ({code})"


def _question_row(question: Question, domain: str, indicator: str, texts: Any) -> dict[str, Any]:
    kind = TYPES[question.type].xlsform_type
    row: dict[str, Any] = {
        "type": f"{kind} {question.id}" if kind.startswith("select") else kind,
        "name": question.id,
        "rubric_type": question.type,
        "weight": question.weight,
        "domain": domain,
        "indicator": indicator,
        "relevant": question.relevant,
    }
    texts(row, question)
    if question.required is not None:
        row["required"] = "yes" if question.required else "no"
    if question.type == "multiple" or question.combine != "sum":
        row["combine"] = question.combine
    row["cap"] = question.cap
    row["previous_id"] = question.previous_id
    row["shared_indicator"] = question.indicator
    if question.indicator_map is not None:
        row["indicator_map"] = "; ".join(
            f"{key}={'' if value is None else _fmt(value)}"
            for key, value in question.indicator_map.items()
        )
    if question.number is not None:
        number = question.number
        row["number_scoring"] = number.method
        if number.bands:
            row["score_bands"] = "; ".join(
                f"{_fmt(b.min)}..{_fmt(b.max)}={_fmt(b.score)}" for b in number.bands
            )
        if (number.low, number.high) != (None, None):
            row["score_linear"] = f"{_fmt(number.low)}..{_fmt(number.high)}"
    if question.missing is not None:
        for key, column in _POLICY_COLUMNS.items():
            value = getattr(question.missing, key)
            row[column] = ("yes" if value else "no") if isinstance(value, bool) else value
    return row


def _choice_rows(question: Question, headers: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    for level in question.levels:
        row = {"list_name": question.id, "name": str(level.level), "score": level.level}
        row.update({f"label::{headers[k]}": v for k, v in level.descriptor.items()})
        yield row
    for option in question.options:
        row = {"list_name": question.id, "name": option.id, "score": option.score}
        row.update({f"label::{headers[k]}": v for k, v in option.label.items()})
        yield row


def _rubric_lists(rubric: Rubric, headers: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    def labelled(text: Mapping[str, str], **row: Any) -> dict[str, Any]:
        return {**row, **{f"label::{headers[k]}": v for k, v in text.items()}}

    yield labelled(rubric.title, list_name=_TEXT_LIST, name="title")
    if rubric.description:
        yield labelled(rubric.description, list_name=_TEXT_LIST, name="description")
    for level in rubric.scale.levels:
        yield labelled(level.label, list_name=_SCALE_LIST, name=str(level.level))
    for n, band in enumerate(rubric.bands, start=1):
        yield labelled(
            band.label, list_name=_BANDS_LIST, name=f"band{n}", min=band.min, max=band.max
        )


def _settings_row(rubric: Rubric, headers: Mapping[str, str]) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "form_id": rubric.id,
        "form_title": rubric.text(rubric.title) or rubric.id,
        "version": rubric.version,
        "default_language": headers.get(rubric.default_language, rubric.default_language),
        "languages": " ".join(rubric.languages),
        "clean_text_values": "no",  # keep line breaks and runs of spaces in texts
        "scale_min": rubric.scale.min,
        "scale_max": rubric.scale.max,
    }
    # Only the fields the rubric sets: unset ones keep meaning "the platform default".
    for key, column in _POLICY_COLUMNS.items():
        settings[column] = getattr(rubric.missing, key)
    settings["min_coverage"] = rubric.missing.min_coverage
    return settings


def _escape_references(text: str, ids: set[str]) -> str:
    """Keep ``${x}`` in a text from reading as a reference when ``x`` is no question here.

    pyxform refuses references to unknown names, and XLSForm has no escape: a word joiner
    (invisible) after the ``$`` breaks the reference, and import removes it again.
    """
    return _ESCAPABLE_RE.sub(
        lambda m: m.group(0) if m.group(1) in ids else _ESCAPED + m.group(0)[2:], text
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _write_sheet(sheet: Any, title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    sheet.title = title
    sheet.append(columns)
    for row in rows:
        sheet.append([_cell(row.get(column)) for column in columns])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, never a formula: labels are user content


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value
