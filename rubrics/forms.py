"""Forms of the rubric editor: upload, the YAML editor, publish, and the structured editor.

The structured editor edits one *section* of a draft at a time: the rubric's settings (title,
description, scale labels, bands, missing-data policy) or one domain with its indicators and
questions. Its form class is built at runtime from the stored rubric (a fresh class on every call,
STYLE.md 4): every field is a :class:`Slot` that knows the path of the value it edits in the
rubric document, so that a save is "apply every slot to a copy of the document, then validate it
with :func:`~rubrics.schema.parse_rubric`", and every problem found on a path is shown on the field
that edits it. Fields are named by position (``d0i1q2_weight``); positions are stable because a
save based on an outdated copy of the draft is refused (``lock_version``) before anything is read.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from accounts.inputs import MAX_ID
from rubrics.schema import CHOICE_TYPES, CODE_PATTERN
from rubrics.types import TYPES

UPLOAD_EXTENSIONS = ("yaml", "yml", "xlsx", "xls")
LOCK_RANGE = NumberRange(min=0, max=MAX_ID)  # larger overflows the database's integer
QUESTION_TYPES: tuple[str, ...] = tuple(TYPES)  # the registry's order (rubrics.types)
TEXT_MAX = 5000

DocPath = tuple[str | int, ...]


# --- simple forms ------------------------------------------------------------------------------


class UploadForm(FlaskForm):
    """A rubric file: YAML, or an XLSForm workbook."""

    file = FileField(
        _l("Rubric file"),
        validators=[
            FileRequired(_l("Choose a file to upload.")),
            FileAllowed(
                list(UPLOAD_EXTENSIONS),
                _l("Upload a YAML file (.yaml, .yml) or an XLSForm workbook (.xlsx, .xls)."),
            ),
        ],
    )


class YamlEditForm(FlaskForm):
    """The whole draft as YAML, for people who prefer to write it."""

    text = TextAreaField(
        _l("Rubric (YAML)"),
        validators=[InputRequired(_l("The rubric cannot be empty."))],
        render_kw={"rows": 32, "spellcheck": "false", "autocapitalize": "off", "class": "code"},
    )
    lock_version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), LOCK_RANGE])


class PublishForm(FlaskForm):
    """Confirms publishing the revision of the draft that the person reviewed."""

    lock_version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), LOCK_RANGE])


class ConfirmForm(FlaskForm):
    """The last step of a destructive action: an explicit yes, and the draft's version seen."""

    confirmed = HiddenField(validators=[InputRequired(), AnyOf(["yes"])])
    lock_version = IntegerField(widget=HiddenInput(), validators=[Optional(), LOCK_RANGE])


class PostButtonForm(FlaskForm):
    """A button that posts (start a draft, start a review, ...): it carries the CSRF token.

    The one such form of every package (rubrics, cycles, review)."""


def add_errors(form: FlaskForm, errors: Mapping[str, Sequence[str]]) -> None:
    """Show a service's errors, by field name, on the form's fields (others are dropped)."""
    for name, messages in errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, *messages]


# --- the structured editor ---------------------------------------------------------------------

SlotKind = Literal["text", "number", "optional_number", "string", "tristate", "choice"]


@dataclass(frozen=True)
class Slot:
    """One field of the structured editor and the value it edits.

    ``path`` locates the value in the rubric document; for ``text`` slots it locates the
    multilingual mapping and ``lang`` the language edited.
    """

    name: str
    label: str
    kind: SlotKind
    path: DocPath
    lang: str | None = None
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    multiline: bool = False

    @property
    def value_path(self) -> DocPath:
        return (*self.path, self.lang) if self.lang is not None else self.path


@dataclass
class Block:
    """A group of fields shown together (the settings, a domain, an indicator, a question...)."""

    kind: str
    title: str
    anchor: str
    fields: list[str] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)
    note: str = ""
    summary: str = ""  # shown while the block is collapsed (a question's text)
    item: str = ""  # the id of the item the block edits (for its remove link)
    badge: str = ""  # a question's type

    def all_fields(self) -> list[str]:
        """The fields of the block and of the blocks inside it."""
        return [*self.fields, *(name for child in self.children for name in child.all_fields())]


@dataclass(frozen=True)
class NewQuestion:
    """The "add a question" fields of one indicator."""

    domain: int
    indicator: int
    id_field: str
    type_field: str
    label_field: str


@dataclass(frozen=True)
class NewOption:
    """The "add an option" fields of a single or multiple choice question."""

    question: DocPath
    id_field: str
    label_field: str
    score_field: str
    taken: frozenset[str]


