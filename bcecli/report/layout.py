"""What the human-readable reports show: sections of labelled cells, renderer-neutral.

The terminal table and the markdown report both render these sections, so they
always show the same numbers formatted the same way. Every text taken from the input
(file names, column names, group keys, kept values) passes through the renderer's
``literal`` function on its way into a cell, so a renderer whose format has markup
(markdown) escapes exactly those texts and leaves bce's own words as they are.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bcecli.document import CalibrationBin, Document, Metrics, ModelEntry

SE_Z = 1.96  # the table shows mean +- 1.96 SE (a 95% normal interval)
SE_JOIN = " ± "  # between a mean and its half-width; a narrow terminal stacks the two here

Literal = Callable[[str], str]  # a text from the input, as the renderer shows it literally


def as_is(text: str) -> str:
    """The ``literal`` of a renderer without markup."""
    return text


@dataclass
class Section:
    """One table: its cells as text, and what a narrow terminal may do with its columns.

    A terminal never breaks a cell of a ``numeric`` column across lines (at most it
    stacks a ``mean ± SE`` cell at the ``±``); to fit, it may show ``compact`` instead
    and then leave out ``droppable`` columns, the first listed first, saying which.
    """

    title: str
    headers: list[str]
    rows: list[list[str]]
    right_align: set[int] = field(default_factory=set)  # column indexes holding numbers
    note: str = ""  # one or more lines under the table
    numeric: set[int] = field(default_factory=set)  # numbers: never broken across lines
    droppable: list[int] = field(default_factory=list)  # may be left out, first listed first
    compact: Section | None = None  # the same rows in fewer, narrower columns
    verdicts: int | None = None  # the column whose cells start with pass or FAIL


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


def sig(value: Any, digits: int = 4) -> str:
    """Like ``number`` but keeps trailing zeros, so a column's decimal points line up.

    Numbers of ``digits`` or more integer digits print whole with separators
    rather than in exponent form (3,133 not 3.133e+03).
    """
    if value is None or isinstance(value, (bool, int)):
        return number(value)
    if math.isfinite(value) and 10 ** (digits - 1) <= abs(value) < 1e15:
        return f"{value:,.0f}"
    if isinstance(value, float) and value.is_integer():
        return number(value)
    mantissa, e, exponent = f"{value:#.{digits}g}".partition("e")
    return mantissa.rstrip(".") + e + exponent


def fixed(value: float | None, places: int, *, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{places}f}" if sign else f"{value:.{places}f}"


def with_se(mean: float | None, se: float | None) -> str:
    """``mean ± 1.96 SE``, the half-width to the mean's decimal places so rows align."""
    if mean is None:
        return "-"
    shown = sig(mean)
    if se is None:
        return shown
    half = SE_Z * se
    places = _decimal_places(shown)
    width = fixed(half, places) if places is not None else ""
    if not width or not any(c in "123456789" for c in width):
        width = sig(half, 2)  # too small for the mean's places: show it anyway
    return f"{shown}{SE_JOIN}{width}"


def _decimal_places(shown: str) -> int | None:
    """Digits after the point of a fixed-notation number; None for exponent form."""
    if "e" in shown or "n" in shown:
        return None
    return len(shown.partition(".")[2])


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


def summary_line(document: Document, literal: Literal = as_is) -> str:
    inputs = document["inputs"]
    paths = ", ".join(literal(entry["path"]) for entry in inputs[:3])
    if len(inputs) > 3:
        paths += f" and {len(inputs) - 3} more"
    metrics = document["metrics"]
    text = f"{paths}: {number(metrics['rows'])} rows"
    if metrics["skipped"]:
        text += f", {number(metrics['skipped'])} invalid rows skipped"
    columns = document["columns"]
    text += f"; label {literal(repr(columns['label']))}"
    if columns["weight"]:
        text += f", weighted by {literal(repr(columns['weight']))}"
    return text


