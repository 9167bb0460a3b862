"""A gate row shows its numbers in one format: the value as the metrics and group tables
show it (NE 0.7580 everywhere, markdown too), the threshold, baseline and delta with the
same decimals, more of them only where needed to tell different numbers apart."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_golden import ARGS

from bcecli.report.layout import gate_numbers, sig

SE = " ± "  # between a mean and its standard error in a cell


def decimals(text: str) -> int:
    return len(text.partition(".")[2])


def test_a_value_and_its_identical_baseline_print_equal() -> None:
    loss = 0.4716502051996441
    assert gate_numbers(loss, 0.4872, loss) == ["0.4717", "0.4872", "0.4717", "0.0000"]


def test_the_value_prints_as_the_metrics_table_shows_it() -> None:
    assert gate_numbers(0.758, 0.5, None) == ["0.7580", "0.5000", "-", "-"]
    assert gate_numbers(0.758, 0.5, None)[0] == sig(0.758)
    assert gate_numbers(0.01843, 0.02, None) == ["0.01843", "0.02000", "-", "-"]


def test_more_digits_where_needed_to_tell_the_numbers_apart() -> None:
    # 0.75796 against --max-ne 0.758: four digits would print 0.7580 twice.
    assert gate_numbers(0.75796, 0.758, None) == ["0.75796", "0.75800", "-", "-"]
    assert gate_numbers(0.45000001, 0.45, None) == ["0.45000001", "0.45000000", "-", "-"]
    # A baseline a hair below: the delta does not print as zero.
    assert gate_numbers(0.4717, 0.48, 0.47169) == ["0.47170", "0.48000", "0.47169", "+0.00001"]
    # A threshold that is not zero does not print as zero.
    assert gate_numbers(12.34, 0.001, None) == ["12.340", "0.001", "-", "-"]


def test_an_undefined_value_or_threshold_prints_as_a_dash() -> None:
    assert gate_numbers(None, 0.5, None) == ["-", "0.5000", "-", "-"]
    assert gate_numbers(0.5164, None, 0.4717) == ["0.5164", "-", "0.4717", "+0.0447"]
    assert gate_numbers(0.4, 0.45, 0.5)[3] == "-0.1000"


losses = st.floats(min_value=1e-6, max_value=50, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(st.none(), losses),
    threshold=st.one_of(st.none(), losses, st.just(0.0)),
    baseline=st.one_of(st.none(), losses),
    same=st.sampled_from(["", "threshold", "baseline", "both"]),
)
def test_gate_numbers_property(
    value: float | None, threshold: float | None, baseline: float | None, same: str
) -> None:
    if value is not None and same in ("threshold", "both"):
        threshold = value
    if value is not None and same in ("baseline", "both"):
        baseline = value
    numbers = [value, threshold, baseline]
    texts = gate_numbers(value, threshold, baseline)
    shown = [t for t in texts if t != "-"]
    assert len({decimals(t) for t in shown}) <= 1  # one format for the row
    for (a, text_a), (b, text_b) in [
        ((value, texts[0]), (threshold, texts[1])),
        ((value, texts[0]), (baseline, texts[2])),
    ]:
        if a is not None and b is not None:
            assert (text_a == text_b) == (a == b)  # equal print equal, different differ
    for number, text in zip(numbers, texts):
        assert (text == "-") == (number is None)
        if number is not None and number != 0:
            assert re.search("[1-9]", text)
    if value is not None and baseline is not None:
        delta = texts[3]
        assert delta.startswith("+") == (value > baseline)
        assert delta.startswith("-") == (value < baseline)
        assert (re.search("[1-9]", delta) is None) == (value == baseline)
    if value is not None:
        if all(x is None or x == value for x in numbers):
            assert math.isclose(
                float(texts[0].replace(",", "")), float(sig(value).replace(",", ""))
            )


# --- the reports, end to end -----------------------------------------------------------------


def markdown_cells(markdown: str, first: str) -> list[str]:
    """The cells of the markdown table row that starts with ``first``."""
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r}")


def test_the_same_figure_prints_the_same_way_in_every_table(
    bce: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    base = tmp_path / "base.json"
    base.write_text(bce(*ARGS, "--format", "json").stdout, encoding="utf-8")
    gates = ("--max-ne", "1", "--baseline", base, "--max-increase", "0.01", "--gate-groups")
    markdown = bce(*ARGS, *gates, "--format", "markdown").stdout
    table = bce(*ARGS, *gates).stdout
    ne = markdown_cells(markdown, "normalized entropy")[1]
    loss = markdown_cells(markdown, "log loss ± 1.96 SE")[1].split(SE)[0]
    assert (ne, loss) == ("0.7580", "0.4717")
    web = markdown_cells(markdown, "web")
    checks = [line for line in markdown.splitlines() if line.startswith("| max_")]
    assert checks[0] == "| max_ne | prob | - | 0.7580 | 1.0000 | - | - | pass |"
    assert checks[1] == "| max_increase | prob | - | 0.4717 | 0.4817 | 0.4717 | 0.0000 | pass |"
    assert f"| max_ne | prob | segment=web | {web[-1]} |" in markdown
    assert f"| max_increase | prob | segment=web | {web[3].split(SE)[0]} |" in markdown
    # The terminal table shows the very same strings.
    assert re.search(r"max_ne\s+prob\s+-\s+0\.7580\s+1\.0000\s+-\s+-\s+pass", table)
    assert re.search(r"normalized entropy\s+0\.7580\s", table)