@dataclass(frozen=True)
class NewBranch:
    """The "add an indicator" fields of a domain, or the "add a domain" fields of the settings.

    Either adds one item with everything it needs to be valid: a new indicator comes with its
    first question, a new domain with its first indicator and that indicator's first question.
    Field names are ``{prefix}_{part}``: ``id``, ``label``, ``weight`` (the item), ``iid``,
    ``ilabel`` (a new domain's indicator), ``qid``, ``qtype``, ``qlabel`` (the first question).
    """

    prefix: str
    domain: int | None  # the domain an indicator is added to; None: a new domain
    what: str

    def name(self, part: str) -> str:
        return f"{self.prefix}_{part}"

    @property
    def parts(self) -> tuple[str, ...]:
        if self.domain is None:
            return ("id", "label", "weight", "iid", "ilabel", "qid", "qtype", "qlabel")
        return ("id", "label", "weight", "qid", "qtype", "qlabel")

    @property
    def required(self) -> tuple[str, ...]:
        """The parts to fill in (the weight and the question type have defaults)."""
        return tuple(part for part in self.parts if part not in ("weight", "qtype"))

    @property
    def origin(self) -> DocPath:
        """The placeholder path of the new item in :attr:`Applied.moves`."""
        return ("new-domain",) if self.domain is None else ("new-indicator", self.domain)


class SectionFormBase(FlaskForm):
    """Base of every generated section form."""

    lock_version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), LOCK_RANGE])
    extra_checks: tuple[Callable[[Any], None], ...] = ()

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' validators, then the checks that concern several fields."""
        valid = super().validate(extra_validators)
        for check in self.extra_checks:
            check(self)
        return valid and not self.errors


def _policy_rules(rule: str) -> tuple[tuple[str, str], ...]:
    """The choices of a missing-data rule: (code, what it does), in the request's language."""
    if rule == "not_applicable":
        return (("exclude", _("left out of the score")), ("score", _("scored as a fixed value")))
    return (("missing", _("counted as unanswered")), ("score", _("scored as a fixed value")))


def _type_name(kind: str) -> str:
    """A question type's name in the request's language (the names are in unmarked.jinja)."""
    return str(_(kind.replace("_", " ")))


def _text(data: Any) -> Mapping[str, str]:
    return data if isinstance(data, Mapping) else {}


def _label(data: Mapping[str, Any], languages: list[str], fallback: str) -> str:
    text = _text(data.get("label"))
    for lang in languages:
        if text.get(lang):
            return str(text[lang])
    return fallback


