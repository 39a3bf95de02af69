"""Reading an export file (CSV or XLSX) into a header and rows of text, with messages people
can act on: a wrong file type, an empty file, a CSV that is not UTF-8 or whose delimiter is not
one the tools write.

KoboToolbox writes CSV with ``;`` between values (and XLSX); ODK Central writes CSV with ``,``.
Both may start with a byte-order mark when a spreadsheet program saved them again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook

DELIMITERS = (",", ";", "\t")
MAX_COLUMNS = 2000
MAX_CELL = 20_000


class ImportFileError(ValueError):
    """The file cannot be read as an export; the message says why and what to do."""


@dataclass(frozen=True)
class Table:
    """An export's first sheet: its header and its rows, every cell as text."""

    header: list[str]
    rows: list[list[str]]
    kind: str  # "csv" | "xlsx"
    delimiter: str | None = None  # for CSV


def read_table(data: bytes, filename: str, *, max_rows: int) -> Table:
    """The header and rows of ``data``. Raises :class:`ImportFileError`."""
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise ImportFileError(_l("%(name)s is empty.", name=filename))
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, filename, max_rows=max_rows)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            _l(
                "%(name)s is an old Excel workbook (.xls): save it as .xlsx or CSV, or export "
                "it again from KoboToolbox or ODK Central.",
                name=filename,
            )
        )
    if b"\x00" in data[:4096]:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ImportFileError(
                _l(
                    "%(name)s is UTF-16 text: save it as CSV UTF-8 (comma delimited) and "
                    "upload it again.",
                    name=filename,
                )
            )
        raise ImportFileError(_l("%(name)s is not a CSV or XLSX export.", name=filename))
    return _read_csv(data, filename, max_rows=max_rows)


def _read_csv(data: bytes, filename: str, *, max_rows: int) -> Table:
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is dropped
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            _l(
                "%(name)s, line %(line)s: not UTF-8 text. Save the file as CSV UTF-8 and "
                "upload it again.",
                name=filename,
                line=line,
            )
        ) from None
    first = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=lambda d: _count_outside_quotes(first, d))
    if _count_outside_quotes(first, delimiter) == 0:
        raise ImportFileError(
            _l(
                "%(name)s: the first line has a single column. KoboToolbox separates values "
                "with ; and ODK Central with , (a tab works too): is this the export?",
                name=filename,
            )
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [cell.strip() for cell in next(reader)]
        rows: list[list[str]] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(rows) >= max_rows:
                raise ImportFileError(_too_many(filename, max_rows))
            rows.append(row)
    except csv.Error as exc:
        raise ImportFileError(
            _l(
                "%(name)s, line %(line)s: %(problem)s",
                name=filename,
                line=reader.line_num,
                problem=str(exc),
            )
        ) from None
    return _checked(Table(header, rows, "csv", delimiter), filename)


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def _read_xlsx(data: bytes, filename: str, *, max_rows: int) -> Table:
    # The first sheet holds the submissions (Kobo puts repeat groups on the next ones).
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ImportFileError(
            _l("%(name)s is not a CSV or XLSX export (the workbook cannot be read).", name=filename)
        ) from None
    try:
        if not book.worksheets:
            raise ImportFileError(_l("%(name)s is empty.", name=filename))
        if {"survey", "choices"} <= {sheet.title.lower() for sheet in book.worksheets}:
            raise ImportFileError(
                _l(
                    "%(name)s is an XLSForm (it has survey and choices sheets), not the "
                    "export of its submissions: download the data from KoboToolbox or ODK "
                    "Central and upload that.",
                    name=filename,
                )
            )
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header_cells = next(lines, None)
        if header_cells is None:
            raise ImportFileError(_l("%(name)s is empty.", name=filename))
        header = [_text(cell).strip() for cell in header_cells]
        while header and not header[-1]:
            header.pop()
        rows: list[list[str]] = []
        for cells in lines:
            row = [_text(cell) for cell in cells[: len(header)]]
            if not any(cell.strip() for cell in row):
                continue
            if len(rows) >= max_rows:
                raise ImportFileError(_too_many(filename, max_rows))
            rows.append(row)
    except ImportFileError:
        raise
    except Exception:  # a damaged workbook must give a message, never a 500
        raise ImportFileError(
            _l("%(name)s is not a CSV or XLSX export (the workbook cannot be read).", name=filename)
        ) from None
    finally:
        book.close()
    return _checked(Table(header, rows, "xlsx"), filename)


def _text(cell: Any) -> str:
    """A cell as the text the tool wrote (Kobo stores numbers and dates typed in XLSX)."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "1" if cell else "0"
    if isinstance(cell, dt.datetime):
        if cell.time() == dt.time(0, 0):
            return cell.date().isoformat()
        return cell.isoformat()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float) and math.isfinite(cell) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _too_many(filename: str, max_rows: int) -> Any:
    return _l(
        "%(name)s has more than %(n)s rows: split it, or export fewer submissions.",
        name=filename,
        n=max_rows,
    )


def _checked(table: Table, filename: str) -> Table:
    if not any(table.header):
        raise ImportFileError(_l("%(name)s is empty.", name=filename))
    if len(table.header) > MAX_COLUMNS:
        raise ImportFileError(
            _l("%(name)s has more than %(n)s columns.", name=filename, n=MAX_COLUMNS)
        )
    if not table.rows:
        raise ImportFileError(_l("%(name)s has a header but no submissions.", name=filename))
    return table
