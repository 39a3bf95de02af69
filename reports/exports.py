"""Exports as bytes: CSV / XLSX / SPSS / PDF.

The PDF scorecard (issue 9, section 3) is rendered by WeasyPrint from its own template,
``reports/scorecard_pdf.html``, fed by the same data as the HTML scorecard. Its chart is a
static SVG drawn by that template from :func:`bar_chart`'s geometry, not a kaleido image:
kaleido is not among the project's dependencies, and it would start a Chromium inside the web
worker (about 5 s on first use, then a long-lived browser per process) for a plain bar chart
that a few SVG rectangles draw in well under a millisecond, with text that stays text in the
PDF (selectable, and readable by ``pdftotext``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import render_template

# --- the PDF scorecard ---------------------------------------------------------------------------

# The chart's geometry, in SVG user units (the template scales it to the page's width).
CHART_WIDTH = 480
ROW_HEIGHT = 34
BAR_TOP = 14  # below the row's label
BAR_HEIGHT = 14
SCORE_GAP = 4


@dataclass(frozen=True)
class Bar:
    """One domain's bar: its label, score (None: no score, ``reason`` says why) and where it
    is drawn."""

    label: str
    score: float | None
    reason: str | None
    y: float  # top of the row (the label's baseline is below it)
    width: float  # the bar's length, 0 when there is no score
    second: float | None = None  # a second score drawn as a thin bar (self beside verified)
    second_width: float = 0.0


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bar_top: int
    bar_height: int
    bars: list[Bar]
    ticks: list[tuple[int, float]]  # (value, x)


def bar_chart(
    labels: Sequence[str],
    scores: Sequence[float | None],
    reasons: Sequence[str | None],
    second: Sequence[float | None] | None = None,
) -> BarChart:
    """The geometry of a horizontal bar chart of 0-100 scores, one row per label (the label
    above its bar, so long labels in any language keep the whole width)."""
    if not len(labels) == len(scores) == len(reasons):
        raise ValueError("scores: one score and one reason per label")
    if second is not None and len(second) != len(labels):
        raise ValueError("second: one score per label")
    span = CHART_WIDTH - 40  # room for the score after a full bar

    def length(score: float | None) -> float:
        return 0.0 if score is None else round(span * min(max(score, 0.0), 100.0) / 100.0, 2)

    bars = [
        Bar(
            label=label,
            score=score,
            reason=reason,
            y=i * ROW_HEIGHT,
            width=length(score),
            second=second[i] if second is not None else None,
            second_width=length(second[i]) if second is not None else 0.0,
        )
        for i, (label, score, reason) in enumerate(zip(labels, scores, reasons, strict=True))
    ]
    ticks = [(value, round(span * value / 100, 2)) for value in (0, 20, 40, 60, 80, 100)]
    return BarChart(CHART_WIDTH, ROW_HEIGHT * len(bars) + 16, BAR_TOP, BAR_HEIGHT, bars, ticks)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def pdf_filename(*parts: str) -> str:
    """``scorecard-<org>-<cycle>.pdf`` from codes people chose: anything but ASCII letters,
    digits, dot, dash and underscore becomes a dash (no quotes, slashes or newlines reach the
    Content-Disposition header)."""
    cleaned = [_UNSAFE.sub("-", part).strip("-.") for part in parts]
    return "-".join(part for part in cleaned if part)[:150] + ".pdf"


def render_pdf(html: str) -> bytes:
    """Self-contained HTML (inline CSS and SVG, system fonts) to PDF bytes. Only ``data:``
    URLs are fetched: nothing a page holds can make the server open a file or a connection."""
    import weasyprint  # imported on first use: it loads Pango, which most requests never need
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=["data"])
    return bytes(weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf())


def scorecard_pdf(**context: Any) -> bytes:
    """The printable scorecard of one assessment, in the current request's language: the
    context of ``reports/scorecard_pdf.html`` in, PDF bytes out."""
    return render_pdf(render_template("reports/scorecard_pdf.html", **context))