class SectionEditor:
    """The structured editor of one section of a draft: its form, layout, and how to apply it.

    ``section`` is ``"settings"`` or a domain's position in the rubric.
    """

    def __init__(
        self, content: Mapping[str, Any], section: str | int, language: str | None = None
    ) -> None:
        self.content = content
        self.section = section
        self.languages = [str(lang) for lang in content.get("languages", ["en"])]
        default = str(content.get("default_language", self.languages[0]))
        self.default_language = default if default in self.languages else self.languages[0]
        first = [language] if language in self.languages else []
        self.order = [*first, self.default_language, *self.languages]  # for summaries
        self.slots: dict[str, Slot] = {}
        self.new_questions: list[NewQuestion] = []
        self.new_options: list[NewOption] = []
        self.new_branches: list[NewBranch] = []
        self.blocks: list[Block] = []
        self._extra_fields: dict[str, Any] = {}
        if section == "settings":
            self._settings()
        else:
            self._domain(int(section))

    # -- building -----------------------------------------------------------------------------
    def _add(self, block: Block, slot: Slot) -> None:
        self.slots[slot.name] = slot
        block.fields.append(slot.name)

    def _texts(
        self,
        block: Block,
        prefix: str,
        path: DocPath,
        what: str,
        *,
        required: bool = False,
        multiline: bool = False,
    ) -> None:
        key = str(path[-1])
        for index, lang in enumerate(self.languages):
            self._add(
                block,
                Slot(
                    name=f"{prefix}_{key}_{index}",
                    label=_("%(what)s (%(lang)s)", what=what, lang=lang),
                    kind="text",
                    path=path,
                    lang=lang,
                    required=required and lang == self.default_language,
                    multiline=multiline,
                ),
            )

    def _policy(self, block: Block, prefix: str, path: DocPath, *, rubric_level: bool) -> None:
        inherit = _("default") if rubric_level else _("as the rubric says")
        for flag, what in (
            ("allow_not_applicable", _("Offer “not applicable”")),
            ("allow_dont_know", _("Offer “don't know”")),
        ):
            self._add(
                block,
                Slot(
                    name=f"{prefix}_{flag}",
                    label=what,
                    kind="tristate",
                    path=(*path, flag),
                    choices=(
                        ("", _("%(default)s (no)", default=inherit) if rubric_level else inherit),
                        ("yes", _("yes")),
                        ("no", _("no")),
                    ),
                ),
            )
        for rule, what, score_label in (
            (
                "not_applicable",
                _("“Not applicable” answers are"),
                _("“Not applicable” score (when scored)"),
            ),
            ("dont_know", _("“Don't know” answers are"), _("“Don't know” score (when scored)")),
        ):
            rules = _policy_rules(rule)
            default = rules[0][1]
            self._add(
                block,
                Slot(
                    name=f"{prefix}_{rule}",
                    label=what,
                    kind="choice",
                    path=(*path, rule),
                    choices=(
                        (
                            "",
                            _("%(default)s (%(rule)s)", default=inherit, rule=default)
                            if rubric_level
                            else inherit,
                        ),
                        *rules,
                    ),
                ),
            )
            self._add(
                block,
                Slot(
                    name=f"{prefix}_{rule}_score",
                    label=score_label,
                    kind="optional_number",
                    path=(*path, f"{rule}_score"),
                ),
            )
        if rubric_level:
            self._add(
                block,
                Slot(
                    name=f"{prefix}_min_coverage",
                    label=_("Minimum coverage (0 to 1) for a domain score"),
                    kind="optional_number",
                    path=(*path, "min_coverage"),
                ),
            )

    def _settings(self) -> None:
        content = self.content
        block = Block("settings", _("Rubric settings"), "settings")
        self.blocks.append(block)
        self._texts(block, "r", ("title",), _("Title"), required=True)
        self._texts(block, "r", ("description",), _("Description"), multiline=True)
        self._add(
            block,
            Slot(name="r_version", label=_("Your version label"), kind="string", path=("version",)),
        )
        scale = content.get("scale") or {}
        levels = scale.get("levels") or []
        if levels:
            scale_block = Block(
                "scale",
                _(
                    "Scale %(min)s to %(max)s: level names",
                    min=scale.get("min", 1),
                    max=scale.get("max", 4),
                ),
                "scale",
            )
            block.children.append(scale_block)
            for index, level in enumerate(levels):
                self._texts(
                    scale_block,
                    f"s{index}",
                    ("scale", "levels", index, "label"),
                    _("Level %(level)s", level=level.get("level")),
                    required=True,
                )
        bands_block = Block(
            "bands",
            _("Bands of the 0-100 score"),
            "bands",
            note=_("Bands must cover 0 to 100 without gaps or overlaps."),
        )
        block.children.append(bands_block)
        for index, _band in enumerate(content.get("bands") or []):
            band_block = Block("band", _("Band %(number)s", number=index + 1), f"band-{index}")
            bands_block.children.append(band_block)
            self._texts(
                band_block, f"b{index}", ("bands", index, "label"), _("Name"), required=True
            )
            for bound in ("min", "max"):
                self._add(
                    band_block,
                    Slot(
                        name=f"b{index}_{bound}",
                        label=_("From (min)") if bound == "min" else _("To (max)"),
                        kind="number",
                        path=("bands", index, bound),
                    ),
                )
            band_block.item = str(index + 1)
        new_band = Block("band", _("Add a band"), "band-new")
        bands_block.children.append(new_band)
        self._extra_fields["bnew_label"] = StringField(
            _("Name (%(lang)s)", lang=self.default_language),
            validators=[Optional(), Length(max=200)],
        )
        self._extra_fields["bnew_min"] = FloatField(_("From (min)"), validators=[Optional()])
        self._extra_fields["bnew_max"] = FloatField(_("To (max)"), validators=[Optional()])
        new_band.fields.extend(["bnew_label", "bnew_min", "bnew_max"])
        policy_block = Block(
            "missing",
            _("Missing answers"),
            "missing",
            note=_(
                "How “not applicable” and “don't know” are offered and scored; questions may "
                "override this."
            ),
        )
        block.children.append(policy_block)
        self._policy(policy_block, "m", ("missing",), rubric_level=True)
        self._new_branch(NewBranch("dnew", None, "domain"))

    def _domain(self, d: int) -> None:
        domains = self.content.get("domains") or []
        if not 0 <= d < len(domains):
            raise IndexError(d)
        domain = domains[d]
        dpath: DocPath = ("domains", d)
        block = Block("domain", _("Domain %(id)s", id=domain.get("id")), f"d{d}")
        self.blocks.append(block)
        self._texts(block, f"d{d}", (*dpath, "label"), _("Name"), required=True)
        self._texts(block, f"d{d}", (*dpath, "guidance"), _("Guidance"), multiline=True)
        self._weight(block, f"d{d}", dpath)
        for i, indicator in enumerate(domain.get("indicators") or []):
            ipath: DocPath = (*dpath, "indicators", i)
            prefix = f"d{d}i{i}"
            ind_block = Block("indicator", _("Indicator %(id)s", id=indicator.get("id")), prefix)
            block.children.append(ind_block)
            self._texts(ind_block, prefix, (*ipath, "label"), _("Name"), required=True)
            self._texts(ind_block, prefix, (*ipath, "guidance"), _("Guidance"), multiline=True)
            self._weight(ind_block, prefix, ipath)
            ind_block.item = str(indicator.get("id"))
            for k, question in enumerate(indicator.get("questions") or []):
                self._question(ind_block, f"{prefix}q{k}", (*ipath, "questions", k), question)
            self._new_question(ind_block, d, i)
        self._new_branch(NewBranch(f"d{d}inew", d, "indicator"), block)
        block.item = str(domain.get("id"))

    def _weight(self, block: Block, prefix: str, path: DocPath) -> None:
        self._add(
            block,
            Slot(name=f"{prefix}_weight", label=_("Weight"), kind="number", path=(*path, "weight")),
        )

    def _question(
        self, parent: Block, prefix: str, qpath: DocPath, question: Mapping[str, Any]
    ) -> None:
        kind = str(question.get("type"))
        block = Block(
            "question",
            _("Question %(id)s (%(type)s)", id=question.get("id"), type=_type_name(kind)),
            prefix,
        )
        parent.children.append(block)
        self._texts(block, prefix, (*qpath, "label"), _("Question"), required=True, multiline=True)
        self._texts(block, prefix, (*qpath, "hint"), _("Hint"))
        self._texts(block, prefix, (*qpath, "guidance"), _("Guidance"), multiline=True)
        self._weight(block, prefix, qpath)
        self._add(
            block,
            Slot(
                name=f"{prefix}_required",
                label=_("Answer required"),
                kind="tristate",
                path=(*qpath, "required"),
                choices=(
                    ("", _("default (required when scored)")),
                    ("yes", _("required")),
                    ("no", _("optional")),
                ),
            ),
        )
        self._add(
            block,
            Slot(
                name=f"{prefix}_relevant",
                label=_("Shown only when (relevance, e.g. ${Q1} = 'yes')"),
                kind="string",
                path=(*qpath, "relevant"),
            ),
        )
        self._add(
            block,
            Slot(
                name=f"{prefix}_shared",
                label=_("Shared indicator it measures (a code of the codebook; its map in YAML)"),
                kind="string",
                path=(*qpath, "indicator"),
            ),
        )
        if kind in CHOICE_TYPES:
            for o, option in enumerate(question.get("options") or []):
                opath: DocPath = (*qpath, "options", o)
                option_block = Block(
                    "option",
                    _("Option %(id)s", id=option.get("id")),
                    f"{prefix}o{o}",
                    item=f"{question.get('id')}/{option.get('id')}",
                )
                block.children.append(option_block)
                self._texts(
                    option_block, f"{prefix}o{o}", (*opath, "label"), _("Label"), required=True
                )
                self._add(
                    option_block,
                    Slot(
                        name=f"{prefix}o{o}_score",
                        label=_("Score (empty: not scored)"),
                        kind="optional_number",
                        path=(*opath, "score"),
                    ),
                )
        if kind == "maturity":
            for index, level in enumerate(question.get("levels") or []):
                level_block = Block(
                    "level", _("Level %(level)s", level=level.get("level")), f"{prefix}l{index}"
                )
                block.children.append(level_block)
                self._texts(
                    level_block,
                    f"{prefix}l{index}",
                    (*qpath, "levels", index, "descriptor"),
                    _("Descriptor"),
                    required=True,
                    multiline=True,
                )
        if kind in ("single", "multiple"):
            self._new_option(block, prefix, qpath)
        policy = Block("missing", _("Missing answers (this question)"), f"{prefix}-missing")
        block.children.append(policy)
        self._policy(policy, f"{prefix}m", (*qpath, "missing"), rubric_level=False)
        block.item = str(question.get("id"))
        block.summary = _label(question, self.order, "")
        block.badge = _type_name(kind)

    def _new_question(self, parent: Block, d: int, i: int) -> None:
        prefix = f"d{d}i{i}new"
        block = Block(
            "add", _("Add a question"), prefix, note=_("Fill in the new question after saving.")
        )
        parent.children.append(block)
        names = (f"{prefix}_id", f"{prefix}_type", f"{prefix}_label")
        self._extra_fields[names[0]] = StringField(
            _("Id (letters, digits, _ . -)"),
            validators=[
                Optional(),
                Regexp(CODE_PATTERN, message=_("Not a valid id.")),
                Length(max=64),
            ],
        )
        self._extra_fields[names[1]] = SelectField(
            _("Type"),
            choices=[SelectChoice(t, _type_name(t)) for t in QUESTION_TYPES],
            default="maturity",
        )
        self._extra_fields[names[2]] = StringField(
            _("Question (%(lang)s)", lang=self.default_language),
            validators=[Optional(), Length(max=TEXT_MAX)],
        )
        block.fields.extend(names)
        self.new_questions.append(NewQuestion(d, i, *names))

    def _new_option(self, parent: Block, prefix: str, qpath: DocPath) -> None:
        question = _get(self.content, qpath) or {}
        taken = frozenset(str(o.get("id")) for o in question.get("options") or [])
        block = Block("add", _("Add an option"), f"{prefix}onew")
        parent.children.append(block)
        names = (f"{prefix}onew_id", f"{prefix}onew_label", f"{prefix}onew_score")
        self._extra_fields[names[0]] = StringField(
            _("Id of the option (letters, digits, _ . -)"),
            validators=[
                Optional(),
                Regexp(CODE_PATTERN, message=_("Not a valid id.")),
                Length(max=64),
            ],
        )
        self._extra_fields[names[1]] = StringField(
            _("Label (%(lang)s)", lang=self.default_language),
            validators=[Optional(), Length(max=TEXT_MAX)],
        )
        self._extra_fields[names[2]] = FloatField(
            _("Score (empty: not scored)"), validators=[Optional()]
        )
        block.fields.extend(names)
        self.new_options.append(NewOption(qpath, *names, taken=taken))

    def _new_branch(self, branch: NewBranch, parent: Block | None = None) -> None:
        if branch.domain is None:
            title, note = (
                _("Add a domain"),
                _(
                    "A new domain starts with one indicator and one question: fill them in after "
                    "saving."
                ),
            )
        else:
            title, note = (
                _("Add an indicator"),
                _("A new indicator starts with one question: fill it in after saving."),
            )
        block = Block("add", title, branch.prefix, note=note)
        if parent is None:
            self.blocks.append(block)
        else:
            parent.children.append(block)
        default = self.default_language
        labels = {
            "id": (
                _("Id of the domain (letters, digits, _ . -)")
                if branch.domain is None
                else _("Id of the indicator (letters, digits, _ . -)")
            ),
            "label": _("Name (%(lang)s)", lang=default),
            "weight": _("Weight"),
            "iid": _("Id of its first indicator"),
            "ilabel": _("Name of its first indicator (%(lang)s)", lang=default),
            "qid": _("Id of its first question"),
            "qtype": _("Type of its first question"),
            "qlabel": _("Its first question (%(lang)s)", lang=default),
        }
        for part in branch.parts:
            name, label = branch.name(part), labels[part]
            if part == "weight":
                self._extra_fields[name] = FloatField(label, validators=[Optional()])
            elif part == "qtype":
                self._extra_fields[name] = SelectField(
                    label,
                    choices=[SelectChoice(t, _type_name(t)) for t in QUESTION_TYPES],
                    default="maturity",
                )
            elif part in ("id", "iid", "qid"):
                self._extra_fields[name] = StringField(
                    label,
                    validators=[
                        Optional(),
                        Regexp(CODE_PATTERN, message=_("Not a valid id.")),
                        Length(max=64),
                    ],
                )
            else:
                self._extra_fields[name] = StringField(
                    label, validators=[Optional(), Length(max=TEXT_MAX)]
                )
            block.fields.append(name)
        self.new_branches.append(branch)

    def _used_ids(self) -> dict[str, str]:
        """Every id of the stored rubric -> where it is (``SG > SG1``)."""
        used = {str(self.content.get("id")): "(rubric)"}
        for domain in self.content.get("domains") or []:
            used[str(domain.get("id"))] = str(domain.get("id"))
            for indicator in domain.get("indicators") or []:
                where = f"{domain.get('id')} > {indicator.get('id')}"
                used[str(indicator.get("id"))] = where
                for question in indicator.get("questions") or []:
                    used[str(question.get("id"))] = f"{where} > {question.get('id')}"
        return used

    def _validators(self) -> dict[str, Any]:
        """Inline validators (``validate_<field>``) of the generated form."""
        validators: dict[str, Any] = {}
        used = self._used_ids()

        def unused(form: Any, bound: Any) -> None:
            code = (bound.data or "").strip()
            if code in used:
                raise ValidationError(
                    _(
                        "The id %(code)s is already used (at %(where)s).",
                        code=repr(code),
                        where=used[code],
                    )
                )

        for new in self.new_questions:
            validators[f"validate_{new.id_field}"] = unused
        for branch in self.new_branches:
            for part in ("id", "iid", "qid"):
                if part in branch.parts:
                    validators[f"validate_{branch.name(part)}"] = unused
        for new_option in self.new_options:
            validators[f"validate_{new_option.id_field}"] = _unused_option(new_option.taken)
        return validators

    def rows(self, block: Block) -> list[list[str]]:
        """``block``'s fields in rows: one text in every language side by side, else one field."""
        rows: list[list[str]] = []
        for name in block.fields:
            slot = self.slots.get(name)
            last = self.slots.get(rows[-1][0]) if rows else None
            if (
                slot is not None
                and last is not None
                and slot.kind == last.kind == "text"
                and slot.path == last.path
            ):
                rows[-1].append(name)
            else:
                rows.append([name])
        return rows

    # -- the form -----------------------------------------------------------------------------
    def form_class(self) -> type[SectionFormBase]:
        """A fresh form class for this section (never reused across requests)."""
        attrs: dict[str, Any] = dict(self._extra_fields)
        for slot in self.slots.values():
            attrs[slot.name] = _build_field(slot)
        attrs.update(self._validators())
        attrs["extra_checks"] = tuple(_branch_check(branch) for branch in self.new_branches)
        return type("SectionForm", (SectionFormBase,), attrs)

    def initial(self, lock_version: int) -> dict[str, Any]:
        """The fields' values from the stored document."""
        data: dict[str, Any] = {"lock_version": lock_version}
        for slot in self.slots.values():
            value = _get(self.content, slot.value_path)
            if slot.kind == "tristate":
                data[slot.name] = "" if value is None else ("yes" if value else "no")
            elif slot.kind in ("choice", "string", "text"):
                data[slot.name] = "" if value is None else str(value)
            else:
                data[slot.name] = value
        for new in self.new_questions:
            data[new.type_field] = "maturity"
        for branch in self.new_branches:
            data[branch.name("qtype")] = "maturity"
            data[branch.name("weight")] = 1
        return data

    # -- applying -----------------------------------------------------------------------------
    def apply(self, form: Any, *, present: Iterable[str] | None = None) -> Applied:
        """The document with the form's values; fields that did not validate are left as stored.

        ``present``: only apply these field names (a save against a changed draft, where the
        submitted form may not match this one).
        """
        document = copy.deepcopy(dict(self.content))
        keep = set(present) if present is not None else None
        for slot in self.slots.values():
            if slot.name not in form:
                continue
            if keep is not None and slot.name not in keep:
                continue
            bound = form[slot.name]
            if bound.errors:
                continue
            _apply(document, slot, bound.data)
        applied = Applied(document)
        if self.section == "settings":
            self._apply_bands(document, form, applied, keep)
        else:
            self._apply_structure(document, form, applied, keep)
        for branch in self.new_branches:
            self._apply_branch(document, form, applied, keep, branch)
        _prune_policies(document)
        return applied

    @staticmethod
    def _given(form: Any, name: str, keep: set[str] | None) -> bool:
        """Whether field ``name`` was submitted without errors (and is to be applied)."""
        return name in form and (keep is None or name in keep) and not form[name].errors

    def _apply_bands(
        self, document: dict[str, Any], form: Any, applied: Applied, keep: set[str] | None
    ) -> None:
        """Add the new band when it has a name (bands are removed with a confirmation)."""
        new_label = form["bnew_label"].data if "bnew_label" in form else None
        if new_label and (keep is None or "bnew_label" in keep):
            bands = document.setdefault("bands", [])
            bands.append(
                {
                    "label": {self.default_language: new_label.strip()},
                    "min": form["bnew_min"].data,
                    "max": form["bnew_max"].data,
                }
            )
            applied.moves[("bands", len(bands) - 1)] = ("new-band",)

    def _apply_structure(
        self, document: dict[str, Any], form: Any, applied: Applied, keep: set[str] | None
    ) -> None:
        """Append the new questions and options (items are removed with a confirmation)."""
        for new in self.new_questions:
            if not self._given(form, new.id_field, keep):
                continue
            new_id = (form[new.id_field].data or "").strip()
            if not new_id:
                continue
            kind = form[new.type_field].data or "maturity"
            label = (form[new.label_field].data or "").strip() or new_id
            skeleton = new_question(document, new_id, kind, label, self.default_language)
            ipath: DocPath = ("domains", new.domain, "indicators", new.indicator)
            questions = _get(document, ipath)["questions"]
            questions.append(skeleton)
            applied.moves[(*ipath, "questions", len(questions) - 1)] = (
                "new-question",
                new.domain,
                new.indicator,
            )
        for option in self.new_options:
            names = (option.id_field, option.label_field, option.score_field)
            if not all(self._given(form, name, keep) for name in names):
                continue
            option_id = (form[option.id_field].data or "").strip()
            if not option_id:
                continue
            label = (form[option.label_field].data or "").strip() or option_id
            item: dict[str, Any] = {"id": option_id, "label": {self.default_language: label}}
            score = form[option.score_field].data
            if score is not None and math.isfinite(score):
                item["score"] = score
            options = _get(document, option.question).setdefault("options", [])
            options.append(item)
            applied.moves[(*option.question, "options", len(options) - 1)] = (
                "new-option",
                *option.question,
            )

    def _apply_branch(
        self,
        document: dict[str, Any],
        form: Any,
        applied: Applied,
        keep: set[str] | None,
        branch: NewBranch,
    ) -> None:
        """Add the new indicator or domain when its id is given and its fields are valid."""
        names = [branch.name(part) for part in branch.parts]
        if any(name not in form or (keep is not None and name not in keep) for name in names):
            return
        if any(form[name].errors for name in names):
            return
        values = {part: form[branch.name(part)].data for part in branch.parts}
        texts = {part: (value or "").strip() for part, value in values.items() if part != "weight"}
        if not texts["id"]:
            return
        language = self.default_language
        kind = texts["qtype"] or "maturity"
        question = new_question(document, texts["qid"], kind, texts["qlabel"], language)
        weight = values["weight"]
        origin = branch.origin
        if branch.domain is None:
            indicator = {
                "id": texts["iid"],
                "label": {language: texts["ilabel"]},
                "questions": [question],
            }
            domain: dict[str, Any] = {"id": texts["id"], "label": {language: texts["label"]}}
            if weight is not None:
                domain["weight"] = weight
            domain["indicators"] = [indicator]
            domains = document.setdefault("domains", [])
            domains.append(domain)
            path: DocPath = ("domains", len(domains) - 1)
            applied.moves[path] = origin
            applied.moves[(*path, "indicators", 0)] = (*origin, "indicator")
            applied.moves[(*path, "indicators", 0, "questions", 0)] = (*origin, "question")
            return
        indicator = {"id": texts["id"], "label": {language: texts["label"]}}
        if weight is not None:
            indicator["weight"] = weight
        indicator["questions"] = [question]
        indicators = document["domains"][branch.domain].setdefault("indicators", [])
        indicators.append(indicator)
        path = ("domains", branch.domain, "indicators", len(indicators) - 1)
        applied.moves[path] = origin
        applied.moves[(*path, "questions", 0)] = (*origin, "question")

    # -- problems -----------------------------------------------------------------------------
    def field_paths(self) -> dict[DocPath, str]:
        paths: dict[DocPath, str] = {}
        for slot in self.slots.values():
            paths[slot.value_path] = slot.name
            if slot.lang is not None and (slot.required or slot.path not in paths):
                paths[slot.path] = slot.name
        for new in self.new_questions:
            paths[("new-question", new.domain, new.indicator)] = new.id_field
        for option in self.new_options:
            paths[("new-option", *option.question)] = option.id_field
            paths[("new-option", *option.question, "label")] = option.label_field
            paths[("new-option", *option.question, "score")] = option.score_field
        paths[("new-band",)] = "bnew_label"
        for branch in self.new_branches:
            origin = branch.origin
            paths[origin] = branch.name("id")
            paths[(*origin, "label")] = branch.name("label")
            paths[(*origin, "weight")] = branch.name("weight")
            paths[(*origin, "indicators")] = branch.name("iid" if branch.domain is None else "qid")
            paths[(*origin, "questions")] = branch.name("qid")
            paths[(*origin, "question")] = branch.name("qid")
            paths[(*origin, "question", "label")] = branch.name("qlabel")
            if branch.domain is None:
                paths[(*origin, "indicator")] = branch.name("iid")
                paths[(*origin, "indicator", "label")] = branch.name("ilabel")
                paths[(*origin, "indicator", "questions")] = branch.name("qid")
        return paths

    def locate(self, path: DocPath, applied: Applied) -> str | None:
        """The field that edits ``path`` of the applied document (None: not in this section)."""
        original = applied.original(path)
        paths = self.field_paths()
        for end in range(len(original), 0, -1):
            name = paths.get(original[:end])
            if name is not None:
                return name
        return None


