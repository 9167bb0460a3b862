"""What the human-readable reports show: sections of labelled cells, renderer-neutral.

The terminal table and the markdown report both render these sections, so they
always show the same numbers formatted the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SE_Z = 1.96  # the table shows mean +- 1.96 SE (a 95% normal interval)


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list[str]]
    right_align: set[int] = field(default_factory=set)  # column indexes holding numbers
    note: str = ""


def number(value: Any, digits: int = 4) -> str:
    """Four significant digits; integers with separators; '-' for missing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.{digits}g}"


def with_se(mean: float | None, se: float | None) -> str:
    if mean is None:
        return "-"
    if se is None:
        return number(mean)
    return f"{number(mean)} ± {number(SE_Z * se, 2)}"


def distinct(value: float | None, threshold: float | None, digits: int = 4) -> tuple[str, str]:
    """Both numbers with the fewest digits (4 at least) that tell them apart.

    So a failing 0.45000001 against 0.45 never prints as "0.45 > 0.45".
    """
    if value is None or threshold is None or value == threshold:
        return number(value, digits), number(threshold, digits)
    for places in range(digits, 18):
        left, right = f"{value:.{places}g}", f"{threshold:.{places}g}"
        if left != right:
            return left, right
    return repr(value), repr(threshold)


def signed(value: float | None) -> str:
    return "-" if value is None else ("+" if value > 0 else "") + number(value)


def summary_line(document: dict[str, Any]) -> str:
    inputs = document["inputs"]
    paths = ", ".join(entry["path"] for entry in inputs[:3])
    if len(inputs) > 3:
        paths += f" and {len(inputs) - 3} more"
    metrics = document["metrics"]
    text = f"{paths}: {number(metrics['rows'])} rows"
    if metrics["skipped"]:
        text += f", {number(metrics['skipped'])} invalid rows skipped"
    columns = document["columns"]
    text += f"; label {columns['label']!r}"
    if columns["weight"]:
        text += f", weighted by {columns['weight']!r}"
    return text


def metrics_section(document: dict[str, Any]) -> Section:
    models = document["models"]
    headers = ["metric"] + [model["column"] for model in models]
    logit = document["columns"]["logit"] is not None

    def row(label: str, cell: Any) -> list[str]:
        return [label] + [cell(model) for model in models]

    rows = [
        row(
            "log loss ± 1.96 SE",
            lambda m: with_se(m["metrics"]["log_loss"], m["metrics"]["log_loss_se"]),
        ),
    ]
    if len(models) > 1:
        rows.append(
            row(
                f"Δ log loss vs {models[0]['column']}",
                lambda m: (
                    "-"
                    if m["paired_diff"] is None
                    else with_se(m["paired_diff"]["mean"], m["paired_diff"]["se"])
                ),
            )
        )
    rows += [
        row("normalized entropy", lambda m: number(m["metrics"]["normalized_entropy"])),
        row("brier", lambda m: number(m["metrics"]["brier"])),
        row("mean prob", lambda m: number(m["metrics"]["mean_prob"])),
        row("base rate", lambda m: number(m["metrics"]["base_rate"])),
        row("rows", lambda m: number(m["metrics"]["rows"])),
    ]
    first = models[0]["metrics"]
    if first["skipped"]:
        rows.append(row("skipped (invalid)", lambda m: number(m["metrics"]["skipped"])))
    if document["columns"]["weight"]:
        rows.append(row("weight sum", lambda m: number(m["metrics"]["weight_sum"])))
        rows.append(row("positives (weighted)", lambda m: number(m["metrics"]["positives"])))
    else:
        rows.append(row("positives", lambda m: number(m["metrics"]["positives"])))
    if not logit:
        rows.append(row("clipped", lambda m: number(m["metrics"]["clipped"])))
    if first["ece"] is not None:
        rows.append(row("ECE", lambda m: number(m["metrics"]["ece"])))
    eps = document["settings"]["eps"]
    note = "logits: no clipping" if logit else f"p clipped to [eps, 1 - eps], eps = {eps:.3g}"
    return Section("Log loss", headers, rows, right_align=set(range(1, len(headers))), note=note)


