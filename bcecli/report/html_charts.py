"""The HTML report's charts as plain geometry: the template draws them as inline SVG.

Each chart is a ``Chart``: a title and a description (the SVG's ``<title>`` and
``<desc>``), its axes and the shapes in SVG user units, computed here from the report
document's numbers so the template holds no arithmetic. Every number a chart draws is
also in the data table the template puts beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bcecli.document import CalibrationBin

WIDTH = 380  # the viewBox
HEIGHT = 340
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 46  # margins around the plot area
MARKERS = ("circle", "square", "diamond", "triangle")  # one per series, besides colour
HISTOGRAM_SHARE = 0.25  # the reliability diagram's weight bars use at most this height


@dataclass(frozen=True)
class Tick:
    at: float  # position along its axis, in user units
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the bar's value in words, the SVG <title> of the rect


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str


@dataclass
class Series:
    name: str
    index: int  # its colour and marker
    points: list[Point] = field(default_factory=list)

    @property
    def marker(self) -> str:
        return MARKERS[self.index % len(MARKERS)]

    @property
    def path(self) -> str:
        """The polyline's points attribute."""
        return " ".join(f"{point.x:.2f},{point.y:.2f}" for point in self.points)


@dataclass
class Chart:
    kind: str  # "reliability" or "loss-histogram": a CSS class
    title: str
    desc: str
    x_label: str
    y_label: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    bars: list[Bar] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    diagonal: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2
    marker: tuple[float, float, float, float, str] | None = None  # a vertical line, its title
    tone: int = 0  # the series colour of a one-series chart
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_width: int = WIDTH - LEFT - RIGHT
    plot_height: int = HEIGHT - TOP - BOTTOM

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def right(self) -> int:
        return self.left + self.plot_width


def _x(chart: Chart, value: float, low: float = 0.0, high: float = 1.0) -> float:
    span = high - low or 1.0
    return round(chart.left + (value - low) / span * chart.plot_width, 2)


def _y(chart: Chart, value: float, low: float = 0.0, high: float = 1.0) -> float:
    span = high - low or 1.0
    return round(chart.bottom - (value - low) / span * chart.plot_height, 2)


def _bar(chart: Chart, left: float, right: float, top: float, label: str) -> Bar:
    """A bar from ``left`` to ``right`` and ``top`` down to the axis, a gap each side."""
    return Bar(
        x=left + 0.5,
        y=top,
        width=round(max(right - left - 1.0, 0.5), 2),
        height=round(chart.bottom - top, 2),
        label=label,
    )


def reliability_chart(
    curves: Sequence[tuple[str, Sequence[CalibrationBin], float | None]],
) -> Chart:
    """Observed rate against mean p per bin, one curve per (model, bins, ECE), the
    diagonal, and the first curve's bin weights as a histogram along the bottom."""
    names = ", ".join(name for name, _, _ in curves)
    bins = curves[0][1]
    desc = (
        f"Reliability diagram of {names} over {len(bins)} bins of predicted probability: "
        "each point is a bin's observed positive rate against its mean predicted "
        "probability; points on the diagonal are perfectly calibrated. Bars along the "
        f"bottom show each bin's share of the weight (by {curves[0][0]}'s p)."
    )
    eces = [f"{name} {ece:.4g}" for name, _, ece in curves if ece is not None]
    if eces:
        desc += " Expected calibration error: " + ", ".join(eces) + "."
    chart = Chart(
        kind="reliability",
        title=f"Reliability of {names}",
        desc=desc,
        x_label="mean predicted p",
        y_label="observed rate",
        x_ticks=[],
        y_ticks=[],
    )
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    chart.x_ticks = [Tick(_x(chart, t), f"{t:g}") for t in ticks]
    chart.y_ticks = [Tick(_y(chart, t), f"{t:g}") for t in ticks]
    chart.diagonal = (_x(chart, 0), _y(chart, 0), _x(chart, 1), _y(chart, 1))
    heaviest = max((entry["weight"] for entry in bins), default=0.0)
    total = sum(entry["weight"] for entry in bins)
    for entry in bins:
        if heaviest <= 0 or entry["weight"] <= 0:
            continue
        share = entry["weight"] / heaviest * HISTOGRAM_SHARE
        left, right = _x(chart, entry["lower"]), _x(chart, entry["upper"])
        top = _y(chart, share)
        label = (
            f"p {entry['lower']:g}–{entry['upper']:g}: {entry['weight'] / total:.1%} of the weight"
        )
        chart.bars.append(_bar(chart, left, right, top, label))
    for index, (name, model_bins, _) in enumerate(curves):
        series = Series(name, index)
        for entry in model_bins:
            mean_p, observed = entry["mean_prob"], entry["observed_rate"]
            if mean_p is None or observed is None:
                continue
            series.points.append(
                Point(
                    _x(chart, mean_p),
                    _y(chart, observed),
                    f"{name}: mean p {mean_p:.4f}, observed {observed:.4f}",
                )
            )
        chart.series.append(series)
    return chart


