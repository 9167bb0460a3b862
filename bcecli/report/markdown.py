"""The report as GitHub-flavoured markdown, for $GITHUB_STEP_SUMMARY and pull requests."""

from __future__ import annotations

from typing import TextIO

from bcecli.document import Document
from bcecli.report.layout import Section, sections, summary_line


def render_markdown(document: Document) -> str:
    parts = ["## bce report", "", _escape(summary_line(document)), ""]
    for section in sections(document):
        parts += _section(section)
    return "\n".join(parts).rstrip("\n") + "\n"


def _section(section: Section) -> list[str]:
    lines = [f"### {_escape(section.title)}", ""]
    lines.append("| " + " | ".join(_escape(h) for h in section.headers) + " |")
    lines.append(
        "|"
        + "|".join(
            "---:" if index in section.right_align else "---"
            for index in range(len(section.headers))
        )
        + "|"
    )
    for row in section.rows:
        lines.append("| " + " | ".join(_escape(cell) for cell in row) + " |")
    if section.note:
        for line in section.note.splitlines():
            lines += ["", f"_{_escape(line)}_"]
    lines.append("")
    return lines


_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|*<`"})


def _escape(text: str) -> str:
    """Cell text that cannot end a cell, start emphasis or code, or open an HTML tag."""
    return text.translate(_SPECIAL).replace("\r", " ").replace("\n", " ")


def write(document: Document, out: TextIO) -> None:
    """The markdown report onto ``out`` (``--format markdown``)."""
    out.write(render_markdown(document))
