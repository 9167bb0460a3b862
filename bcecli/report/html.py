"""The report as one self-contained HTML page (``--format html``, ``--report-html PATH``).

One file, nothing fetched: the CSS and the SVG charts are inline, there is no script,
and no ``src``, ``href`` or ``url()`` names another resource, so the page opens the same
from a mail attachment, a CI artifact or a notebook. Light and dark follow
``prefers-color-scheme``; ``@media print`` prints it on white.

Everything is drawn from the report document the JSON carries (no second computation).
The page is rendered by Jinja2 templates (``bcecli/report/templates/``) with autoescape
on: every text from the input (file names, column names, group keys, kept values) is
escaped on its way into the page and shows as text. Numbers are formatted as the table
and markdown show them (bcecli.report.layout); each model's log loss also carries its
exact JSON value in a ``<data value>``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from bcecli.document import CalibrationBin, Document, Metrics, ModelEntry
from bcecli.report.html_charts import Chart, bin_label, histogram_chart, reliability_chart
from bcecli.report.layout import (
    Section,
    gate_numbers,
    group_label,
    sig,
    summary_line,
    with_se,
    worst_section,
)

if TYPE_CHECKING:
    from jinja2 import Environment


@dataclass(frozen=True)
class Cell:
    text: str
    exact: str | None = None  # the JSON value, in a <data value> around the text
    header: bool = False  # a row header: <th scope="row">
    numeric: bool = False


@dataclass
class Table:
    """A table with one header row, or two (a column group per model over its metrics)."""

    caption: str
    headers: list[Cell]
    rows: list[list[Cell]]
    groups: list[tuple[str, int]] = field(default_factory=list)  # (model, its columns)
    leading: int = 0  # columns before the first group (header cells spanning both rows)
    note: str = ""
    row_classes: list[str] = field(default_factory=list)


@dataclass
class Figure:
    """A chart with its numbers as a table beside it."""

    chart: Chart
    table: Table


def render_html(document: Document) -> str:
    """The whole page: ``<!doctype html>`` to ``</html>``."""
    return _environment().get_template("page.html.j2").render(view(document), page=True) + "\n"


def render_fragment(document: Document) -> str:
    """The same view without the page around it (a notebook's output cell), its CSS
    scoped to the report's element."""
    return _environment().get_template("fragment.html.j2").render(view(document), page=False) + "\n"


def write(document: Document, out: TextIO) -> None:
    """The HTML report onto ``out`` (``--format html``)."""
    out.write(render_html(document))


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    try:
        from jinja2 import Environment, PackageLoader, StrictUndefined
    except ImportError:  # a broken install: jinja2 is a dependency of bcecli
        from bcecli.errors import InputError

        raise InputError(
            "The HTML report needs Jinja2, which bcecli depends on: pip install jinja2."
        ) from None
    return Environment(
        loader=PackageLoader("bcecli.report", "templates"),
        autoescape=True,  # every value, whatever the template's name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def view(document: Document) -> dict[str, Any]:
    """What the templates show, from the document alone."""
    models = document["models"]
    figures = [figure for figure in (calibration_figure(document),) if figure is not None]
    return {
        "id": "bce-" + _digest(document),
        "title": "bce report: " + _paths(document),
        "summary": summary_line(document),
        "version": document["bce_version"],
        "schema": document["schema"],
        "inputs": inputs_table(document),
        "settings": settings_list(document),
        "metrics": metrics_table(document),
        "groups": groups_table(document),
        "figures": figures,
        "histograms": loss_histogram_figures(document),
        "worst": _from_section(worst_section(document)),
        "gate": gate_view(document),
        "models": [model["column"] for model in models],
    }


def _paths(document: Document) -> str:
    inputs = document["inputs"]
    more = f" and {len(inputs) - 3} more" if len(inputs) > 3 else ""
    return ", ".join(entry["path"] for entry in inputs[:3]) + more


def _digest(document: Document) -> str:
    """A stable id prefix: two reports on one notebook page get different element ids."""
    text = json.dumps(document, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _exact(value: float | None) -> str | None:
    """The number as the JSON report prints it."""
    return None if value is None else json.dumps(value)


def inputs_table(document: Document) -> Table:
    rows = [
        [
            Cell(entry["path"], header=True),
            Cell(entry["format"]),
            Cell(sig(entry["rows"]), numeric=True),
            Cell(sig(entry["skipped"]), numeric=True),
        ]
        for entry in document["inputs"]
    ]
    headers = [Cell("file"), Cell("format"), Cell("rows", numeric=True)]
    headers.append(Cell("skipped (invalid)", numeric=True))
    return Table("Inputs", headers, rows)


def settings_list(document: Document) -> list[tuple[str, str]]:
    """The columns read and how: a description list."""
    columns, settings = document["columns"], document["settings"]
    items = [("label", columns["label"])]
    if columns["logit"] is not None:
        items.append(("logit", columns["logit"]))
    else:
        items.append(("probabilities", ", ".join(columns["prob"])))
    items.append(("weight", columns["weight"] or "none (every row weighs 1)"))
    items.append(("rows scored", sig(document["metrics"]["rows"])))
    if columns["logit"] is not None:
        items.append(("clipping", "logits: no clipping"))
    else:
        eps = settings["eps"]
        clipped = ", ".join(
            f"{model['column']} {sig(model['metrics']['clipped'])}" for model in document["models"]
        )
        items.append(("eps", f"{eps:.3g} (exactly {json.dumps(eps)})"))
        items.append(("clipping", f"p clipped to [eps, 1 - eps]; rows clipped: {clipped}"))
    items.append(("invalid rows", settings["on_invalid"]))
    return items


def _diff(model: ModelEntry) -> Cell:
    diff = model["paired_diff"]
    if diff is None:
        return Cell("-", numeric=True)
    text = with_se(diff["mean"], diff["se"])
    if diff["mean"] is not None and diff["mean"] > 0:
        text = "+" + text
    return Cell(text, exact=_exact(diff["mean"]), numeric=True)


def _loss(metrics: Metrics) -> Cell:
    return Cell(
        with_se(metrics["log_loss"], metrics["log_loss_se"]),
        exact=_exact(metrics["log_loss"]),
        numeric=True,
    )


def _metric(pick: Callable[[Metrics], object]) -> Callable[[ModelEntry], Cell]:
    return lambda model: Cell(sig(pick(model["metrics"])), numeric=True)


def metrics_table(document: Document) -> Table:
    models = document["models"]
    several = len(models) > 1
    weighted = document["columns"]["weight"] is not None
    logit = document["columns"]["logit"] is not None
    lines: list[tuple[str, Callable[[ModelEntry], Cell]]] = [
        ("log loss ± 1.96 SE", lambda m: _loss(m["metrics"])),
    ]
    if several:
        lines.append((f"Δ log loss vs {models[0]['column']} ± 1.96 SE", _diff))
    lines += [
        ("normalized entropy", _metric(lambda m: m["normalized_entropy"])),
        ("brier", _metric(lambda m: m["brier"])),
        ("mean prob", _metric(lambda m: m["mean_prob"])),
        ("base rate", _metric(lambda m: m["base_rate"])),
        ("rows", _metric(lambda m: m["rows"])),
    ]
    if models[0]["metrics"]["skipped"]:
        lines.append(("skipped (invalid)", _metric(lambda m: m["skipped"])))
    if weighted:
        lines.append(("weight sum", _metric(lambda m: m["weight_sum"])))
    lines.append(
        ("positives (weighted)" if weighted else "positives", _metric(lambda m: m["positives"]))
    )
    if not logit:
        lines.append(("clipped", _metric(lambda m: m["clipped"])))
    if models[0]["metrics"]["ece"] is not None:
        lines.append(("ECE", _metric(lambda m: m["ece"])))
    headers = [Cell("metric")] + [Cell(model["column"], numeric=True) for model in models]
    rows = [[Cell(label, header=True)] + [cell(model) for model in models] for label, cell in lines]
    note = "± 1.96 SE: a 95% normal interval."
    if several:
        note += f" Δ: the loss minus {models[0]['column']}'s on the same rows (> 0: worse)."
    return Table("Log loss", headers, rows, note=note)


def groups_table(document: Document) -> Table | None:
    """Every metric of every model per group, the largest group first (the document's order)."""
    groups = document["groups"]
    if not groups:
        return None
    key_names = list(groups[0]["key"])
    names = [model["column"] for model in groups[0]["models"]]
    weighted = document["columns"]["weight"] is not None
    logit = document["columns"]["logit"] is not None
    shared: list[tuple[str, Callable[[Metrics], Cell]]] = [
        ("rows", lambda m: Cell(sig(m["rows"]), numeric=True)),
    ]
    if weighted:
        shared.append(("weight", lambda m: Cell(sig(m["weight_sum"]), numeric=True)))
    shared += [
        ("positives", lambda m: Cell(sig(m["positives"]), numeric=True)),
        ("base rate", lambda m: Cell(sig(m["base_rate"]), numeric=True)),
    ]
    per_model: list[tuple[str, Callable[[ModelEntry], Cell]]] = [
        ("log loss ± 1.96 SE", lambda m: _loss(m["metrics"])),
        ("Δ vs " + names[0], _diff),
        ("NE", _metric(lambda m: m["normalized_entropy"])),
        ("brier", _metric(lambda m: m["brier"])),
        ("mean prob", _metric(lambda m: m["mean_prob"])),
    ]
    if not logit:
        per_model.append(("clipped", _metric(lambda m: m["clipped"])))

    def columns_of(index: int) -> list[tuple[str, Callable[[ModelEntry], Cell]]]:
        return [line for line in per_model if index or not line[0].startswith("Δ")]

    headers = [Cell(name) for name in key_names]
    headers += [Cell(label, numeric=True) for label, _ in shared]
    leading = len(headers)
    column_groups = []
    for index, name in enumerate(names):
        own = columns_of(index)
        headers += [Cell(label, numeric=True) for label, _ in own]
        column_groups.append((name, len(own)))
    rows = []
    for group in groups:
        cells = [Cell(_key(group["key"][name]), header=True) for name in key_names]
        cells += [cell(group["metrics"]) for _, cell in shared]
        for index, model in enumerate(group["models"]):
            cells += [cell(model) for _, cell in columns_of(index)]
        rows.append(cells)
    title = "By " + ", ".join(key_names)
    return Table(
        title,
        headers,
        rows,
        groups=column_groups,
        leading=leading,
        note=f"{len(groups)} groups, largest first; log loss ± 1.96 SE.",
    )


def _key(value: Any) -> str:
    return "(missing)" if value is None else str(value)


def _from_section(section: Section | None, first_is_header: bool = True) -> Table | None:
    """A table the terminal and markdown show (bcecli.report.layout), as an HTML table."""
    if section is None:
        return None
    headers = [
        Cell(text, numeric=index in section.right_align)
        for index, text in enumerate(section.headers)
    ]
    rows = [
        [
            Cell(text, header=first_is_header and index == 0, numeric=index in section.right_align)
            for index, text in enumerate(row)
        ]
        for row in section.rows
    ]
    return Table(section.title, headers, rows, note=section.note)


def calibration_curves(
    document: Document,
) -> list[tuple[str, Sequence[CalibrationBin], float | None]]:
    """One curve per model: its column, its bins and its ECE."""
    ece = {model["column"]: model["metrics"]["ece"] for model in document["models"]}
    return [
        (entry["column"], entry["bins"], ece.get(entry["column"]))
        for entry in document["calibration_by_model"]
    ]


def calibration_figure(document: Document) -> Figure | None:
    curves = calibration_curves(document)
    if not curves:
        return None
    chart = reliability_chart(curves)
    several = len(curves) > 1
    headers = [Cell("p in")]
    for name, _, _ in curves:
        suffix = f" ({name})" if several else ""
        headers += [
            Cell("rows" + suffix, numeric=True),
            Cell("weight" + suffix, numeric=True),
            Cell("mean p" + suffix, numeric=True),
            Cell("observed" + suffix, numeric=True),
        ]
    rows = []
    for index, first in enumerate(curves[0][1]):
        cells = [Cell(f"{first['lower']:g}–{first['upper']:g}", header=True, numeric=True)]
        for _, bins, _ in curves:
            entry = bins[index]
            cells += [
                Cell(sig(entry["rows"]), numeric=True),
                Cell(sig(entry["weight"]), numeric=True),
                Cell(sig(entry["mean_prob"]), numeric=True),
                Cell(sig(entry["observed_rate"]), numeric=True),
            ]
        rows.append(cells)
    note = "Empty bins show -." + (" Each model's rows are binned by its own p." if several else "")
    return Figure(chart, Table("Reliability diagram data", headers, rows, note=note))


def loss_histogram_figures(document: Document) -> list[Figure]:
    """Each model's per-row loss histogram, drawn from the first non-empty bin to the last."""
    weighted = document["columns"]["weight"] is not None
    mean_loss = {model["column"]: model["metrics"]["log_loss"] for model in document["models"]}
    figures = []
    for tone, histogram in enumerate(document["loss_histogram"]):
        name, edges = histogram["column"], histogram["edges"]
        weights = [weight or 0.0 for weight in histogram["weight"]]
        chart = histogram_chart(name, edges, weights, weighted, mean_loss.get(name), tone)
        headers = [Cell("log loss in"), Cell("rows", numeric=True)]
        if weighted:
            headers.append(Cell("weight", numeric=True))
        rows = []
        for index, (count, weight) in enumerate(zip(histogram["rows"], histogram["weight"])):
            if not count:
                continue
            cells = [Cell(bin_label(edges, index), header=True, numeric=True)]
            cells.append(Cell(sig(count), numeric=True))
            if weighted:
                cells.append(Cell(sig(weight), numeric=True))
            rows.append(cells)
        table = Table(
            f"Loss histogram data: {name}", headers, rows, note="Bins with no rows are left out."
        )
        figures.append(Figure(chart, table))
    return figures


@dataclass
class GateView:
    passed: bool
    table: Table
    failed: int


def gate_view(document: Document) -> GateView | None:
    """Each check with its numbers, the failing ones first, each verdict in words and a
    symbol as well as a colour."""
    gate = document["gate"]
    if not gate:
        return None
    checks = sorted(gate["checks"], key=lambda check: check["passed"])  # stable: failing first
    headers = [Cell("verdict"), Cell("check"), Cell("column"), Cell("group")]
    headers += [Cell(label, numeric=True) for label in ("value", "threshold", "baseline", "delta")]
    rows = []
    classes = []
    for check in checks:
        group = check["group"]
        verdict = "✓ pass" if check["passed"] else "✗ FAIL"
        cells = [
            Cell(verdict, header=True),
            Cell(check["name"]),
            Cell(check["column"]),
            Cell("all rows" if group is None else group_label(group)),
        ]
        numbers = gate_numbers(check["value"], check["threshold"], check["baseline"])
        exact = [check["value"], check["threshold"], check["baseline"], check["delta"]]
        cells += [
            Cell(text, exact=_exact(value), numeric=True) for text, value in zip(numbers, exact)
        ]
        rows.append(cells)
        classes.append("pass" if check["passed"] else "fail")
    failed = sum(not check["passed"] for check in checks)
    title = "Gate: passed" if gate["passed"] else f"Gate: FAILED ({failed} of {len(checks)})"
    table = Table(title, headers, rows, row_classes=classes, note="Failing checks first.")
    return GateView(gate["passed"], table, failed)
