"""The weekly chart: complaints per day, promise-kept rate and first-response time over 8 weeks.

Drawn with matplotlib on its Agg backend (a PNG in memory; no display, no GUI toolkit). Slack shows
an image at roughly 360–480 px wide in the channel before it is opened, so the figure is drawn at
a small size with large type and thick lines, three panels stacked, each with its own labelled
axis. Colours are from the Okabe–Ito palette, chosen to stay distinct with the common forms of
colour blindness; each series also differs in shape (bars, circles, squares, dashes), so nothing
depends on colour alone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}


@dataclass(frozen=True)
class ChartData:
    title: str
    days: list[str]
    """ISO dates, oldest first."""
    complaints_per_day: list[int]
    weeks: list[str]
    """Week labels ("2026-W10"), oldest first."""
    kept_rate: list[float | None]
    response_median_min: list[float | None]
    response_p90_min: list[float | None]


def _gaps(values: list[float | None]) -> list[float]:
    return [float("nan") if v is None else float(v) for v in values]


STYLE = {"font.size": 13, "axes.titlesize": 14, "axes.labelsize": 13}


def figure(data: ChartData) -> Figure:
    """A figure of its own (no pyplot state), so two reports drawn on two threads cannot mix."""
    fig = Figure(figsize=(8, 9), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    top, middle, bottom = fig.subplots(3, 1)
    fig.suptitle(data.title, fontsize=16, fontweight="bold")

    x = range(len(data.days))
    top.bar(x, data.complaints_per_day, color=OKABE_ITO["blue"], width=0.85)
    top.set_title("Complaints in, per day")
    top.set_ylabel("complaints")
    top.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    mondays = [i for i, d in enumerate(data.days) if i % 7 == 0]
    top.set_xticks(mondays, [data.days[i][5:] for i in mondays])
    top.set_xlabel("day (month-day; ticks on Mondays)")
    top.set_xlim(-0.6, len(data.days) - 0.4)

    w = range(len(data.weeks))
    labels = [label.split("-")[-1] for label in data.weeks]
    rates = [None if r is None else r * 100 for r in data.kept_rate]
    middle.plot(w, _gaps(rates), color=OKABE_ITO["green"], marker="o", markersize=9, linewidth=3)
    for i, rate in enumerate(rates):
        if rate is not None:
            middle.annotate(f"{rate:.0f}%", (i, rate), textcoords="offset points", xytext=(0, 9), ha="center")
    middle.set_title("Promises kept on time")
    middle.set_ylabel("% kept on time")
    middle.set_ylim(0, 115)
    middle.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    middle.set_yticks([0, 50, 100])
    middle.set_xticks(list(w), labels)
    middle.set_xlabel("week")
    middle.set_xlim(-0.5, len(data.weeks) - 0.5)

    bottom.plot(
        w,
        _gaps(data.response_median_min),
        color=OKABE_ITO["orange"],
        marker="s",
        markersize=8,
        linewidth=3,
        label="median",
    )
    bottom.plot(
        w,
        _gaps(data.response_p90_min),
        color=OKABE_ITO["blue"],
        marker="^",
        markersize=8,
        linewidth=2.5,
        linestyle="--",
        label="90th percentile",
    )
    bottom.set_title("Time to first response")
    bottom.set_ylabel("minutes")
    highest = max([v for v in [*data.response_median_min, *data.response_p90_min] if v is not None], default=1.0)
    bottom.set_ylim(0, max(1.0, highest) * 1.4)  # headroom for the legend above the lines
    bottom.set_xticks(list(w), labels)
    bottom.set_xlabel("week")
    bottom.set_xlim(-0.5, len(data.weeks) - 0.5)
    bottom.legend(loc="upper center", frameon=False, ncols=2)

    for axes in (top, middle, bottom):
        axes.grid(axis="y", color="#cccccc", linewidth=0.8)
        axes.set_axisbelow(True)
        axes.spines[["top", "right"]].set_visible(False)
    return fig


def render_png(data: ChartData) -> bytes:
    with matplotlib.rc_context(STYLE):
        fig = figure(data)
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()