@dataclass
class Applied:
    """A document with a form applied, and where its moved items were before (for problems)."""

    document: dict[str, Any]
    moves: dict[DocPath, DocPath] = field(default_factory=dict)

    def original(self, path: DocPath) -> DocPath:
        """``path`` of the applied document as a path of the form's (stored) document."""
        for end in range(len(path), 0, -1):
            moved = self.moves.get(path[:end])
            if moved is not None:
                return (*moved, *path[end:])
        return path


def new_question(
    document: Mapping[str, Any], question_id: str, kind: str, label: str, language: str
) -> dict[str, Any]:
    """A valid starting point for a question of type ``kind`` (the author edits it afterwards)."""
    scale = document.get("scale") or {}
    low, high = int(scale.get("min", 1)), int(scale.get("max", 4))
    question: dict[str, Any] = {"id": question_id, "type": kind, "label": {language: label}}
    if kind == "maturity":
        question["levels"] = [
            {"level": level, "descriptor": {language: f"Level {level}"}}
            for level in range(low, high + 1)
        ]
    elif kind == "yes_no":
        question["options"] = [
            {"id": "yes", "label": {language: "Yes"}, "score": high},
            {"id": "no", "label": {language: "No"}, "score": low},
        ]
    elif kind in ("single", "multiple"):
        question["options"] = [
            {"id": "option_1", "label": {language: "Option 1"}, "score": low},
            {"id": "option_2", "label": {language: "Option 2"}, "score": high},
        ]
    return question


