"""Plotly figure builders: plain data in, ``go.Figure`` out. The only module importing plotly."""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import plotly
import plotly.graph_objects as go
import plotly.io.json
from babel import dates
from flask import has_request_context
from flask_babel import get_locale, gettext

from evaluator.rounding import round_half_away
from reports.numbers import chart_score, decimal_point, group_symbol, number, percent

# plotly.js ships inside the plotly package; the app serves that file (never a CDN).
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@dataclass(frozen=True)
class Bundle:
    data: bytes
    etag: str
    modified: float


@cache
def plotly_bundle() -> Bundle:
    """plotly.js as shipped with the plotly package (read once per process)."""
    data = PLOTLY_JS.read_bytes()
    return Bundle(data, hashlib.sha256(data).hexdigest()[:32], PLOTLY_JS.stat().st_mtime)


PALETTE = {"score": "#1f6f8b", "missing": "#b9c4cc", "band": "#e8eef2"}


def domain_bars(
    labels: Sequence[str],
    scores: Sequence[float | None],
    coverage: Sequence[float | None],
    *,
    title: str = "",
) -> go.Figure:
    """Horizontal bars of domain scores (0-100), with coverage in the hover text.

    Domains without a score are drawn as an empty grey bar labelled "insufficient data".
    """
    shown = [0.0 if s is None else s for s in scores]
    text = [gettext("insufficient data") if s is None else chart_score(s) for s in scores]
    colours = [PALETTE["missing"] if s is None else PALETTE["score"] for s in scores]
    score, share = gettext("score"), gettext("coverage")
    hover = [  # plotly renders a few HTML tags in hover text: escape what people typed
        f"{html.escape(label)}<br>{score}: {t}<br>{share}: {percent(c)}"
        for label, t, c in zip(labels, text, coverage, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=shown,
            y=list(labels),
            orientation="h",
            marker_color=colours,
            text=text,
            textposition="auto",
            hovertext=hover,
            hoverinfo="text",
        )
    )
    fig.update_layout(
        title=title or None,
        xaxis={
            "range": [0, 101],
            "title": gettext("score (0-100)"),
            "tickvals": [0, 20, 40, 60, 80, 100],
        },
        yaxis={"autorange": "reversed", "automargin": True},
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 40},
        height=80 + 48 * len(labels),
        plot_bgcolor="white",
        font={"family": "DejaVu Sans, Arial, sans-serif"},
    )
    return fig