def metrics_section(document: Document, literal: Literal = as_is) -> Section:
    models = document["models"]
    headers = ["metric"] + [literal(model["column"]) for model in models]
    logit = document["columns"]["logit"] is not None

    def row(label: str, cell: Callable[[ModelEntry], str]) -> list[str]:
        return [label] + [cell(model) for model in models]

    # A lambda, not a key string, picks the metric: mypy checks its key against Metrics.
    def metric(pick: Callable[[Metrics], object]) -> Callable[[ModelEntry], str]:
        return lambda m: sig(pick(m["metrics"]))

    rows = [
        row(
            "log loss ± 1.96 SE",
            lambda m: with_se(m["metrics"]["log_loss"], m["metrics"]["log_loss_se"]),
        ),
    ]
    if len(models) > 1:
        rows.append(
            row(
                f"Δ log loss vs {literal(models[0]['column'])}",
                lambda m: (
                    "-"
                    if m["paired_diff"] is None
                    else _signed_se(m["paired_diff"]["mean"], m["paired_diff"]["se"])
                ),
            )
        )
    rows += [
        row("normalized entropy", metric(lambda m: m["normalized_entropy"])),
        row("brier", metric(lambda m: m["brier"])),
        row("mean prob", metric(lambda m: m["mean_prob"])),
        row("base rate", metric(lambda m: m["base_rate"])),
        row("rows", metric(lambda m: m["rows"])),
    ]
    first = models[0]["metrics"]
    if first["skipped"]:
        rows.append(row("skipped (invalid)", metric(lambda m: m["skipped"])))
    if document["columns"]["weight"]:
        rows.append(row("weight sum", metric(lambda m: m["weight_sum"])))
        rows.append(row("positives (weighted)", metric(lambda m: m["positives"])))
    else:
        rows.append(row("positives", metric(lambda m: m["positives"])))
    if not logit:
        rows.append(row("clipped", metric(lambda m: m["clipped"])))
    if first["ece"] is not None:
        rows.append(row("ECE", metric(lambda m: m["ece"])))
    eps = document["settings"]["eps"]
    note = "logits: no clipping" if logit else f"p clipped to [eps, 1 - eps], eps = {eps:.3g}"
    if len(models) > 1:
        first_name = literal(models[0]["column"])
        note += f"\nΔ: the loss minus {first_name}'s on the same rows (> 0: worse)"
    models_at = set(range(1, len(headers)))
    return Section(
        "Log loss",
        headers,
        rows,
        right_align=models_at,
        note=note,
        numeric=models_at,
        droppable=sorted(models_at - {1}, reverse=True),  # the first column's stays
    )


def groups_section(document: Document, literal: Literal = as_is) -> Section | None:
    groups = document["groups"]
    if not groups:
        return None
    key_names = list(groups[0]["key"])
    models = [literal(model["column"]) for model in groups[0]["models"]]
    headers = [*map(literal, key_names), "rows"]
    weighted = document["columns"]["weight"] is not None
    if weighted:
        headers.append("weight")
    headers += ["base rate"]
    # One column: the header says what the cells are; several: the note does.
    headers += [f"log loss {name}" for name in models] if len(models) > 1 else ["log loss"]
    headers += ["NE" if len(models) == 1 else f"NE {models[0]}"]
    rows = []
    for group in groups:
        metrics = group["metrics"]
        cells = [_key(group["key"][name], literal) for name in key_names]
        cells.append(sig(metrics["rows"]))
        if weighted:
            cells.append(sig(metrics["weight_sum"]))
        cells.append(sig(metrics["base_rate"]))
        for model in group["models"]:
            cells.append(with_se(model["metrics"]["log_loss"], model["metrics"]["log_loss_se"]))
        cells.append(sig(metrics["normalized_entropy"]))
        rows.append(cells)
    numeric = set(range(len(key_names), len(headers)))
    note = "log loss ± 1.96 SE; largest groups first"
    title = "By " + ", ".join(map(literal, key_names))
    # Left out first: the weight, base rate and NE, then rows, then the losses of all
    # but the first column (the last first); the keys and the first loss always show.
    rows_at = len(key_names)
    base_rate_at = rows_at + (2 if weighted else 1)
    losses_at = list(range(base_rate_at + 1, base_rate_at + 1 + len(models)))
    droppable = [rows_at + 1] if weighted else []
    droppable += [base_rate_at, len(headers) - 1, rows_at, *reversed(losses_at[1:])]
    return Section(
        title, headers, rows, right_align=numeric, note=note, numeric=numeric, droppable=droppable
    )


