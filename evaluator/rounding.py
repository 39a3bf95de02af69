"""The one rounding rule for showing a score: one decimal, halves away from zero.

Scores are 0-100. One decimal tells apart the small changes people track between cycles
(41.7 against 42.3) without claiming more precision than a rubric of a few dozen questions has.

Halves go away from zero ("half up" for scores, which are never negative), not to the even
neighbour as Python's ``round`` and ``format`` do: a rubric whose indicator has four questions
on a 0-25-50-75-100 scale gives scores such as 56.25 all the time, and people (and a
spreadsheet's ROUND, and JavaScript's ``toFixed`` that plotly.js uses) read that as 56.3, while
``round(56.25, 1)`` gives 56.2. Away from zero, not towards +inf, so that a change of -2.25
shows as -2.3 like a change of +2.25 shows as +2.3.

The rule works on the number as stored (a double): ``x * 10`` is rounded to the nearest double
first, which absorbs the representation error of decimal halves (41.65 is stored as
41.6499999..., and ``41.65 * 10`` is exactly 416.5), so a score shown elsewhere as 41.65 rounds
to 41.7 as a person would expect. The scalar and the array forms do the same floating-point
operations in the same order, so a table cell and a chart label of the same score agree.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

SCORE_DECIMALS = 1
"""Decimals of a score as shown (tables, charts, PDF, exports meant for reading)."""


def round_half_away(value: float, decimals: int = SCORE_DECIMALS) -> float:
    """``value`` rounded to ``decimals`` places, halves away from zero; NaN stays NaN.

    Parameters
    ----------
    value : float
        The number to round.
    decimals : int
        Places after the decimal point (0 or more).

    Returns
    -------
    float
        ``sign(value) * floor(|value| * 10**decimals + 0.5) / 10**decimals``.
    """
    if decimals < 0:
        raise ValueError("decimals: must be 0 or more")
    if value != value or math.isinf(value):
        return value
    scale = 10.0**decimals
    return math.copysign(math.floor(abs(value) * scale + 0.5) / scale, value) + 0.0


def round_half_away_array(
    values: NDArray[np.float64], decimals: int = SCORE_DECIMALS
) -> NDArray[np.float64]:
    """The array form of :func:`round_half_away` (same operations, element by element)."""
    if decimals < 0:
        raise ValueError("decimals: must be 0 or more")
    scale = 10.0**decimals
    magnitude = np.floor(np.abs(values) * scale + 0.5) / scale
    return np.asarray(np.copysign(magnitude, values) + 0.0, dtype=np.float64)