def to_json(fig: go.Figure) -> str:
    """The figure as JSON, safe inside ``<script type="application/json">`` (drawn by
    static/charts.js): ``<``, ``>`` and ``&`` are escaped so no label can close the element.

    plotly.js also reads a few HTML tags in every text it draws (tick labels, legends, titles,
    annotations, hover text): ``<a href>`` becomes a live link, ``<span style>`` styles it. So
    every ``<`` and ``>`` of every string of the figure becomes an entity, which plotly shows
    as the character itself; only the ``<br>`` line breaks the builders write stay tags.
    Entities are left as they are: plotly turns them into text, never into tags, so a label a
    builder escaped already shows once.
    """
    figure = _neutralise(json.loads(fig.to_json()))
    _make_static(figure["layout"])
    figure["layout"]["separators"] = decimal_point() + group_symbol()
    figure["config"] = chart_config()
    text = json.dumps(figure, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _make_static(layout: dict[str, Any]) -> None:
    """A chart is a labelled picture with its table beside it (issue 10, section 7): no zoom or
    pan by dragging, no legend click that hides a series. Clicks on a mark still work (the
    dashboard's marks open their scorecard)."""
    layout["dragmode"] = False
    for key in [k for k in layout if k.startswith(("xaxis", "yaxis"))] or ["xaxis", "yaxis"]:
        layout.setdefault(key, {})["fixedrange"] = True
    legend = layout.setdefault("legend", {})
    legend["itemclick"] = False
    legend["itemdoubleclick"] = False


def chart_config() -> dict[str, Any]:
    """plotly.js's configuration for every chart, in the viewer's language: no mode bar (its
    buttons would be focusable controls inside an image: axe's nested-interactive), and a
    locale (``config.locales``) built from Babel's data and the app's translations, since the
    plotly package ships no locale file and the page loads no CDN. plotly.js writes few words
    of its own here: the labels of a box's hover text, named as the tables name them."""
    locale = get_locale() if has_request_context() else None
    name = str(locale) if locale is not None else "en"
    dictionary = {
        "lower fence:": gettext("minimum:"),
        "upper fence:": gettext("maximum:"),
        "min:": gettext("minimum:"),
        "max:": gettext("maximum:"),
        "q1:": gettext("lower quartile:"),
        "q3:": gettext("upper quartile:"),
        "median:": gettext("median:"),
        "mean:": gettext("mean:"),
    }
    form: dict[str, Any] = {"decimal": decimal_point(), "thousands": group_symbol()}
    if locale is not None:  # plotly.js's own date words, Sunday first as d3 wants them
        days = dates.get_day_names("wide", "stand-alone", locale)
        short_days = dates.get_day_names("abbreviated", "stand-alone", locale)
        months = dates.get_month_names("wide", "stand-alone", locale)
        short_months = dates.get_month_names("abbreviated", "stand-alone", locale)
        form |= {
            "days": [str(days[(d + 6) % 7]) for d in range(7)],
            "shortDays": [str(short_days[(d + 6) % 7]) for d in range(7)],
            "months": [str(months[m]) for m in range(1, 13)],
            "shortMonths": [str(short_months[m]) for m in range(1, 13)],
        }
    return {
        "displayModeBar": False,
        "displaylogo": False,
        "responsive": True,
        "scrollZoom": False,
        "doubleClick": False,
        "showTips": False,
        "locale": name,
        "locales": {name: {"dictionary": dictionary, "format": form}},
    }


def _neutralise(value: Any) -> Any:
    """Every string in ``value`` (JSON data) with ``<`` and ``>`` as entities, ``<br>`` kept."""
    if isinstance(value, str):
        if "<" not in value and ">" not in value:
            return value
        return "<br>".join(
            part.replace("<", "&lt;").replace(">", "&gt;") for part in value.split("<br>")
        )
    if isinstance(value, list):
        return [_neutralise(item) for item in value]
    if isinstance(value, dict):
        return {key: _neutralise(item) for key, item in value.items()}
    return value


# --- the comparative dashboard (many NGOs) -----------------------------------------------------
# Every mark of an NGO carries its scorecard's URL as customdata: static/charts.js follows a
# click on it. Names are escaped wherever plotly reads HTML (hover text, tick labels).


# The frame every chart of the reports shares (the scorecard's figures and the dashboard's).
FRAME = {
    "margin": {"l": 10, "r": 10, "t": 10, "b": 40},
    "plot_bgcolor": "white",
    "font": {"family": "DejaVu Sans, Arial, sans-serif"},
}


def _number(value: float | None) -> str:
    """A score as chart text: as in the tables (reports.numbers), "n/a" for None and NaN."""
    return chart_score(value)


@dataclass(frozen=True)
class BoxStats:
    """Five-number summaries of one country's domain scores (one entry per domain)."""

    country: str
    n: list[int]
    minimum: list[float]
    q1: list[float]
    median: list[float]
    q3: list[float]
    maximum: list[float]


class PlainFigure:
    """A figure as the plain dicts plotly.js reads, serialised by plotly's own JSON encoder.

    The dashboard builds its charts on every request: plotly's graph objects validate every
    property as they are built and deep-copy everything again in ``to_json`` (most of the page's
    time at 5,000 NGOs, per pyinstrument: bench/bench_dashboard.py --profile). These builders
    write the few properties they need as dicts instead, once; ``to_json`` (above) serialises
    them like a ``go.Figure``. Without plotly.py's default template the charts take plotly.js's
    own defaults (colours, fonts), and FRAME as the others.
    """

    __slots__ = ("data", "layout")

    def __init__(self, data: list[dict[str, Any]], layout: dict[str, Any]) -> None:
        self.data = data
        self.layout = layout

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "layout": self.layout}

    def to_json(self) -> str:
        return str(plotly.io.json.to_json_plotly(self.to_dict()))


