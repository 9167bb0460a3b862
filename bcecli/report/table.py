"""The terminal report: the layout's sections as Rich tables on a given Console.

Each table is fitted to the Console's width when it is printed (``fit()``): a number
is never broken across lines; a table too wide stacks, compacts or leaves out columns
instead, and says which it left out.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.table import Table
from rich.text import Text

from bcecli.document import Document
from bcecli.report.layout import SE_JOIN, Section, sections, summary_line


def render_table(document: Document, console: Console) -> None:
    """Print the report; the Console decides about colour and width.

    Styles go out only to a terminal without NO_COLOR (where Rich keeps bold and
    cursor codes even with NO_COLOR, the report gets no escape code at all). The
    plain text has its lines' ends trimmed: Rich pads every line to its table's
    width, which in a file or a pipe is trailing whitespace that diffs flag.
    """
    renderables = report_renderables(document)
    if console.is_terminal and not console.no_color:
        for renderable in renderables:
            console.print(renderable)
        return
    plain = Console(
        file=io.StringIO(),
        width=console.width,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
    )
    with plain.capture() as captured:
        for renderable in renderables:
            plain.print(renderable)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def report_renderables(document: Document) -> list[RenderableType]:
    """The summary line, then one block per section, each after a blank line."""
    parts: list[RenderableType] = [Text(summary_line(document), style="bold")]
    for section in sections(document):
        block: list[RenderableType] = [Text(""), FittedTable(section)]
        if section.title == "Calibration":
            from bcecli.report.chart import reliability_chart

            block.append(Text(""))
            block.append(reliability_chart(document["calibration"]))
        parts.append(Group(*block))
    return parts


class FittedTable:
    """A section's table and notes, fitted to the width Rich offers when it is printed."""

    def __init__(self, section: Section) -> None:
        self.section = section

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text | Table]:
        fitted = fit(self.section, options.max_width)
        yield _table(fitted)
        if self.section.note:
            yield Text(self.section.note, style="dim")
        left_out = fitted.left_out
        if left_out:
            count = f"{len(left_out)} column{'s' if len(left_out) > 1 else ''}"
            yield Text(
                f"{count} left out at this width: {', '.join(left_out)}; "
                "widen the terminal or use --format markdown/json",
                style="dim",
            )


# -- fitting a table to a width ---------------------------------------------------------------
#
# Numbers are never broken across lines: a numeric column is always as wide as its widest
# number. When the table is wider than the terminal, in this order until it fits:
#  1. the text columns wrap, each down to TEXT_FLOOR (or its widest cell, if narrower),
#     and a numeric column's header wraps between its words;
#  2. "mean ± SE" cells stack, the ± SE under the mean;
#  3. the section's compact form (the gate's: verdict, check, column and group as one
#     text) is tried the same way;
#  4. columns are left out, in the section's droppable order, and a note says which
#     (each time, "mean ± SE" cells are put back on one line if that fits);
#  5. as a last resort text columns and numeric headers fold to any width.

GAP = 3  # between two columns: padding, the blank divider, padding
TEXT_FLOOR = 12  # a text column is not narrowed below this before columns are left out


@dataclass(frozen=True)
class Fit:
    """How a section shows at one width."""

    section: Section  # the section, or its compact form
    shown: list[int]  # the columns shown, in their order
    stacked: bool  # whether "mean ± SE" cells take two lines
    widths: list[int] | None  # of the shown columns; None: each as wide as its cells

    @property
    def left_out(self) -> list[str]:
        """The headers of the columns left out."""
        return [h for i, h in enumerate(self.section.headers) if i not in self.shown]

    def lines(self, row: list[str], index: int) -> list[str]:
        """The lines a cell shows on (a stacked "mean ± SE" takes two)."""
        return _lines(row[index], self.stacked and index in self.section.numeric)


@dataclass(frozen=True)
class _Measure:
    numeric: bool
    least: int  # the narrowest it can be: its widest number (text: 1)
    floor: int  # its narrowest before columns are left out
    natural: int  # every cell and the header on one line


