"""Plotly figure builders: plain data in, ``go.Figure`` out. The only module importing plotly."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import plotly
import plotly.graph_objects as go
from flask_babel import gettext

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
    text = [gettext("insufficient data") if s is None else f"{s:.0f}" for s in scores]
    colours = [PALETTE["missing"] if s is None else PALETTE["score"] for s in scores]
    score, share, none = gettext("score"), gettext("coverage"), gettext("n/a")
    hover = [  # plotly renders a few HTML tags in hover text: escape what people typed
        f"{html.escape(label)}<br>{score}: {t}<br>{share}: {none if c is None else f'{c:.0%}'}"
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
    static/charts.js): ``<``, ``>`` and ``&`` are escaped so no label can close the element."""
    text = str(fig.to_json())
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
