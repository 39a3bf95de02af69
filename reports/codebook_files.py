"""The shared indicator codebook as a table, CSV and XLSX (the browse page's downloads).

One row per indicator (its code, theme, name and definition in each language, scale, unit,
disaggregation, sources and the rubric questions that measure it), then one row per value of
an ordinal or binary scale with its label in each language. Cells are written as the data
exports write them: text that a spreadsheet would run as a formula gets a leading ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reports.data_exports import _cell, _xlsx_cell
from rubrics.codebook import Codebook


def codebook_rows(
    codebook: Codebook, measured_by: Mapping[str, Sequence[str]] | None = None
) -> Iterator[list[Any]]:
    languages = list(codebook.languages)
    yield [
        "code", "theme", *(f"name_{lang}" for lang in languages),
        *(f"definition_{lang}" for lang in languages), "scale", "value",
        *(f"value_label_{lang}" for lang in languages), *(f"unit_{lang}" for lang in languages),
        "disaggregation", "sources", "measured_by",
    ]  # fmt: skip
    for indicator in codebook.indicators:
        scale = indicator.scale
        sources = "; ".join(
            f"{source.framework}, {source.reference}" if source.reference else source.framework
            for source in indicator.sources
        )
        unit = scale.unit or {}
        yield [
            indicator.code, indicator.theme or "",
            *(indicator.name.get(lang, "") for lang in languages),
            *(indicator.definition.get(lang, "") for lang in languages),
            scale.type, "", *("" for _lang in languages),
            *(unit.get(lang, "") for lang in languages),
            " ".join(indicator.disaggregation), sources,
            " ".join((measured_by or {}).get(indicator.code, ())),
        ]  # fmt: skip
        for level in scale.values():
            yield [
                indicator.code, "", *("" for _lang in languages), *("" for _lang in languages),
                "", level.value, *(level.label.get(lang, "") for lang in languages),
                *("" for _lang in languages), "", "", "",
            ]  # fmt: skip


def codebook_csv(codebook: Codebook, measured_by: Mapping[str, Sequence[str]] | None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in codebook_rows(codebook, measured_by):
        writer.writerow([_cell(v) for v in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def codebook_xlsx(codebook: Codebook, measured_by: Mapping[str, Sequence[str]] | None) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("codebook")
    for row in codebook_rows(codebook, measured_by):
        sheet.append([_xlsx_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