def fit(section: Section, width: int) -> Fit:
    """The first way of showing ``section`` in ``width`` columns (see the steps above)."""
    forms = [section] if section.compact is None else [section, section.compact]
    for form in forms:
        shown = list(range(len(form.headers)))
        if _total(m.natural for m in _measures(form, shown, stacked=False)) <= width:
            return Fit(form, shown, False, None)
        for stacked in (False, True) if _stackable(form) else (False,):
            widths = _widths(_measures(form, shown, stacked), width)
            if widths is not None:
                return Fit(form, shown, stacked, widths)
    form = forms[-1]
    shown = list(range(len(form.headers)))
    stacked = _stackable(form)
    for index in form.droppable:
        shown.remove(index)
        for each in (False, True) if stacked else (False,):
            widths = _widths(_measures(form, shown, each), width)
            if widths is not None:
                return Fit(form, shown, each, widths)
    return Fit(form, shown, stacked, _widths(_measures(form, shown, stacked), width, fold=True))


def _stackable(section: Section) -> bool:
    return any(SE_JOIN in row[i] for row in section.rows for i in section.numeric)


def _lines(cell: str, stacked: bool) -> list[str]:
    if stacked and SE_JOIN in cell:
        mean, _, half = cell.partition(SE_JOIN)
        return [mean, SE_JOIN.lstrip() + half]
    return cell.split("\n")


def _measures(section: Section, shown: list[int], stacked: bool) -> list[_Measure]:
    measures = []
    for index in shown:
        numeric = index in section.numeric
        header = section.headers[index]
        cells = [line for row in section.rows for line in _lines(row[index], stacked and numeric)]
        widest = max(map(cell_len, cells), default=0)
        natural = max(widest, *map(cell_len, header.split("\n")))
        if numeric:
            word = max(map(cell_len, header.split()), default=0)
            measures.append(_Measure(True, max(widest, 1), max(widest, word, 1), natural))
        else:
            measures.append(_Measure(False, 1, max(min(natural, TEXT_FLOOR), 1), natural))
    return measures


def _total(widths: Iterable[int]) -> int:
    listed = list(widths)
    return sum(listed) + GAP * (len(listed) - 1)


def _widths(measures: list[_Measure], width: int, *, fold: bool = False) -> list[int] | None:
    """Each column's width, or None when the columns cannot be that narrow.

    Each starts at its floor (with ``fold``: at its least); the room left widens the
    text columns towards their natural widths, narrowest first, then each numeric one
    whose header it puts on one line, the cheapest first.
    """
    widths = [m.least if fold else m.floor for m in measures]
    room = width - _total(widths)
    if room < 0:
        return None
    text = [i for i, m in enumerate(measures) if not m.numeric]
    while room > 0:
        short = [i for i in text if widths[i] < measures[i].natural]
        if not short:
            break
        narrowest = min(short, key=lambda i: widths[i])
        widths[narrowest] += 1
        room -= 1
    numbers = [i for i, m in enumerate(measures) if m.numeric]
    for i in sorted(numbers, key=lambda i: measures[i].natural - widths[i]):
        grow = measures[i].natural - widths[i]
        if grow <= room:  # half a header's growth would wrap it all the same
            widths[i] += grow
            room -= grow
    return widths


def _table(fitted: Fit) -> Table:
    section = fitted.section
    style = "bold red" if section.title.endswith("FAILED") else "bold"
    table = Table(
        title=Text(section.title, style=style),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
    )
    for position, index in enumerate(fitted.shown):
        table.add_column(
            # a plain str would be read as Rich markup: "[red]seg" from the input
            Text(section.headers[index]),
            justify="right" if index in section.right_align else "left",
            overflow="fold",
            width=None if fitted.widths is None else fitted.widths[position],
        )
    for row in section.rows:
        table.add_row(
            *[
                _cell("\n".join(fitted.lines(row, index)), verdict=index == section.verdicts)
                for index in fitted.shown
            ]
        )
    return table


def _cell(text: str, *, verdict: bool) -> Text:
    """A cell; a verdict's pass or FAIL, where it starts one, in colour."""
    cell = Text(text)
    word = text.partition(" ")[0]
    if verdict and word in VERDICT_STYLES:
        cell.stylize(VERDICT_STYLES[word], 0, len(word))
    return cell


VERDICT_STYLES = {"FAIL": "bold red", "pass": "green"}


def write(document: Document, out: TextIO) -> None:
    """The table onto ``out``: colour and width from the terminal when it is one."""
    render_table(document, Console(file=out, highlight=False))
