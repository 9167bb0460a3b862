"""Tables at any terminal width of 40 columns or more: no number is broken across lines.

Numeric cells never wrap; a table too wide for the terminal stacks "mean ± SE" cells,
shows a compact form, or leaves columns out and says which.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from test_golden import WIDTHS, gate_args, pipe_environment, write_baseline

import bcecli
from bcecli.report.layout import SE_JOIN, Section, sections, sig, with_se
from bcecli.report.table import FittedTable, fit, render_table

ROOT_PREDS = Path(__file__).resolve().parent.parent / "sample_data" / "preds.csv"


def decimals(text: str) -> int:
    return len(text.partition(".")[2])


def render(renderable: Any, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    with console.capture() as captured:
        console.print(renderable)
    return [line.rstrip() for line in captured.get().splitlines()]


def parts(cell: str) -> list[str]:
    """The numbers of a numeric cell, each of which must show whole."""
    return [part for part in cell.split(SE_JOIN) if part != "-"]


def occurrences(number: str, text: str) -> int:
    return len(re.findall(r"(?<![0-9.,+\-])" + re.escape(number) + r"(?![0-9.,])", text))


def assert_numbers_whole(section: Section, lines: list[str], width: int) -> list[str]:
    """Every number of the shown numeric columns shows whole; returns the left out ones."""
    assert max(map(cell_len, lines), default=0) <= width
    flat = " ".join(" ".join(lines).split())
    left_out = []
    match = re.search(r"left out at this width: (.*?); widen the terminal", flat)
    if match:
        left_out = match.group(1).split(", ")
        assert set(left_out) <= {section.headers[i] for i in section.droppable} | (
            {section.compact.headers[i] for i in section.compact.droppable}
            if section.compact
            else set()
        )
    expected: Counter[str] = Counter()
    for index in section.numeric:
        if section.headers[index] in left_out:
            continue
        for row in section.rows:
            expected.update(parts(row[index]))
    text = "\n".join(lines)
    broken = {n: c for n, c in expected.items() if occurrences(n, text) < c}
    assert broken == {}, f"numbers broken at width {width}: {broken}\n{text}"
    return left_out


words = st.text(alphabet="abcdefghij_=", min_size=1, max_size=16)
headers = st.lists(words, min_size=1, max_size=3).map(" ".join)


@st.composite
def numeric_cells(draw: Any) -> str:
    value = draw(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False))
    kind = draw(st.sampled_from(["sig", "fixed", "se", "int", "dash"]))
    if kind == "sig":
        return sig(value)
    if kind == "fixed":
        return f"{value:,.{draw(st.integers(0, 8))}f}"
    if kind == "se":
        return with_se(value, abs(value) * draw(st.floats(0, 1)))
    if kind == "int":
        return f"{int(value):,}"
    return "-"


@st.composite
def tables(draw: Any) -> Section:
    texts = draw(st.integers(1, 3))
    numbers = draw(st.integers(1, 7))
    count = texts + numbers
    rows = [
        [draw(st.text(alphabet="abc xyz=_", max_size=30)) for _ in range(texts)]
        + [draw(numeric_cells()) for _ in range(numbers)]
        for _ in range(draw(st.integers(1, 6)))
    ]
    numeric = set(range(texts, count))
    # Any column but the first text and the first number may be left out.
    optional = [i for i in range(count) if i not in (0, texts)]
    droppable = draw(st.permutations(optional))
    return Section(
        "Title",
        [draw(headers) for _ in range(count)],
        rows,
        right_align=numeric,
        numeric=numeric,
        droppable=list(droppable),
    )


@settings(max_examples=200, deadline=None)
@given(section=tables(), width=st.integers(40, 200))
def test_no_number_is_broken_at_any_width(section: Section, width: int) -> None:
    lines = render(FittedTable(section), width)
    left_out = assert_numbers_whole(section, lines, width)
    assert left_out == fit(section, width).left_out
    # A table as wide as its cells or narrower shows as it would on any wider terminal.
    wide = render(FittedTable(section), 10_000)
    if max(map(cell_len, wide)) <= width:
        assert lines == wide


def test_a_table_that_fits_is_left_as_it_is() -> None:
    section = Section("T", ["key", "n"], [["a", "1,000"]], right_align={1}, numeric={1})
    assert fit(section, 40).widths is None
    assert render(FittedTable(section), 40) == ["T", "key       n", "───────────", "a     1,000"]


def test_stacking_comes_before_leaving_out() -> None:
    cell = "0.4717 ± 0.0108"
    section = Section(
        "T", ["key", "a", "b"], [["web", cell, cell]], {1, 2}, numeric={1, 2}, droppable=[2]
    )
    fitted = fit(section, 30)
    assert fitted.stacked and fitted.left_out == []
    assert render(FittedTable(section), 30)[3:] == [
        "web     0.4717     0.4717",
        "      ± 0.0108   ± 0.0108",
    ]


def test_once_a_column_is_left_out_cells_go_back_on_one_line_if_they_fit() -> None:
    cell, wide = "0.4717 ± 0.0108", "1,234,567,890.1234567890"
    section = Section(
        "T",
        ["key", "a", "b", "wide"],
        [["web", cell, cell, wide]],
        {1, 2, 3},
        numeric={1, 2, 3},
        droppable=[3],
    )
    fitted = fit(section, 40)
    assert (fitted.left_out, fitted.stacked) == (["wide"], False)
    assert render(FittedTable(section), 40)[3] == "web   0.4717 ± 0.0108   0.4717 ± 0.0108"


def test_the_left_out_columns_are_named_under_the_table() -> None:
    section = Section(
        "T",
        ["key", "first", "second", "third"],
        [["web", "0.123456789", "0.223456789", "0.323456789"]],
        numeric={1, 2, 3},
        droppable=[3, 2],
        note="a note",
    )
    lines = render(FittedTable(section), 40)
    assert "third" not in lines[1] and "0.323456789" not in "".join(lines)
    flat = " ".join(" ".join(lines).split())
    assert flat.endswith(
        "a note 1 column left out at this width: third; "
        "widen the terminal or use --format markdown/json"
    )
    assert "0.223456789" in lines[3]


# --- the reports, end to end -----------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_baseline(tmp_path_factory.mktemp("baseline"))


def blocks(stdout: str, titles: list[str]) -> list[list[str]]:
    """Each section's lines, from its title to the next one's."""
    lines = stdout.splitlines()
    starts = [lines.index(title) for title in titles]
    return [lines[a:b] for a, b in zip(starts, [*starts[1:], len(lines)])]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sample_report_never_breaks_a_number(
    bce: Any, monkeypatch: pytest.MonkeyPatch, baseline: Path, width: int
) -> None:
    pipe_environment(monkeypatch, width)
    args = gate_args(baseline)
    document = bce(*args, "--format", "json").json()
    run = bce(*args)
    assert run.exit_code == 1
    found = sections(document)
    assert [s.title for s in found] == [
        "Log loss",
        "By segment",
        "Calibration",
        "Worst 5 rows",
        "Gate: FAILED",
    ]
    left_out = {}
    for section, lines in zip(found, blocks(run.stdout, [s.title for s in found])):
        left_out[section.title] = assert_numbers_whole(section, lines, width)
    if width >= 60:
        assert not any(left_out.values())
    else:  # what 40 columns cannot hold
        assert left_out == {
            "Log loss": [],
            "By segment": ["base rate", "NE prob"],
            "Calibration": ["gap"],
            "Worst 5 rows": ["segment"],
            "Gate: FAILED": ["baseline", "delta"],
        }
    # One format per gate row: equal numbers print equal, and with the same decimals.
    gate = found[-1]
    for check, row in zip(document["gate"]["checks"], gate.rows):
        value, threshold, baseline_text, delta = row[3:7]
        assert (value == baseline_text) == (check["value"] == check["baseline"])
        assert (value == threshold) == (check["value"] == check["threshold"])
        assert len({decimals(t) for t in (value, threshold, baseline_text, delta) if t != "-"}) == 1


def test_a_long_gate_number_is_not_broken(tmp_path: Path) -> None:
    # A baseline one ulp below this run's loss, with --max-increase 0: value, threshold
    # and baseline each need 17 digits to tell apart.
    document = bcecli.score(str(ROOT_PREDS), prob="prob").to_dict()
    loss = document["models"][0]["metrics"]["log_loss"]
    assert loss is not None
    document["models"][0]["metrics"]["log_loss"] = math.nextafter(loss, 0)
    document["metrics"]["log_loss"] = math.nextafter(loss, 0)
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    report = bcecli.score(str(ROOT_PREDS), prob="prob", baseline=str(path), max_increase="0")
    gated = report.to_dict()
    row = next(s for s in sections(gated) if s.title.startswith("Gate")).rows[0]
    assert len(row[3]) >= 17 and row[3] != row[5]
    for width in (40, 60, 80, 100, 160):
        output = io.StringIO()
        console = Console(file=output, width=width)
        render_table(gated, console)
        lines = output.getvalue().splitlines()
        gate = next(s for s in sections(gated) if s.title.startswith("Gate"))
        start = lines.index(gate.title)
        assert_numbers_whole(gate, lines[start:], width)
        assert row[3] in output.getvalue()


def test_a_verdict_leading_a_compact_gate_row_is_in_colour() -> None:
    document = bcecli.score(
        str(ROOT_PREDS), prob=["prob", "model_b"], by="segment", max_ne=0.758, gate_groups=True
    ).to_dict()
    output = io.StringIO()
    render_table(
        document, Console(file=output, width=60, force_terminal=True, color_system="standard")
    )
    lines = [line for line in output.getvalue().splitlines() if "max_ne" in line]
    assert lines and all(
        re.match(r"\x1b\[1;31mFAIL\x1b\[0m max_ne|\x1b\[32mpass\x1b\[0m max_ne", line)
        for line in lines
    ), lines