def _branch_check(branch: NewBranch) -> Callable[[Any], None]:
    """A new item is all or nothing: with an id, every field it needs; without one, none."""

    def check(form: Any) -> None:
        names = {part: branch.name(part) for part in branch.required}
        if any(name not in form for name in names.values()):
            return
        filled = {part: bool((form[name].data or "").strip()) for part, name in names.items()}
        if not filled["id"]:
            if any(filled.values()):
                form[names["id"]].errors.append(
                    _("Give the new domain an id, or empty its fields.")
                    if branch.domain is None
                    else _("Give the new indicator an id, or empty its fields.")
                )
            return
        for part, name in names.items():
            if not filled[part]:
                form[name].errors.append(
                    _("Needed to add the domain.")
                    if branch.domain is None
                    else _("Needed to add the indicator.")
                )

    return check


def _unused_option(taken: frozenset[str]) -> Any:
    def check(form: Any, bound: Any) -> None:
        code = (bound.data or "").strip()
        if code in taken:
            raise ValidationError(
                _("The question already has an option %(code)s.", code=repr(code))
            )

    return check


def _build_field(slot: Slot) -> Any:
    if slot.kind == "text":
        validators: list[Any] = [
            InputRequired(_("Needed in this language.")) if slot.required else Optional(),
            Length(max=TEXT_MAX),
        ]
        cls = TextAreaField if slot.multiline else StringField
        render = {"rows": 2} if slot.multiline else {}
        return cls(slot.label, validators=validators, render_kw=render)
    number = {"class": "num", "inputmode": "decimal"}
    if slot.kind == "number":
        return FloatField(
            slot.label, validators=[InputRequired(_("A number is needed."))], render_kw=number
        )
    if slot.kind == "optional_number":
        return FloatField(slot.label, validators=[Optional()], render_kw=number)
    if slot.kind == "string":
        return StringField(slot.label, validators=[Optional(), Length(max=TEXT_MAX)])
    if slot.kind in ("tristate", "choice"):
        return SelectField(
            slot.label,
            choices=[SelectChoice(value, text) for value, text in slot.choices],
            default="",
        )
    raise ValueError(f"unknown slot kind {slot.kind!r}")


