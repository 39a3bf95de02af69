"""One way to show a number on a page: scores, weights and shares as text in the viewer's
language. Tables (the Jinja filters ``score``, ``decimal`` and ``pct``), chart labels and hover
text (reports.figures) and the PDF all call these, so a chart and its table show the same
characters for the same value. The rounding rule itself is evaluator.rounding's.

Data exports for researchers (CSV, XLSX, SPSS, Stata) keep full precision and a decimal point:
they are read by programs, not people.
"""

from __future__ import annotations

import numpy as np
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import has_request_context
from flask_babel import get_locale, gettext
from numpy.typing import NDArray

from evaluator.rounding import SCORE_DECIMALS, round_half_away, round_half_away_array

DASH = "\u2013"  # an en dash: no value


def decimal_point() -> str:
    """The decimal separator of the viewer's language ("." in English, "," in Greek)."""
    locale = get_locale() if has_request_context() else None
    return str(get_decimal_symbol(locale)) if locale is not None else "."


def group_symbol() -> str:
    """The thousands separator of the viewer's language ("," in English, "." in Greek)."""
    locale = get_locale() if has_request_context() else None
    return str(get_group_symbol(locale)) if locale is not None else ","


def _text(rounded: float, decimals: int) -> str:
    text = f"{rounded:.{decimals}f}"  # exact: ``rounded`` already has ``decimals`` places
    point = decimal_point()
    return text if point == "." else text.replace(".", point)


def number(value: float | None, decimals: int = SCORE_DECIMALS, *, none: str = DASH) -> str:
    """``value`` with ``decimals`` places, halves away from zero, in the viewer's language;
    ``none`` for None and NaN."""
    if value is None or value != value:
        return none
    return _text(round_half_away(float(value), decimals), decimals)


def score(value: float | None, *, none: str = DASH) -> str:
    """A 0-100 score as shown everywhere: one decimal ("41.7"; "41,7" in Greek)."""
    return number(value, SCORE_DECIMALS, none=none)


def chart_score(value: float | None) -> str:
    """A score as chart text: as :func:`score`, and "n/a" where there is none."""
    return score(value, none=str(gettext("n/a")))


def percent(share: float | None) -> str:
    """A share (0-1) as a whole percentage ("88%"), halves away from zero; "n/a" for none."""
    if share is None or share != share:
        return str(gettext("n/a"))
    return f"{round_half_away(float(share) * 100, 0):.0f}%"


def scores(values: NDArray[np.float64], *, none: str = DASH) -> NDArray[np.str_]:
    """Many scores as text at once (the dashboard's thousands of cells): as :func:`score`."""
    if values.size == 0:
        return values.astype(str)
    rounded = round_half_away_array(np.nan_to_num(values), SCORE_DECIMALS)
    text = np.char.mod(f"%.{SCORE_DECIMALS}f", rounded)
    point = decimal_point()
    if point != ".":
        text = np.char.replace(text, ".", point)
    return np.where(np.isnan(values), none, text)
