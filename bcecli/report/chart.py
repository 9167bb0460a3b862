"""A compact reliability chart for the terminal: observed rate against mean p per bin."""

from __future__ import annotations

from typing import Any

from rich.text import Text

WIDTH = 40  # characters for the [0, 1] axis: fits 80 columns with the labels


def reliability_chart(bins: list[dict[str, Any]], width: int = WIDTH) -> Text:
    """One line per non-empty bin: a bar to the observed rate, '|' at the mean p.

    A perfectly calibrated model has every bar end at its '|'.
    """
    text = Text("Reliability (bar: observed rate, |: mean predicted p)\n", style="bold")
    for entry in bins:
        if not entry["rows"] or entry["mean_prob"] is None:
            continue
        observed = entry["observed_rate"] or 0.0
        predicted = entry["mean_prob"]
        filled = round(observed * width)
        marker = min(width - 1, int(predicted * width))
        cells = ["█" if i < filled else "·" for i in range(width)]
        cells[marker] = "|"
        text.append(f"{entry['lower']:.2f}-{entry['upper']:.2f} ")
        bar = "".join(cells)
        style = "green" if abs(observed - predicted) <= 0.05 else "yellow"
        text.append(bar, style=style)
        text.append(f" {observed:.3f} vs {predicted:.3f}\n")
    return text