def _get(document: Any, path: DocPath) -> Any:
    node = document
    for part in path:
        if isinstance(node, Mapping) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def _container(document: dict[str, Any], path: DocPath) -> dict[str, Any] | None:
    """The mapping holding the last part of ``path``, created when missing (None: no place)."""
    node: Any = document
    for part in path[:-1]:
        if isinstance(node, dict) and isinstance(part, str):
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node if isinstance(node, dict) else None


def _apply(document: dict[str, Any], slot: Slot, value: Any) -> None:
    holder = _container(document, slot.path)
    if holder is None:
        return
    key = str(slot.path[-1])
    if slot.kind == "text":
        text = dict(_text(holder.get(key)))
        cleaned = (value or "").strip()
        if cleaned:
            text[str(slot.lang)] = cleaned
        else:
            text.pop(str(slot.lang), None)
        if text:
            holder[key] = text
        else:
            holder.pop(key, None)
    elif slot.kind in ("number", "optional_number"):
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            holder.pop(key, None)
        else:
            holder[key] = value
    elif slot.kind == "tristate":
        if value in ("yes", "no"):
            holder[key] = value == "yes"
        else:
            holder.pop(key, None)
    else:  # string, choice
        cleaned = (value or "").strip()
        if cleaned:
            holder[key] = cleaned
        else:
            holder.pop(key, None)