def bin_places(bins: int) -> int:
    """Decimals that tell every bin edge k/bins apart (2 for 10 bins, 3 for 1000)."""
    return max(2, math.ceil(math.log10(bins)))


def calibration_section(document: Document, literal: Literal = as_is) -> Section | None:
    bins = document["calibration"]
    if not bins:
        return None
    places = bin_places(len(bins))
    value_places = places + 2
    weighted = document["columns"]["weight"] is not None
    headers = ["p in", "rows", *(["weight"] if weighted else []), "mean p", "observed", "gap"]
    rows = []
    for entry in bins:
        mean_p, observed = entry["mean_prob"], entry["observed_rate"]
        gap = None if mean_p is None or observed is None else observed - mean_p
        rows.append(
            [
                bin_label(entry, places),
                sig(entry["rows"]),
                *([sig(entry["weight"])] if weighted else []),
                fixed(mean_p, value_places),
                fixed(observed, value_places),
                fixed(gap, value_places, sign=True),
            ]
        )
    column = literal(document["models"][0]["column"])
    note = f"ECE = {sig(document['metrics']['ece'])} ({column}); gap = observed - mean p"
    numbers = set(range(1, len(headers)))
    gap_at = len(headers) - 1
    return Section(
        "Calibration",
        headers,
        rows,
        right_align=numbers,
        note=note,
        numeric=numbers | {0},  # the bins' edges too
        droppable=[gap_at, 2, 1] if weighted else [gap_at, 1],  # gap, weight, rows
    )


def bin_label(entry: CalibrationBin, places: int) -> str:
    return f"{entry['lower']:.{places}f}–{entry['upper']:.{places}f}"


def worst_section(document: Document, literal: Literal = as_is) -> Section | None:
    worst = document["worst"]
    if not worst:
        return None
    keep_names = list(worst[0]["keep"])
    several_files = len({row["path"] for row in worst}) > 1
    headers = ["file"] if several_files else []
    headers += ["row", "label", "p", "log loss", *map(literal, keep_names)]
    shown_paths, folder = _short_paths([entry["path"] for entry in worst])
    rows = []
    for entry, shown_path in zip(worst, shown_paths):
        cells = [literal(shown_path)] if several_files else []
        cells += [
            str(entry["row"]),  # plain, as sed -n and editors count lines
            str(entry["label"]),
            sig(entry["prob"]),
            sig(entry["log_loss"]),
        ]
        cells += [_key(entry["keep"][name], literal) for name in keep_names]
        rows.append(cells)
    offset = 1 if several_files else 0
    numeric = {offset, offset + 1, offset + 2, offset + 3}
    for index, name in enumerate(keep_names):
        if all(_is_number(entry["keep"][name]) for entry in worst):
            numeric.add(offset + 4 + index)
    column = literal(document["models"][0]["column"])
    note = f"highest loss of {column} first; row: data row in its file, from 1"
    if several_files and folder:
        note += f"\nfiles under {literal(folder)}"
    # The kept columns are left out first (the last first), then the label.
    droppable = [*range(len(headers) - 1, offset + 3, -1), offset + 1]
    return Section(
        f"Worst {len(worst)} rows",
        headers,
        rows,
        right_align=numeric,
        note=note,
        numeric=numeric,
        droppable=droppable,
    )


def _short_paths(paths: list[str]) -> tuple[list[str], str | None]:
    """Paths relative to the folder they share, so the distinguishing part shows."""
    schemes = {path.partition("://")[0] for path in paths if "://" in path}
    if len(schemes) == 1 and all("://" in path for path in paths):
        # Object-store URLs: shorten the part after scheme:// (os.path would eat a slash).
        prefix = f"{schemes.pop()}://"
        shown, folder = _short_paths([path[len(prefix) :] for path in paths])
        return (paths, None) if folder is None else (shown, prefix + folder)
    try:
        folder = os.path.commonpath([os.path.dirname(path) for path in paths])
    except ValueError:  # absolute and relative paths mixed
        return paths, None
    if folder in ("", os.sep) or "-" in paths:
        return paths, None
    return [os.path.relpath(path, folder) for path in paths], folder


