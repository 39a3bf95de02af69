"""Frozen result objects returned by the engine, and the engine's error types."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class EngineError(ValueError):
    """Invalid input to the engine. The message names the offending argument."""


class SpecError(EngineError):
    """A scoring spec that is internally inconsistent."""


class AnswersError(EngineError):
    """An answer matrix that does not fit the scoring spec."""


class InsufficientDataError(EngineError):
    """Too little data for a statistic to mean anything (too few units, raters or variance)."""


# --- scoring --------------------------------------------------------------------------------

# Why a domain or overall score is NaN. 0 means it is a number.
REASON_OK = 0
REASON_INSUFFICIENT_DATA = 1  # coverage below the rubric's minimum
REASON_NOT_APPLICABLE = 2  # every question in it was not applicable
REASON_LABELS = {
    REASON_OK: "",
    REASON_INSUFFICIENT_DATA: "insufficient data",
    REASON_NOT_APPLICABLE: "not applicable",
}

# Per-question status codes in ScoreResult.question_status.
STATUS_ANSWERED = 0
STATUS_UNANSWERED = 1
STATUS_NOT_APPLICABLE = 2
STATUS_DONT_KNOW = 3
STATUS_NOT_RELEVANT = 4  # hidden by relevance: scored as not applicable
STATUS_UNSCORED = 5  # text / evidence questions


@dataclass(frozen=True, eq=False)
class ScoreResult:
    """Scores of R responses against one scoring spec (all scores on 0-100).

    Arrays have one row per response. NaN marks "no score"; the matching ``*_reason`` array says
    why (``REASON_*``). Coverage is the share of applicable weight that was answered (0-1).
    """

    question_ids: tuple[str, ...]
    indicator_ids: tuple[str, ...]
    domain_ids: tuple[str, ...]
    question_scores: FloatArray  # (R, Q)
    question_status: NDArray[np.int8]  # (R, Q)
    indicator_scores: FloatArray  # (R, I)
    indicator_coverage: FloatArray  # (R, I)
    domain_scores: FloatArray  # (R, D)
    domain_coverage: FloatArray  # (R, D)
    domain_reason: NDArray[np.int8]  # (R, D)
    overall: FloatArray  # (R,)
    overall_coverage: FloatArray  # (R,)
    overall_reason: NDArray[np.int8]  # (R,)
    band: IntArray  # (R,) index into band_labels, -1 where overall is NaN
    band_labels: tuple[str, ...]

    @property
    def n_responses(self) -> int:
        return int(self.overall.shape[0])

    def band_label(self, row: int = 0) -> str:
        """The band label of response ``row`` ("" when it has no overall score)."""
        index = int(self.band[row])
        return self.band_labels[index] if index >= 0 else ""
