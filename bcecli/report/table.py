"""The terminal report: the layout's sections as Rich tables on a given Console."""

from __future__ import annotations

import io
from typing import TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from bcecli.document import Document
from bcecli.report.layout import Section, sections, summary_line


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
        block: list[RenderableType] = [Text(""), _table(section)]
        if section.note:
            block.append(Text(section.note, style="dim"))
        if section.title == "Calibration":
            from bcecli.report.chart import reliability_chart

            block.append(Text(""))
            block.append(reliability_chart(document["calibration"]))
        parts.append(Group(*block))
    return parts


def _table(section: Section) -> Table:
    style = "bold red" if section.title.endswith("FAILED") else "bold"
    table = Table(
        title=Text(section.title, style=style),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
    )
    for index, header in enumerate(section.headers):
        table.add_column(
            Text(header),  # a plain str would be read as Rich markup: "[red]seg" from the input
            justify="right" if index in section.right_align else "left",
            overflow="fold",
        )
    for row in section.rows:
        table.add_row(*[_cell(cell) for cell in row])
    return table


def _cell(text: str) -> Text:
    if text == "FAIL":
        return Text(text, style="bold red")
    if text == "pass":
        return Text(text, style="green")
    return Text(text)


def write(document: Document, out: TextIO) -> None:
    """The table onto ``out``: colour and width from the terminal when it is one."""
    render_table(document, Console(file=out, highlight=False))
