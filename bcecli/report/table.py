"""The terminal report: the layout's sections as Rich tables on a given Console."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bcecli.report.layout import Section, sections, summary_line


def render_table(document: dict[str, Any], console: Console) -> None:
    """Print the report; the Console decides about colour and width."""
    console.print(Text(summary_line(document), style="bold"))
    for section in sections(document):
        console.print(_table(section))
        if section.note:
            console.print(Text(section.note, style="dim"))
        if section.title == "Calibration":
            from bcecli.report.chart import reliability_chart

            console.print(reliability_chart(document["calibration"]))


def _table(section: Section) -> Table:
    style = "red" if section.title.endswith("FAILED") else "bold"
    table = Table(
        title=Text(section.title, style=style),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for index, header in enumerate(section.headers):
        table.add_column(
            header,
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