def bin_label(edges: Sequence[float], index: int) -> str:
    """Bin ``index`` of a loss histogram as a range: bin 0 is [0, edges[0]), the last
    [edges[-1], infinity)."""
    if index == 0:
        return f"< {edges[0]:.3g}"
    if index == len(edges):
        return f"≥ {edges[-1]:.3g}"
    return f"{edges[index - 1]:.3g}–{edges[index]:.3g}"


def histogram_chart(
    name: str,
    edges: Sequence[float],
    weights: Sequence[float],
    weighted: bool,
    mean_loss: float | None,
    tone: int = 0,
) -> Chart:
    """One model's per-row loss histogram on a log axis: a bar of equal width per bin
    (the bins are log-spaced), from the first non-empty bin to the last, its height the
    bin's weight, and a line at the mean loss. ``weights`` has one more entry than
    ``edges``: bin 0 is [0, edges[0]), the last [edges[-1], infinity)."""
    filled = [index for index, weight in enumerate(weights) if weight > 0]
    first, last = (filled[0], filled[-1]) if filled else (0, len(weights) - 1)
    span = last - first + 1
    heaviest = max(weights, default=0.0) or 1.0
    unit = "weight" if weighted else "rows"
    chart = Chart(
        kind="loss-histogram",
        title=f"Per-row log loss of {name}",
        desc=(
            f"Histogram of the per-row log loss of {name} on a log scale, "
            f"{bin_label(edges, first).replace('–', ' to ')} up to "
            f"{bin_label(edges, last).replace('–', ' to ')}, in {span} bins of eight a "
            f"decade; each bar's height is the bin's {unit}."
        ),
        x_label="log loss (log scale)",
        y_label=unit,
        x_ticks=[],
        y_ticks=[],
        tone=tone,
    )
    if mean_loss is not None:
        chart.desc += f" The vertical line marks the mean log loss, {mean_loss:.4g}."

    def at(position: float) -> float:
        """x of a position in bins from bin ``first``'s left side."""
        return _x(chart, position, 0, span)

    # Ticks at the edges that are powers of ten (every eighth), where they fall in view.
    ticks = []
    for index, edge in enumerate(edges):
        position = index + 1 - first  # edge i is bin i + 1's left side
        if 0 <= position <= span and abs(math.log10(edge) - round(math.log10(edge))) < 1e-9:
            ticks.append(Tick(at(position), f"{edge:g}"))
    chart.x_ticks = _spaced(ticks)
    chart.y_ticks = [
        Tick(_y(chart, share * heaviest, 0, heaviest), _count(share * heaviest))
        for share in (0.0, 0.5, 1.0)
    ]
    for index in range(first, last + 1):
        weight = weights[index]
        if weight <= 0:
            continue
        left, right = at(index - first), at(index - first + 1)
        top = _y(chart, weight, 0, heaviest)
        label = f"loss {bin_label(edges, index)}: {weight:,.6g} {unit}"
        chart.bars.append(_bar(chart, left, right, top, label))
    if mean_loss is not None and mean_loss > 0 and math.isfinite(mean_loss):
        # The bins are eight a decade from edges[0]: bin i + 1 starts at 10^(i/8) * edges[0].
        mean_at = 8 * math.log10(mean_loss / edges[0]) + 1 - first
        if 0 <= mean_at <= span:
            x = at(mean_at)
            chart.marker = (x, chart.top, x, chart.bottom, f"mean log loss {mean_loss:.4g}")
    return chart


MIN_TICK_GAP = 28  # user units between two tick labels shown


def _spaced(ticks: list[Tick]) -> list[Tick]:
    """The ticks whose labels do not crowd the one before (the last always shown)."""
    shown: list[Tick] = []
    for tick in ticks:
        if shown and tick.at - shown[-1].at < MIN_TICK_GAP:
            if tick is not ticks[-1]:
                continue
            if len(shown) > 1:
                shown.pop()
        shown.append(tick)
    return shown


def _count(value: float) -> str:
    """A tick's rows or weight: 4,200 rather than 4.2e+03."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
