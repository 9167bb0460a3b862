"""A compact reliability chart for the terminal: observed rate against mean p per bin."""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions
from rich.text import Text

from bcecli.document import CalibrationBin
from bcecli.report.layout import bin_label, bin_places

WIDTH = 40  # characters for the [0, 1] axis at most; fewer on a narrow terminal
MIN_WIDTH = 10
CLOSE = 0.05  # a bar within this of its mean p is drawn green, else yellow
TITLE = "Reliability (bar: observed rate, |: mean p)"


class ReliabilityChart:
    """One line per non-empty bin: a bar to the observed rate, '|' at the mean p.

    A perfectly calibrated model has every bar end at its '|'. The bars shrink to
    fit the width Rich offers, so a line never wraps.
    """

    def __init__(self, bins: list[CalibrationBin], width: int = WIDTH) -> None:
        self.bins = bins
        self.width = width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        places = bin_places(len(self.bins))
        label_width = 2 * (places + 2) + 1
        numbers_width = len(" 0.000 vs 0.000")
        room = options.max_width - label_width - 1 - numbers_width
        yield chart_text(self.bins, max(MIN_WIDTH, min(self.width, room)))


def reliability_chart(bins: list[CalibrationBin], width: int = WIDTH) -> ReliabilityChart:
    return ReliabilityChart(bins, width)


def chart_text(bins: list[CalibrationBin], width: int) -> Text:
    places = bin_places(len(bins))
    lines = [Text(TITLE, style="bold")]
    for entry in bins:
        if not entry["rows"] or entry["mean_prob"] is None:
            continue
        observed = entry["observed_rate"] or 0.0
        predicted = entry["mean_prob"]
        filled = round(observed * width)
        marker = min(width - 1, int(predicted * width))
        cells = ["█" if i < filled else "·" for i in range(width)]
        cells[marker] = "|"
        line = Text(bin_label(entry, places) + " ")
        style = "green" if abs(observed - predicted) <= CLOSE else "yellow"
        line.append("".join(cells), style=style)
        line.append(f" {observed:.3f} vs {predicted:.3f}")
        lines.append(line)
    return Text("\n").join(lines)