def _questions_of(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for domain in document.get("domains") or []:
        for indicator in domain.get("indicators") or []:
            yield from indicator.get("questions") or []


def _prune_policies(document: dict[str, Any]) -> None:
    """Drop question-level missing-data policies left with nothing set."""
    for question in _questions_of(document):
        if isinstance(question, dict) and question.get("missing") == {}:
            question.pop("missing")


def describe_path(document: Mapping[str, Any], path: DocPath) -> str:
    """A problem's path in words: ids instead of positions (``SG > SG1 > SG1_focal > weight``)."""
    parts: list[str] = []
    node: Any = document
    for part in path:
        if isinstance(node, list) and isinstance(part, int):
            item = node[part] if 0 <= part < len(node) else None
            if isinstance(item, Mapping) and ("id" in item or "level" in item):
                parts[-1:] = [str(item.get("id", item.get("level")))]
            else:
                parts.append(str(part + 1))
            node = item
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, Mapping) else None
    return " > ".join(parts) or "(rubric)"


def section_names(content: Mapping[str, Any], language: str | None = None) -> list[tuple[str, str]]:
    """(section, title) of every section of the structured editor, in order.

    Domains are named in ``language`` (the page's) when they have a name in it.
    """
    languages = [str(lang) for lang in content.get("languages", ["en"])]
    default = str(content.get("default_language", "en"))
    first = [language] if language else []
    order = [*first, default, *[lang for lang in languages if lang not in (default, language)]]
    names = [("settings", "Settings")]
    for index, domain in enumerate(content.get("domains") or []):
        names.append((str(index), _label(domain, order, str(domain.get("id")))))
    return names