def _plain_layout(
    *, height: int, xtitle: str = "", ytitle: str = "", **more: Any
) -> dict[str, Any]:
    """FRAME, a height and axis titles, as plotly.js reads them (``title: {text}``)."""
    layout: dict[str, Any] = {
        **FRAME,
        "height": height,
        "xaxis": {"automargin": True, **({"title": {"text": xtitle}} if xtitle else {})},
        "yaxis": {"automargin": True, **({"title": {"text": ytitle}} if ytitle else {})},
    }
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def score_heatmap(
    names: Sequence[str],
    domain_labels: Sequence[str],
    scores: Sequence[Sequence[float]],
    urls: Sequence[str],
) -> PlainFigure:
    """NGOs (rows, in the given order) x domains (columns), coloured by score 0-100; NaN cells
    are left blank."""
    rows = list(range(len(names)))
    z = [[None if v != v else float(v) for v in row] for row in scores]
    labels = [html.escape(label) for label in domain_labels]
    escaped = [html.escape(name) for name in names]
    hover = [
        [f"{name}<br>{label}: {_number(float(v))}" for label, v in zip(labels, row, strict=True)]
        for name, row in zip(escaped, scores, strict=True)
    ]
    trace = {
        "type": "heatmap",
        "z": z,
        "x": labels,
        "y": rows,
        "zmin": 0,
        "zmax": 100,
        "colorscale": "Blues",
        "colorbar": {"title": {"text": gettext("score")}},
        "customdata": [[url] * len(labels) for url in urls],
        "hovertext": hover,
        "hoverinfo": "text",
        "xgap": 1,
        "ygap": 1,
    }
    layout = _plain_layout(
        height=120 + 22 * len(names),
        xaxis={"side": "top", "tickangle": -30},
        yaxis={"tickvals": rows, "ticktext": escaped, "autorange": "reversed"},
    )
    return PlainFigure([trace], layout)


def rank_intervals(
    names: Sequence[str],
    rank: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    urls: Sequence[str],
) -> PlainFigure:
    """Each NGO's published rank (a dot) and its 90% rank interval (a horizontal bar)."""
    rows = list(range(len(names)))
    label = gettext("rank")
    interval = gettext("interval (90%)")
    escaped = [html.escape(n) for n in names]
    hover = [
        f"{n}<br>{label}: {r:g}<br>{interval}: {lo:g}-{hi:g}"
        for n, r, lo, hi in zip(escaped, rank, low, high, strict=True)
    ]
    trace = {
        "type": "scatter",
        "x": [float(r) for r in rank],
        "y": rows,
        "mode": "markers",
        "marker": {"color": PALETTE["score"], "size": 9},
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": [float(h - r) for r, h in zip(rank, high, strict=True)],
            "arrayminus": [float(r - lo) for r, lo in zip(rank, low, strict=True)],
            "color": "#6b8797",
            "thickness": 3,
            "width": 0,
        },
        "customdata": list(urls),
        "hovertext": hover,
        "hoverinfo": "text",
    }
    layout = _plain_layout(
        height=100 + 22 * len(names),
        xtitle=gettext("rank (1 = highest score)"),
        yaxis={"tickvals": rows, "ticktext": escaped, "autorange": "reversed"},
    )
    return PlainFigure([trace], layout)


def _shown(values: Sequence[float]) -> list[float]:
    """Scores rounded as the tables show them, for the numbers plotly.js writes itself (a box's
    hover label), so that the chart and its table agree to the last digit."""
    return [round_half_away(float(v)) for v in values]


def _boxes(x: list[str], name: str, group: BoxStats, **more: Any) -> dict[str, Any]:
    return {
        "type": "box",
        "name": html.escape(name),
        "x": x,
        "q1": _shown(group.q1),
        "median": _shown(group.median),
        "q3": _shown(group.q3),
        "lowerfence": _shown(group.minimum),
        "upperfence": _shown(group.maximum),
        "boxpoints": False,
        **more,
    }


def domain_boxes(domain_labels: Sequence[str], groups: Sequence[BoxStats]) -> PlainFigure:
    """Box plots of domain scores by country, from precomputed quartiles (the whiskers run to
    the minimum and maximum), one trace per country, grouped by domain."""
    x = [html.escape(label) for label in domain_labels]
    layout = _plain_layout(
        height=420,
        ytitle=gettext("score (0-100)"),
        boxmode="group",
        legend={"orientation": "h"},
        yaxis={"range": [0, 101], "hoverformat": ".1f"},
    )
    return PlainFigure([_boxes(x, group.country, group) for group in groups], layout)


