"""What changed between two versions of a rubric.

:func:`diff_rubrics` compares two :class:`~rubrics.schema.Rubric` objects and returns a
:class:`RubricDiff`: the rubric-level settings that changed (title, scale, bands, missing-data
policy, ...), the domains and indicators added, removed or changed, and the questions added,
removed or changed. Questions are matched by id, or through ``previous_id`` when a question was
renamed (reported as renamed). Every change is a :class:`FieldChange`: a dotted field path with
the old and the new value, where lists keyed by an id are walked by that id (``options.yes.score``,
``levels.2.descriptor.el``) so that an option added, removed, relabelled or rescored reads as such.

Pure: the schema and the standard library only (no web, no database).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rubrics.schema import Domain, Indicator, Question, Rubric

JSONValue = Any
"""A value as found in a rubric's JSON: None, bool, number, string, list or mapping."""

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: ``field`` is a dotted path, ``old``/``new`` are JSON values.

    ``old`` is None when the field was added, ``new`` is None when it was removed.
    """

    field: str
    old: JSONValue
    new: JSONValue

    @property
    def kind(self) -> ChangeKind:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"

    @property
    def topic(self) -> str:
        """The first part of the path (``label``, ``options``, ``weight``, ...)."""
        return self.field.split(".", 1)[0]

    def to_json(self) -> dict[str, JSONValue]:
        return {"field": self.field, "kind": self.kind, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class SectionEntry:
    """A domain, indicator or question that exists in only one of the versions."""

    id: str
    label: Mapping[str, str]
    domain: str | None = None  # indicators and questions: where they are
    indicator: str | None = None  # questions
    type: str | None = None  # questions

    def to_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {"id": self.id, "label": dict(self.label)}
        for key in ("domain", "indicator", "type"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class SectionChange:
    """A domain, indicator or question present in both versions, with what changed in it.

    For a question renamed through ``previous_id``, ``id`` is its new id and ``previous_id`` the
    id it had in the old version.
    """

    id: str
    label: Mapping[str, str]
    changes: tuple[FieldChange, ...]
    previous_id: str | None = None

    @property
    def renamed(self) -> bool:
        return self.previous_id is not None

    def to_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {"id": self.id, "label": dict(self.label)}
        if self.previous_id is not None:
            data["previous_id"] = self.previous_id
        data["renamed"] = self.renamed
        data["changes"] = [change.to_json() for change in self.changes]
        return data


@dataclass(frozen=True)
class SectionDiff:
    """Domains, indicators or questions: added, removed and changed."""

    added: tuple[SectionEntry, ...] = ()
    removed: tuple[SectionEntry, ...] = ()
    changed: tuple[SectionChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "added": [entry.to_json() for entry in self.added],
            "removed": [entry.to_json() for entry in self.removed],
            "changed": [change.to_json() for change in self.changed],
        }


@dataclass(frozen=True)
class RubricDiff:
    """Everything that differs between ``old`` and ``new`` (see :func:`diff_rubrics`)."""

    old_id: str
    new_id: str
    settings: tuple[FieldChange, ...]  # rubric level: title, languages, scale, bands, missing...
    domains: SectionDiff
    indicators: SectionDiff
    questions: SectionDiff

    @property
    def empty(self) -> bool:
        return not self.settings and all(
            part.empty for part in (self.domains, self.indicators, self.questions)
        )

    @property
    def renamed(self) -> tuple[SectionChange, ...]:
        """The questions matched through ``previous_id``."""
        return tuple(change for change in self.questions.changed if change.renamed)

    def summary(self) -> dict[str, int]:
        counts = {"settings_changed": len(self.settings)}
        for name in ("domains", "indicators", "questions"):
            part: SectionDiff = getattr(self, name)
            counts[f"{name}_added"] = len(part.added)
            counts[f"{name}_removed"] = len(part.removed)
            counts[f"{name}_changed"] = len(part.changed)
        counts["questions_renamed"] = len(self.renamed)
        return counts

    def to_json(self) -> dict[str, JSONValue]:
        """The diff as JSON-ready data (plain dicts, lists, strings, numbers, booleans)."""
        return {
            "old_id": self.old_id,
            "new_id": self.new_id,
            "empty": self.empty,
            "summary": self.summary(),
            "settings": [change.to_json() for change in self.settings],
            "domains": self.domains.to_json(),
            "indicators": self.indicators.to_json(),
            "questions": self.questions.to_json(),
        }


# --- comparison --------------------------------------------------------------------------------


def _walk(old: JSONValue, new: JSONValue, path: str) -> Iterator[FieldChange]:
    """Every leaf that differs between two JSON trees (mappings are walked, lists are leaves)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        keys = list(old) + [key for key in new if key not in old]
        for key in keys:
            yield from _walk(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
    elif old != new:
        yield FieldChange(path, old, new)


def _keyed(items: list[dict[str, JSONValue]], key: str) -> dict[str, JSONValue]:
    """A list of mappings as a mapping from each item's ``key`` (the rest of the item)."""
    return {str(item[key]): {k: v for k, v in item.items() if k != key} for item in items}


def _dump(model: Any, exclude: set[str]) -> dict[str, JSONValue]:
    data: dict[str, JSONValue] = model.model_dump(mode="json", exclude_none=True, exclude=exclude)
    return data


def _order_change(field: str, old: list[str], new: list[str]) -> list[FieldChange]:
    """The order of items present in both versions, when it changed."""
    kept_old = [item for item in old if item in new]
    kept_new = [item for item in new if item in old]
    return [FieldChange(field, kept_old, kept_new)] if kept_old != kept_new else []


def _settings_view(rubric: Rubric) -> dict[str, JSONValue]:
    data = _dump(rubric, {"id", "domains", "scale", "bands"})
    data["scale"] = {
        "min": rubric.scale.min,
        "max": rubric.scale.max,
        "levels": _keyed([level.model_dump(mode="json") for level in rubric.scale.levels], "level"),
    }
    return data


def _band_changes(old: Rubric, new: Rubric) -> list[FieldChange]:
    old_bands = [band.model_dump(mode="json") for band in old.bands]
    new_bands = [band.model_dump(mode="json") for band in new.bands]
    if len(old_bands) != len(new_bands):  # bands added or removed: show both lists whole
        return [FieldChange("bands", old_bands, new_bands)]
    changes: list[FieldChange] = []
    for index, (before, after) in enumerate(zip(old_bands, new_bands, strict=True)):
        changes.extend(_walk(before, after, f"bands.{index}"))
    return changes


def _question_view(
    question: Question, domain: Domain, indicator: Indicator
) -> dict[str, JSONValue]:
    """A question as a tree whose leaves are the fields worth reporting one by one."""
    data = _dump(
        question, {"id", "previous_id", "options", "levels", "required", "number", "missing"}
    )
    shared = data.pop("indicator", None)  # the codebook's indicator, not the rubric's
    data["domain"] = domain.id
    data["indicator"] = indicator.id
    if shared is not None:
        data["shared_indicator"] = shared
    data["required"] = question.is_required  # the effective value: None means "if scored"
    if question.options:
        data["options"] = _keyed(
            [option.model_dump(mode="json", exclude_none=True) for option in question.options],
            "id",
        )
    if question.levels:
        data["levels"] = _keyed(
            [level.model_dump(mode="json") for level in question.levels], "level"
        )
    if question.number is not None:
        number = _dump(question.number, {"bands"})
        if question.number.bands:
            number["bands"] = [band.model_dump(mode="json") for band in question.number.bands]
        data["number"] = number
    if question.missing is not None:
        missing = _dump(question.missing, set())
        if missing:
            data["missing"] = missing
    return data


def _question_changes(
    old: tuple[Question, Domain, Indicator], new: tuple[Question, Domain, Indicator]
) -> list[FieldChange]:
    old_view = _question_view(*old)
    new_view = _question_view(*new)
    changes = list(_walk(old_view, new_view, ""))
    changes.extend(
        _order_change(
            "options.order",
            [option.id for option in old[0].options],
            [option.id for option in new[0].options],
        )
    )
    return changes


def _questions(rubric: Rubric) -> dict[str, tuple[Question, Domain, Indicator]]:
    return {question.id: (question, domain, ind) for domain, ind, question in rubric.questions()}


def _match_questions(
    old: Mapping[str, tuple[Question, Domain, Indicator]],
    new: Mapping[str, tuple[Question, Domain, Indicator]],
) -> list[tuple[str, str]]:
    """(old id, new id) pairs: by ``previous_id`` when the old id is gone, else by id."""
    pairs: list[tuple[str, str]] = []
    claimed: set[str] = set()
    for new_id, (question, _, _) in new.items():
        previous = question.previous_id
        if (
            previous is not None
            and previous != new_id
            and previous in old
            and previous not in new
            and previous not in claimed
        ):
            pairs.append((previous, new_id))
            claimed.add(previous)
        elif new_id in old:
            pairs.append((new_id, new_id))
            claimed.add(new_id)
    return pairs


def _entry(section: Domain | Indicator, domain: Domain | None = None) -> SectionEntry:
    return SectionEntry(section.id, dict(section.label), domain=domain.id if domain else None)


def _diff_domains(old: Rubric, new: Rubric) -> SectionDiff:
    old_domains = {domain.id: domain for domain in old.domains}
    new_domains = {domain.id: domain for domain in new.domains}
    changed: list[SectionChange] = []
    for domain_id, after in new_domains.items():
        before = old_domains.get(domain_id)
        if before is None:
            continue
        changes = list(
            _walk(_dump(before, {"id", "indicators"}), _dump(after, {"id", "indicators"}), "")
        )
        if changes:
            changed.append(SectionChange(domain_id, dict(after.label), tuple(changes)))
    return SectionDiff(
        added=tuple(_entry(d) for key, d in new_domains.items() if key not in old_domains),
        removed=tuple(_entry(d) for key, d in old_domains.items() if key not in new_domains),
        changed=tuple(changed),
    )


def _indicators(rubric: Rubric) -> dict[str, tuple[Indicator, Domain]]:
    return {ind.id: (ind, domain) for domain in rubric.domains for ind in domain.indicators}


def _diff_indicators(old: Rubric, new: Rubric) -> SectionDiff:
    old_indicators, new_indicators = _indicators(old), _indicators(new)
    changed: list[SectionChange] = []
    for indicator_id, (after, after_domain) in new_indicators.items():
        if indicator_id not in old_indicators:
            continue
        before, before_domain = old_indicators[indicator_id]
        old_view = {"domain": before_domain.id, **_dump(before, {"id", "questions"})}
        new_view = {"domain": after_domain.id, **_dump(after, {"id", "questions"})}
        changes = list(_walk(old_view, new_view, ""))
        if changes:
            changed.append(SectionChange(indicator_id, dict(after.label), tuple(changes)))
    return SectionDiff(
        added=tuple(
            _entry(ind, domain)
            for key, (ind, domain) in new_indicators.items()
            if key not in old_indicators
        ),
        removed=tuple(
            _entry(ind, domain)
            for key, (ind, domain) in old_indicators.items()
            if key not in new_indicators
        ),
        changed=tuple(changed),
    )


def _question_entry(question: Question, domain: Domain, indicator: Indicator) -> SectionEntry:
    return SectionEntry(
        question.id,
        dict(question.label),
        domain=domain.id,
        indicator=indicator.id,
        type=question.type,
    )


def _diff_questions(old: Rubric, new: Rubric) -> SectionDiff:
    old_questions, new_questions = _questions(old), _questions(new)
    pairs = _match_questions(old_questions, new_questions)
    matched_old = {old_id for old_id, _ in pairs}
    matched_new = {new_id for _, new_id in pairs}
    changed: list[SectionChange] = []
    for old_id, new_id in pairs:
        changes = _question_changes(old_questions[old_id], new_questions[new_id])
        renamed = old_id != new_id
        if changes or renamed:
            question = new_questions[new_id][0]
            changed.append(
                SectionChange(
                    new_id,
                    dict(question.label),
                    tuple(changes),
                    previous_id=old_id if renamed else None,
                )
            )
    return SectionDiff(
        added=tuple(
            _question_entry(*found)
            for key, found in new_questions.items()
            if key not in matched_new
        ),
        removed=tuple(
            _question_entry(*found)
            for key, found in old_questions.items()
            if key not in matched_old
        ),
        changed=tuple(changed),
    )


def diff_rubrics(old: Rubric, new: Rubric) -> RubricDiff:
    """What changed from ``old`` to ``new``.

    Parameters
    ----------
    old, new
        Two validated rubrics, usually two versions of the same rubric.

    Returns
    -------
    RubricDiff
        ``settings``: rubric-level fields that changed (``title.el``, ``scale.levels.2.label.en``,
        ``bands.1.min``, ``missing.min_coverage``, ...; ``bands`` whole when bands were added or
        removed; ``domains.order`` when the domains were reordered). ``domains``, ``indicators``
        and ``questions``: what was added, removed and changed. Question changes name the field:
        ``label.<lang>``, ``guidance.<lang>``, ``hint.<lang>``, ``type``, ``weight``,
        ``required`` (the effective value), ``relevant``, ``options.<id>`` (added or removed),
        ``options.<id>.label.<lang>``, ``options.<id>.score``, ``options.order``,
        ``levels.<n>.descriptor.<lang>``, ``number.<field>``, ``missing.<field>``, ``combine``,
        ``cap``, and ``domain``/``indicator`` when the question moved.

    Notes
    -----
    A question of ``new`` whose ``previous_id`` names a question of ``old`` that no longer exists
    under that id is matched to it and reported as renamed (``previous_id`` set on the change),
    even when nothing else changed. The order of questions inside an indicator is not reported.
    """
    settings = list(_walk(_settings_view(old), _settings_view(new), ""))
    settings.extend(_band_changes(old, new))
    settings.extend(
        _order_change("domains.order", [d.id for d in old.domains], [d.id for d in new.domains])
    )
    return RubricDiff(
        old_id=old.id,
        new_id=new.id,
        settings=tuple(settings),
        domains=_diff_domains(old, new),
        indicators=_diff_indicators(old, new),
        questions=_diff_questions(old, new),
    )