def groups_section(document: dict[str, Any]) -> Section | None:
    groups = document["groups"]
    if not groups:
        return None
    key_names = list(groups[0]["key"])
    models = [model["column"] for model in groups[0]["models"]]
    headers = [*key_names, "rows"]
    weighted = document["columns"]["weight"] is not None
    if weighted:
        headers.append("weight")
    headers += ["base rate"]
    headers += [f"log loss {name}" if len(models) > 1 else "log loss ± 1.96 SE" for name in models]
    headers += ["NE"]
    rows = []
    for group in groups:
        metrics = group["metrics"]
        cells = [_key(group["key"][name]) for name in key_names] + [number(metrics["rows"])]
        if weighted:
            cells.append(number(metrics["weight_sum"]))
        cells.append(number(metrics["base_rate"]))
        for model in group["models"]:
            cells.append(with_se(model["metrics"]["log_loss"], model["metrics"]["log_loss_se"]))
        cells.append(number(metrics["normalized_entropy"]))
        rows.append(cells)
    numeric = set(range(len(key_names), len(headers)))
    return Section("By " + ", ".join(key_names), headers, rows, right_align=numeric)


def calibration_section(document: dict[str, Any]) -> Section | None:
    bins = document["calibration"]
    if not bins:
        return None
    headers = ["bin", "rows", "mean p", "observed", "gap"]
    rows = []
    for entry in bins:
        gap = (
            None
            if entry["mean_prob"] is None or entry["observed_rate"] is None
            else entry["observed_rate"] - entry["mean_prob"]
        )
        rows.append(
            [
                f"{entry['lower']:.2f}–{entry['upper']:.2f}",
                number(entry["rows"]),
                number(entry["mean_prob"], 3),
                number(entry["observed_rate"], 3),
                signed(gap) if gap is not None else "-",
            ]
        )
    ece = document["metrics"]["ece"]
    return Section(
        "Calibration", headers, rows, right_align={1, 2, 3, 4}, note=f"ECE = {number(ece)}"
    )


def worst_section(document: dict[str, Any]) -> Section | None:
    worst = document["worst"]
    if not worst:
        return None
    keep_names = list(worst[0]["keep"])
    several_files = len({row["path"] for row in worst}) > 1
    headers = (["file"] if several_files else []) + ["row", "label", "p", "log loss", *keep_names]
    rows = []
    for entry in worst:
        cells = [entry["path"]] if several_files else []
        cells += [
            str(entry["row"]),
            str(entry["label"]),
            number(entry["prob"]),
            number(entry["log_loss"]),
        ]
        cells += [_key(entry["keep"][name]) for name in keep_names]
        rows.append(cells)
    offset = 1 if several_files else 0
    return Section(
        f"Worst {len(worst)} rows", headers, rows, right_align={offset, offset + 2, offset + 3}
    )


def gate_section(document: dict[str, Any]) -> Section | None:
    gate = document["gate"]
    if not gate:
        return None
    headers = ["check", "column", "group", "value", "threshold", "baseline", "delta", "verdict"]
    rows = []
    for check in gate["checks"]:
        group = check["group"]
        value, threshold = distinct(check["value"], check["threshold"])
        rows.append(
            [
                check["name"],
                check["column"],
                "-" if group is None else ", ".join(f"{k}={_key(v)}" for k, v in group.items()),
                value,
                threshold,
                number(check["baseline"], 6),
                signed(check["delta"]),
                "pass" if check["passed"] else "FAIL",
            ]
        )
    verdict = "passed" if gate["passed"] else "FAILED"
    return Section(f"Gate: {verdict}", headers, rows, right_align={3, 4, 5, 6})


def sections(document: dict[str, Any]) -> list[Section]:
    found = [
        metrics_section(document),
        groups_section(document),
        calibration_section(document),
        worst_section(document),
        gate_section(document),
    ]
    return [section for section in found if section is not None]


def _key(value: Any) -> str:
    return "(missing)" if value is None else str(value)