def _signed_se(mean: float | None, se: float | None) -> str:
    text = with_se(mean, se)
    return "+" + text if mean is not None and mean > 0 else text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def gate_section(document: Document, literal: Literal = as_is) -> Section | None:
    gate = document["gate"]
    if not gate:
        return None
    headers = ["check", "column", "group", "value", "threshold", "baseline", "delta", "verdict"]
    rows = []
    compact_rows = []
    for check in gate["checks"]:
        group = check["group"]
        where = "-" if group is None else group_label(group, literal)
        verdict = "pass" if check["passed"] else "FAIL"
        numbers = gate_numbers(check["value"], check["threshold"], check["baseline"])
        rows.append([check["name"], literal(check["column"]), where, *numbers, verdict])
        named = [verdict, check["name"], literal(check["column"])]
        if group is not None:
            named.append(where)
        compact_rows.append([" ".join(named), *numbers])
    title = f"Gate: {'passed' if gate['passed'] else 'FAILED'}"
    numbers_at = {3, 4, 5, 6}
    # For a narrow terminal: the verdict, check, column and group as one text.
    compact = Section(
        title,
        ["check", *headers[3:7]],
        compact_rows,
        right_align={1, 2, 3, 4},
        numeric={1, 2, 3, 4},
        droppable=[4, 3, 2],  # delta, baseline, then threshold
        verdicts=0,
    )
    return Section(
        title,
        headers,
        rows,
        right_align=numbers_at,
        numeric=numbers_at,
        compact=compact,
        verdicts=7,
    )


MAX_PLACES = 24  # a gate row's decimals at most (17 significant digits tell floats apart)


def gate_numbers(value: float | None, threshold: float | None, baseline: float | None) -> list[str]:
    """A gate row's value, threshold, baseline and delta (value - baseline) in one format.

    All four get the same decimal places: the value's as the other tables show it (four
    significant digits, so NE 0.7580 reads the same here), more where needed to tell
    the value from a different threshold or baseline, and to keep a threshold, baseline
    or delta that is not zero from printing as zero. So equal numbers print equal,
    decimal points line up, and a failing 0.45000001 never shows as 0.4500 > 0.4500.
    """
    delta = None if value is None or baseline is None else value - baseline
    first = next((x for x in (value, threshold, baseline) if x is not None), None)
    places = _own_places(first)

    def shown(x: float | None) -> str:
        return "-" if x is None else f"{x:,.{places}f}"

    while places < MAX_PLACES and not _clear(value, (threshold, baseline), delta, shown):
        places += 1
    sign = "+" if delta is not None and delta > 0 else ""
    return [shown(value), shown(threshold), shown(baseline), sign + shown(delta)]


def _clear(
    value: float | None,
    others: tuple[float | None, ...],
    delta: float | None,
    shown: Callable[[float | None], str],
) -> bool:
    """Whether ``shown`` tells the value from each different number, and zero from not."""
    for other in others:
        if other is None:
            continue
        if other != 0 and not _nonzero(shown(other)):
            return False
        if value is not None and other != value and shown(other) == shown(value):
            return False
    return delta is None or delta == 0 or _nonzero(shown(delta))


def _nonzero(text: str) -> bool:
    return any(c in "123456789" for c in text)


def _own_places(value: float | None) -> int:
    """The decimals ``sig`` shows ``value`` with, counted in fixed notation."""
    if value is None or not math.isfinite(value):
        return 0
    places = _decimal_places(sig(value))
    if places is None:  # sig's exponent form: below 1e-4, or 1e15 and above
        return 0 if abs(value) >= 1 else 3 - math.floor(math.log10(abs(value)))
    return places


def sections(document: Document, literal: Literal = as_is) -> list[Section]:
    """Every section the report has, texts from the input passed through ``literal``."""
    found = [
        metrics_section(document, literal),
        groups_section(document, literal),
        calibration_section(document, literal),
        worst_section(document, literal),
        gate_section(document, literal),
    ]
    return [section for section in found if section is not None]


def group_label(key: Mapping[str, Any], literal: Literal = as_is) -> str:
    """``segment=web`` (``a=1, b=x`` for several --by columns)."""
    return ", ".join(f"{literal(name)}={_key(value, literal)}" for name, value in key.items())


def _key(value: Any, literal: Literal = as_is) -> str:
    return "(missing)" if value is None else literal(str(value))
