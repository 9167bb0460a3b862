"""The report as GitHub-flavoured markdown, for $GITHUB_STEP_SUMMARY and pull requests.

Every text taken from the input (file names, column names, group keys, kept values)
is escaped (``_escape``) so that a GFM renderer shows it as literal text: a group key
``[x](http://e.com)`` stays those characters, not a link. bce's own words are written
as they are.
"""

from __future__ import annotations

import re
from typing import TextIO

from bcecli.document import Document
from bcecli.report.layout import Section, sections, summary_line


def render_markdown(document: Document) -> str:
    parts = ["## bce report", "", _paragraph_start(summary_line(document, _escape)), ""]
    for section in sections(document, _escape):
        parts += _section(section)
    return "\n".join(parts).rstrip("\n") + "\n"


def _section(section: Section) -> list[str]:
    lines = [f"### {section.title}", ""]
    lines.append("| " + " | ".join(section.headers) + " |")
    lines.append(
        "|"
        + "|".join(
            "---:" if index in section.right_align else "---"
            for index in range(len(section.headers))
        )
        + "|"
    )
    for row in section.rows:
        lines.append("| " + " | ".join(row) + " |")
    if section.note:
        for line in section.note.splitlines():
            lines += ["", f"_{line}_"]
    lines.append("")
    return lines


# Inline markup of GFM: backslash, code span, emphasis, strike-through, links and
# images, table cells, an ATX heading's closing #s, and $ (GitHub's math). "!" needs
# no escape once "[" has one. "&", "<" and ">" become entities, as in HTML.
_SPECIAL = str.maketrans(
    {
        **{c: "\\" + c for c in "\\`*~[]|#$"},
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "\r": " ",
        "\n": " ",
    }
)
# "_" opens or closes emphasis only at a word's edge: snake_case stays readable.
_EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# GFM's extended autolinks: www.example.com and scheme://... turn into links unless
# the "." after www or the ":" before // is escaped. (An e-mail address is linked
# whatever is escaped: the literal text still shows, as the link's text.)
_AUTOLINK = re.compile(r"(?i)(?<=www)\.|:(?=/)")


def _escape(text: str) -> str:
    """A text from the input, as GFM shows literally in a cell, heading or note."""
    text = _EDGE_UNDERSCORE.sub(r"\\_", text.translate(_SPECIAL))
    return _AUTOLINK.sub(lambda match: "\\" + match[0], text)


# What makes a paragraph's first line something else: a list item ("- ", "+ ", "1. ",
# "1) ") or, after four spaces, code. "#", ">", "*", "|", "<", "`" and "~" are escaped.
_BLOCK_START = re.compile(r"^([-+]|\d{1,9}[.)])(?=\s|$)")


def _paragraph_start(line: str) -> str:
    """The summary line, which starts with a file name, kept a plain paragraph."""
    stripped = line.lstrip(" \t")
    indent = "".join("&#9;" if c == "\t" else "&#32;" for c in line[: len(line) - len(stripped)])
    return indent + _BLOCK_START.sub(lambda match: match[0][:-1] + "\\" + match[0][-1], stripped)


def write(document: Document, out: TextIO) -> None:
    """The markdown report onto ``out`` (``--format markdown``)."""
    out.write(render_markdown(document))
