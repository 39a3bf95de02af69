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


@dataclass(frozen=True)
class PeerBar:
    """One row of the peer chart: the peers' middle half (``q1``-``q3``), their median and the
    NGO's own score, as x positions (None: no score of the NGO here)."""

    label: str
    y: float
    q1: float
    q3: float
    median: float
    own: float | None


@dataclass(frozen=True)
class PeerChart:
    width: int
    height: int
    bar_top: int
    bar_height: int
    rows: list[PeerBar]
    ticks: list[tuple[int, float]]


def peer_chart(
    labels: Sequence[str],
    own: Sequence[float | None],
    q1: Sequence[float],
    median: Sequence[float],
    q3: Sequence[float],
) -> PeerChart:
    """The geometry of the peer benchmark: a bar from Q1 to Q3, a tick at the median and a dot
    at the NGO's score, one row per domain shown (only aggregates, as on the page)."""
    span = CHART_WIDTH - 40

    def x(score: float) -> float:
        return round(span * min(max(score, 0.0), 100.0) / 100.0, 2)

    rows = [
        PeerBar(label, i * ROW_HEIGHT, x(lo), x(hi), x(mid), None if mine is None else x(mine))
        for i, (label, mine, lo, mid, hi) in enumerate(
            zip(labels, own, q1, median, q3, strict=True)
        )
    ]
    ticks = [(value, round(span * value / 100, 2)) for value in (0, 20, 40, 60, 80, 100)]
    return PeerChart(CHART_WIDTH, ROW_HEIGHT * len(rows) + 16, BAR_TOP, BAR_HEIGHT, rows, ticks)


# Small multiples of the trend: panels of this size, three to a row.
PANEL_WIDTH = 150
PANEL_HEIGHT = 70
PANEL_GAP = 15
PANEL_TITLE = 14


@dataclass(frozen=True)
class TrendPanel:
    """One panel of the trend: its title and, per cycle, the point (x, y, value, verified) or
    the reason it has none, drawn where the point would be."""

    title: str
    x: float  # the panel's top-left corner
    y: float
    lines: list[list[tuple[float, float]]]  # runs of consecutive points (a gap breaks a line)
    points: list[tuple[float, float, float, bool]]
    missing: list[tuple[float, str]]  # (x, why)


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    panel_width: int
    panel_height: int
    title_height: int
    cycles: list[tuple[float, str, str]]  # (x within a panel, cycle name, text anchor)
    panels: list[TrendPanel]


def trend_chart(
    cycles: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    notes: Sequence[Sequence[str | None]],
    verified: Sequence[bool],
) -> TrendChart:
    """The geometry of the trend's small multiples (one panel per series, the overall score
    first), as the page draws them; a missing score is written where its point would be."""
    if len(notes) != len(series):
        raise ValueError("notes: one list per series")
    n = len(cycles)
    inner = PANEL_WIDTH - 20
    xs = [10 + (inner * k / (n - 1) if n > 1 else inner / 2) for k in range(n)]

    def y_of(value: float) -> float:
        return round(PANEL_TITLE + PANEL_HEIGHT * (1 - min(max(value, 0.0), 100.0) / 100.0), 2)

    panels = []
    for index, (title, values) in enumerate(series):
        left = (index % 3) * (PANEL_WIDTH + PANEL_GAP)
        top = (index // 3) * (PANEL_TITLE + PANEL_HEIGHT + 2 * PANEL_GAP)
        lines: list[list[tuple[float, float]]] = [[]]
        points, missing = [], []
        for k, value in enumerate(values):
            if value is None:
                lines.append([])
                missing.append((xs[k], notes[index][k] or ""))
                continue
            lines[-1].append((round(xs[k], 2), y_of(value)))
            points.append((round(xs[k], 2), y_of(value), value, bool(verified[k])))
        panels.append(
            TrendPanel(title, left, top, [run for run in lines if len(run) > 1], points, missing)
        )
    rows = -(-len(series) // 3)
    return TrendChart(
        width=3 * PANEL_WIDTH + 2 * PANEL_GAP,
        height=rows * (PANEL_TITLE + PANEL_HEIGHT + 2 * PANEL_GAP),
        panel_width=PANEL_WIDTH,
        panel_height=PANEL_HEIGHT,
        title_height=PANEL_TITLE,
        # The first and last names end at the panel's edges rather than run over them.
        cycles=[
            (
                round(x, 2),
                name,
                "start" if k == 0 and n > 1 else "end" if k == n - 1 and n > 1 else "middle",
            )
            for k, (x, name) in enumerate(zip(xs, cycles, strict=True))
        ],
        panels=panels,
    )