def self_verified_scatter(
    names: Sequence[str],
    self_scores: Sequence[float],
    verified_scores: Sequence[float],
    urls: Sequence[str],
) -> PlainFigure:
    """Self-assessed (x) against verified (y) overall scores; points under the diagonal
    rated themselves higher than the evaluators did."""
    own, checked = gettext("self-assessed"), gettext("verified")
    hover = [
        f"{html.escape(n)}<br>{own}: {_number(s)}<br>{checked}: {_number(v)}"
        for n, s, v in zip(names, self_scores, verified_scores, strict=True)
    ]
    diagonal = {
        "type": "scatter",
        "x": [0, 100],
        "y": [0, 100],
        "mode": "lines",
        "line": {"color": PALETTE["missing"], "dash": "dot"},
        "hoverinfo": "skip",
        "showlegend": False,
    }
    points = {  # arrays: one point per verified NGO, thousands in a large network
        "type": "scatter",
        "x": np.asarray(self_scores, dtype=np.float64),
        "y": np.asarray(verified_scores, dtype=np.float64),
        "mode": "markers",
        "marker": {"color": PALETTE["score"], "size": 9},
        "customdata": list(urls),
        "hovertext": hover,
        "hoverinfo": "text",
        "showlegend": False,
    }
    layout = _plain_layout(
        height=420,
        xtitle=gettext("self-assessed overall score"),
        ytitle=gettext("verified overall score"),
        xaxis={"range": [0, 101]},
        yaxis={"range": [0, 101], "scaleanchor": "x"},
    )
    return PlainFigure([diagonal, points], layout)


# --- the scorecard page (one NGO, one cycle) ---------------------------------------------------

PALETTE_SCORECARD = {"self": "#8fb8c9", "verified": "#1f6f8b", "peers": "#b9c4cc", "ngo": "#c0392b"}


def _base_layout(fig: go.Figure, rows: int, *, xaxis_title: str) -> None:
    fig.update_layout(
        **FRAME,
        xaxis={"range": [0, 101], "title": xaxis_title, "tickvals": [0, 20, 40, 60, 80, 100]},
        yaxis={"autorange": "reversed", "automargin": True},
        height=100 + 48 * rows,
        legend={"orientation": "h", "y": -0.2},
    )


def annotate_missing(fig: go.Figure, labels: Sequence[str], notes: Sequence[str | None]) -> None:
    """Write on the chart why a domain has no bar (not applicable, too little data)."""
    for label, note in zip(labels, notes, strict=True):
        if note:
            fig.add_annotation(
                x=1,
                y=label,
                xref="x",
                yref="y",
                text=html.escape(note),
                showarrow=False,
                xanchor="left",
                font={"color": "#555"},
            )


