"""The reliability diagram as a PNG or SVG file (``--plot PATH``), drawn with matplotlib.

matplotlib is an optional extra (``pip install '.[plot]'`` from a checkout), imported only here
and only when a plot is asked for. The figure is drawn on an Agg canvas without
pyplot, so no GUI backend is ever chosen and no global figure state is kept.
"""

from __future__ import annotations

import os
from typing import Any

from bcecli.document import Document, Metrics
from bcecli.errors import UsageError

FORMATS = {".png": "png", ".svg": "svg"}
INSTALL_HINT = "pip install matplotlib"  # the plot extra, however bce was installed
DEFAULT_BINS = 10  # --plot without --calibration


def plot_format(path: str) -> str:
    """The image format named by the path's extension; a UsageError for anything else."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise UsageError(f"--plot {path}: the file name must end in .png or .svg.")
    return FORMATS[extension]


def require_matplotlib() -> None:
    """Fail before any scoring when matplotlib is missing, saying how to get it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(
            f"--plot needs matplotlib, which is not installed: {INSTALL_HINT}"
        ) from None


def write_plot(path: str, document: Document) -> None:
    """Draw the report's calibration bins as a reliability diagram and write it atomically."""
    from bcecli.report.files import replacing

    image_format = plot_format(path)
    require_matplotlib()
    figure = reliability_figure(document)
    with replacing(path) as temporary:
        figure.savefig(temporary, format=image_format, dpi=150)


def reliability_figure(document: Document) -> Any:
    """A figure: observed rate against mean p per bin over the diagonal, one curve per
    model, and the first model's p histogram below."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    bins = document["calibration"]
    column = document["models"][0]["column"]
    weighted = document["columns"]["weight"] is not None
    metrics = document["metrics"]

    figure = Figure(figsize=(6.0, 7.0), layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})

    top.plot(
        [0, 1], [0, 1], linestyle="--", color="0.55", linewidth=1, label="perfectly calibrated"
    )
    # One curve per model, each binned by its own p (calibration_by_model), told apart by
    # marker as well as colour.
    ece = {model["column"]: model["metrics"]["ece"] for model in document["models"]}
    curves = document["calibration_by_model"]
    for index, curve in enumerate(curves):
        filled = [b for b in curve["bins"] if b["rows"] and b["mean_prob"] is not None]
        label = f"{curve['column']}: mean p against observed rate, per bin"
        if len(curves) > 1 and ece.get(curve["column"]) is not None:
            label = f"{curve['column']} (ECE {ece[curve['column']]:.4f})"
        top.plot(
            [b["mean_prob"] for b in filled],
            [b["observed_rate"] for b in filled],
            marker="osD^v<>"[index % 7],
            markersize=5,
            color=f"C{index % 10}",
            linewidth=1.5,
            label=label,
        )
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("observed rate of y = 1" + (" (weighted)" if weighted else ""))
    top.grid(True, color="0.9", linewidth=0.8)
    top.legend(loc="upper left", frameon=False)
    if len(curves) > 1:
        names = ", ".join(curve["column"] for curve in curves)
        top.set_title(f"Reliability of {names} · {len(bins)} bins", fontsize=11)
    else:
        top.set_title(_title(column, metrics, len(bins)), fontsize=11)

    lowers = [b["lower"] for b in bins]
    widths = [b["upper"] - b["lower"] for b in bins]
    heights = [b["weight"] if weighted else b["rows"] for b in bins]
    bottom.bar(
        lowers, heights, width=widths, align="edge", color="C0", alpha=0.6, edgecolor="white"
    )
    bottom.set_xlabel(f"predicted probability ({column})")
    bottom.set_ylabel("weight" if weighted else "rows")
    bottom.set_xlim(0, 1)
    bottom.grid(True, axis="y", color="0.9", linewidth=0.8)
    return figure


def _title(column: str, metrics: Metrics, bins: int) -> str:
    parts = [f"Reliability of {column}", f"{bins} bins"]
    if metrics.get("ece") is not None:
        parts.append(f"ECE {metrics['ece']:.4f}")
    if metrics.get("log_loss") is not None:
        parts.append(f"log loss {metrics['log_loss']:.4f}")
    return " · ".join(parts)