def changed_questions(before: Mapping[str, Any], after: Mapping[str, Any], d: int) -> list[str]:
    """The anchors (``d1i0q2``) of domain ``d``'s questions that differ, or are new, in ``after``.

    A save of a domain keeps the questions it changed open on the page it leads back to.
    """
    anchors = []
    indicators = _get(after, ("domains", d, "indicators")) or []
    for i, indicator in enumerate(indicators):
        for k, question in enumerate(indicator.get("questions") or []):
            if _get(before, ("domains", d, "indicators", i, "questions", k)) != question:
                anchors.append(f"d{d}i{i}q{k}")
    return anchors


@dataclass(frozen=True)
class DomainEntry:
    """A domain in the editor's list of domains."""

    index: int
    code: str
    title: str
    indicators: int
    questions: int


def domain_entries(content: Mapping[str, Any], language: str | None = None) -> list[DomainEntry]:
    """The domains of ``content`` with their counts, named in ``language`` when possible."""
    names = section_names(content, language)[1:]
    entries = []
    for index, domain in enumerate(content.get("domains") or []):
        indicators = domain.get("indicators") or []
        questions = sum(len(i.get("questions") or []) for i in indicators)
        entries.append(
            DomainEntry(index, str(domain.get("id")), names[index][1], len(indicators), questions)
        )
    return entries


__all__ = [
    "QUESTION_TYPES",
    "UPLOAD_EXTENSIONS",
    "Applied",
    "Block",
    "ConfirmForm",
    "DomainEntry",
    "PostButtonForm",
    "PublishForm",
    "SectionEditor",
    "Slot",
    "UploadForm",
    "YamlEditForm",
    "add_errors",
    "changed_questions",
    "describe_path",
    "domain_entries",
    "new_question",
    "section_names",
]