def self_and_verified_bars(
    labels: Sequence[str],
    own: Sequence[float | None],
    verified: Sequence[float | None],
    notes: Sequence[str | None],
) -> go.Figure:
    """Domain scores, self-assessed and verified side by side (grouped horizontal bars);
    ``notes`` (per domain, or None) is written on the chart where a domain has no score."""
    fig = go.Figure()
    for name, values, colour in (
        (gettext("self-assessed"), own, PALETTE_SCORECARD["self"]),
        (gettext("verified"), verified, PALETTE_SCORECARD["verified"]),
    ):
        fig.add_trace(
            go.Bar(
                x=[None if v is None else v for v in values],
                y=list(labels),
                orientation="h",
                name=name,
                marker_color=colour,
                text=["" if v is None else _number(v) for v in values],
                textposition="auto",
                hovertext=[
                    f"{html.escape(label)}<br>{name}: {_number(v)}"
                    for label, v in zip(labels, values, strict=True)
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(barmode="group")
    _base_layout(fig, 2 * len(labels), xaxis_title=gettext("score (0-100)"))
    annotate_missing(fig, labels, notes)
    return fig


def peer_ranges(
    labels: Sequence[str],
    own: Sequence[float | None],
    q1: Sequence[float],
    median: Sequence[float],
    q3: Sequence[float],
    *,
    own_label: str = "",
) -> go.Figure:
    """Per domain, the peers' interquartile range (a bar from Q1 to Q3), their median (a line
    mark) and the NGO's score (a dot), named ``own_label`` ("your score" by default; "NGO's
    score" for a viewer outside the NGO). Only aggregates: no peer's own score is drawn."""
    iqr, peer_median, yours = (
        gettext("peers' middle half"),
        gettext("peers' median"),
        own_label or gettext("your score"),
    )
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=[hi - lo for lo, hi in zip(q1, q3, strict=True)],
            base=list(q1),
            y=list(labels),
            orientation="h",
            name=iqr,
            marker_color=PALETTE_SCORECARD["peers"],
            hovertext=[
                f"{html.escape(label)}<br>{iqr}: {_number(lo)}\u2013{_number(hi)}"
                for label, lo, hi in zip(labels, q1, q3, strict=True)
            ],
            hoverinfo="text",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=list(median),
            y=list(labels),
            mode="markers",
            name=peer_median,
            marker={"symbol": "line-ns-open", "size": 22, "color": "#333", "line": {"width": 3}},
            hovertext=[
                f"{html.escape(label)}<br>{peer_median}: {_number(m)}"
                for label, m in zip(labels, median, strict=True)
            ],
            hoverinfo="text",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=list(own),
            y=list(labels),
            mode="markers",
            name=yours,
            marker={"symbol": "circle", "size": 12, "color": PALETTE_SCORECARD["ngo"]},
            hovertext=[
                f"{html.escape(label)}<br>{yours}: {_number(v)}"
                for label, v in zip(labels, own, strict=True)
            ],
            hoverinfo="text",
        )
    )
    _base_layout(fig, len(labels), xaxis_title=gettext("score (0-100)"))
    fig.update_xaxes(range=[-4, 104])  # a score of 0 or 100 is a whole dot, not half of one
    return fig


def trend_lines(
    cycles: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    note: str = "",
) -> go.Figure:
    """One line per series (overall first, then the domains) across ``cycles``; a gap where
    a cycle has no score. ``note`` (which rubric versions are compared) is written on the chart."""
    fig = go.Figure()
    for index, (name, values) in enumerate(series):
        fig.add_trace(
            go.Scatter(
                x=list(cycles),
                y=list(values),
                mode="lines+markers",
                name=name,
                line={"width": 4 if index == 0 else 2, "dash": "solid" if index == 0 else "dot"},
                hovertext=[
                    f"{html.escape(name)}<br>{html.escape(c)}: {_number(v)}"
                    for c, v in zip(cycles, values, strict=True)
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        xaxis={"type": "category", "title": gettext("cycle")},
        yaxis={"range": [0, 101], "title": gettext("score (0-100)")},
        margin={"l": 10, "r": 10, "t": 40 if note else 10, "b": 40},
        height=360,
        plot_bgcolor="white",
        font={"family": "DejaVu Sans, Arial, sans-serif"},
        legend={"orientation": "h", "y": -0.25},
    )
    if note:
        fig.add_annotation(
            text=html.escape(note),
            xref="paper",
            yref="paper",
            x=0,
            y=1.08,
            showarrow=False,
            xanchor="left",
        )
    return fig


# --- network-wide trends (issue 9, section 6) --------------------------------------------------


def cohort_boxes(
    domain_labels: Sequence[str],
    cycles: Sequence[tuple[str, BoxStats]],
    *,
    note: str = "",
) -> PlainFigure:
    """The cohort's domain scores, one box per cycle in each domain (grouped, oldest first),
    from precomputed quartiles (whiskers to the minimum and maximum). ``cycles`` pairs each
    legend name (the cycle and its number of NGOs) with its summary; ``note`` (which rubric
    versions are compared) is written on the chart."""
    x = [html.escape(label) for label in domain_labels]
    ngos = gettext("NGOs with a score")
    layout = _plain_layout(
        height=460,
        ytitle=gettext("score (0-100)"),
        boxmode="group",
        legend={"orientation": "h", "y": -0.3},
        margin={"t": 40 if note else 10},
        yaxis={"range": [0, 101], "hoverformat": ".1f"},
        xaxis={"tickangle": -30},
    )
    if note:
        layout["annotations"] = [
            {"text": html.escape(note), "xref": "paper", "yref": "paper", "x": 0, "y": 1.06,
             "showarrow": False, "xanchor": "left", "yanchor": "bottom"}
        ]  # fmt: skip
    traces = [
        _boxes(x, name, group, hovertext=[f"{html.escape(name)}<br>{ngos}: {n}" for n in group.n])
        for name, group in cycles
    ]
    return PlainFigure(traces, layout)


def trend_panels(
    cycles: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    notes: Sequence[Sequence[str | None]] = (),
    verified: Sequence[bool] = (),
    note: str = "",
) -> PlainFigure:
    """Small multiples of a trend: one panel per series (overall first, then each domain),
    three to a row, the cycles along each panel's x axis and a 0-100 y axis. Where a series has
    no score in a cycle, ``notes[series][cycle]`` (not applicable, insufficient data) is
    written in the panel at that cycle; ``verified[cycle]`` draws a cycle's points as diamonds
    (its verified scores). ``note`` (which rubric versions are compared) heads the chart.
    Plain dicts, as the dashboard's (plotly's make_subplots and validation cost a quarter of a
    second per scorecard)."""
    columns, gap = 3, 0.04
    rows = max(1, -(-len(series) // columns))
    vgap = 0.5 / rows if rows > 1 else 0.0
    width = (1 - (columns - 1) * gap) / columns
    height = (1 - (rows - 1) * vgap) / rows
    names = list(cycles)
    checked = list(verified) or [False] * len(names)
    symbols = ["diamond" if v else "circle" for v in checked]
    mark = gettext("verified")
    layout: dict[str, Any] = {
        **FRAME,
        "margin": {"l": 10, "r": 10, "t": 60 if note else 30, "b": 40},
        "height": 60 + 230 * rows,
        "showlegend": False,
    }
    annotations: list[dict[str, Any]] = []
    if note:
        annotations.append(
            {"text": html.escape(note), "xref": "paper", "yref": "paper", "x": 0, "y": 1.0,
             "yshift": 40, "showarrow": False, "xanchor": "left", "yanchor": "bottom"}
        )  # fmt: skip
    traces = []
    for index, (name, values) in enumerate(series):
        row, column = divmod(index, columns)
        suffix = "" if index == 0 else str(index + 1)
        left = column * (width + gap)
        top = 1 - row * (height + vgap)
        layout[f"xaxis{suffix}"] = {
            "domain": [left, left + width], "anchor": f"y{suffix}", "type": "category",
            "automargin": True,
        }  # fmt: skip
        layout[f"yaxis{suffix}"] = {
            "domain": [max(top - height, 0.0), top], "anchor": f"x{suffix}",
            "range": [0, 101], "tickvals": [0, 50, 100], "gridcolor": "#e3e9ed",
            "showticklabels": column == 0,
        }  # fmt: skip
        label = html.escape(name)
        traces.append(
            {
                "type": "scatter",
                "x": names,
                "y": list(values),
                "xaxis": f"x{suffix}",
                "yaxis": f"y{suffix}",
                "mode": "lines+markers",
                "name": name,
                "line": {"width": 3 if index == 0 else 2, "color": PALETTE["score"]},
                "marker": {"symbol": symbols, "size": 9},
                "hovertext": [
                    f"{label}<br>{html.escape(c)}: {_number(v)}"
                    + (f" ({mark})" if v is not None and ok else "")
                    for c, v, ok in zip(names, values, checked, strict=True)
                ],
                "hoverinfo": "text",
            }
        )
        annotations.append(  # the panel's title, above its top edge
            {"text": f"<b>{label}</b>", "xref": f"x{suffix} domain",
             "yref": f"y{suffix} domain", "x": 0, "y": 1.0, "yshift": 4, "showarrow": False,
             "xanchor": "left", "yanchor": "bottom"}
        )  # fmt: skip
        for cycle, value, why in zip(names, values, notes[index] if notes else [], strict=False):
            if value is None and why:
                annotations.append(
                    {"text": html.escape(why), "x": cycle, "y": 50, "xref": f"x{suffix}",
                     "yref": f"y{suffix}", "showarrow": False, "textangle": -90,
                     "font": {"color": "#555", "size": 11}}
                )  # fmt: skip
    layout["annotations"] = annotations
    return PlainFigure(traces, layout)


def _layout(fig: go.Figure, *, height: int, xtitle: str = "", ytitle: str = "") -> go.Figure:
    """The site's frame on a validated figure (the quality and what-if charts, small enough
    that plotly's validation costs nothing worth avoiding)."""
    fig.update_layout(
        **FRAME,
        height=height,
        xaxis={"title": xtitle or None, "automargin": True},
        yaxis={"title": ytitle or None, "automargin": True},
    )
    return fig


# --- rubric quality and the weight what-if ------------------------------------------------------


def interval_dots(
    labels: Sequence[str],
    values: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    xtitle: str,
    xrange: tuple[float, float] = (-1.0, 1.0),
    decimals: int = 2,
) -> go.Figure:
    """One dot per row with its interval (a statistic and its CI); rows without a value are
    listed, with no dot, so that a missing figure is visible rather than silently dropped.
    The hover text shows ``decimals`` places, as the page's table (reports.numbers)."""
    rows = list(range(len(labels)))
    shown = [r for r in rows if values[r] is not None]

    def text(value: float | None) -> str:
        return number(value, decimals, none=str(gettext("n/a")))

    hover = [
        f"{html.escape(labels[r])}<br>{text(values[r])} [{text(lows[r])}, {text(highs[r])}]"
        for r in shown
    ]
    fig = go.Figure(
        go.Scatter(
            x=[values[r] for r in shown],
            y=shown,
            mode="markers",
            marker={"color": PALETTE["score"], "size": 9},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [(highs[r] or 0.0) - (values[r] or 0.0) for r in shown],
                "arrayminus": [(values[r] or 0.0) - (lows[r] or 0.0) for r in shown],
                "color": "#6b8797",
                "thickness": 3,
                "width": 0,
            },
            hovertext=hover,
            hoverinfo="text",
        )
    )
    _layout(fig, height=100 + 24 * len(labels), xtitle=xtitle)
    fig.update_xaxes(range=list(xrange), zeroline=True)
    fig.update_yaxes(
        tickvals=rows, ticktext=[html.escape(label) for label in labels], autorange="reversed"
    )
    return fig


def answer_shares(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> go.Figure:
    """Stacked horizontal bars of shares (0-1) per row: e.g. answered, not applicable, don't
    know and unanswered per question."""
    colours = ["#1f6f8b", "#e0a458", "#a05c7b", "#b9c4cc", "#7d8f69"]
    fig = go.Figure(
        [
            go.Bar(
                x=list(values),
                y=[html.escape(label) for label in labels],
                name=name,
                orientation="h",
                marker_color=colours[k % len(colours)],
                hovertext=[  # the table's percentages (reports.numbers), not d3's rounding
                    f"{html.escape(label)}: {percent(v)}<br>{html.escape(name)}"
                    for label, v in zip(labels, values, strict=True)
                ],
                hoverinfo="text",
            )
            for k, (name, values) in enumerate(series)
        ]
    )
    _layout(fig, height=120 + 22 * len(labels), xtitle=gettext("share of assessments"))
    fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.1})
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    return fig


def before_after(
    names: Sequence[str], before: Sequence[float | None], after: Sequence[float | None]
) -> go.Figure:
    """Each NGO's overall score under the current weights (x) and the changed ones (y); points
    off the diagonal moved."""
    keep = [k for k in range(len(names)) if before[k] is not None and after[k] is not None]
    fig = go.Figure(
        [
            go.Scatter(
                x=[0, 100],
                y=[0, 100],
                mode="lines",
                line={"color": PALETTE["missing"], "dash": "dot"},
                hoverinfo="skip",
                showlegend=False,
            ),
            go.Scatter(
                x=[before[k] for k in keep],
                y=[after[k] for k in keep],
                mode="markers",
                marker={"color": PALETTE["score"], "size": 8},
                hovertext=[
                    f"{html.escape(names[k])}<br>{_number(before[k])} → {_number(after[k])}"
                    for k in keep
                ],
                hoverinfo="text",
                showlegend=False,
            ),
        ]
    )
    _layout(
        fig,
        height=420,
        xtitle=gettext("score with the current weights"),
        ytitle=gettext("score with the changed weights"),
    )
    fig.update_xaxes(range=[0, 100])
    fig.update_yaxes(range=[0, 100])
    return fig
