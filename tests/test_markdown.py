"""--format markdown through a real GFM renderer (cmark-gfm, GitHub's own parser): every
text taken from the input shows as literal text, never as a link, emphasis or HTML."""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

# Markup a data value could smuggle into a report, one kind each.
NASTY = [
    "[x](http://e.com)",
    "![i](http://e.com/i.png)",
    "<http://e.com>",
    "http://e.com/p",
    "www.e.com",
    "_a_",
    "*b*",
    "**c**",
    "~~s~~",
    "~t~",
    "`code`",
    "&amp;",
    "&copy;",
    "<b>bold</b>",
    "a|b",
    "a\\",
    "\\*d\\*",
    "[^1]",
    "[ ] task",
    "x #",
    "$m$",
    "snake_case",
]


def render(markdown: str) -> str:
    """GitHub's renderer, with raw HTML let through, so any tag from the data shows."""
    options = cmarkgfm.Options.CMARK_OPT_UNSAFE | cmarkgfm.Options.CMARK_OPT_FOOTNOTES
    html: str = cmarkgfm.github_flavored_markdown_to_html(markdown, options=options)
    return html


class Page(HTMLParser):
    """The rendered page: its tags in order, and the text of each block."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.blocks: list[tuple[str, str]] = []  # (tag, text) of h2, h3, p, th, td
        self._open: list[tuple[str, list[str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag in ("h2", "h3", "p", "th", "td"):
            self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            name, parts = self._open.pop()
            self.blocks.append((name, "".join(parts)))

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)

    def texts(self, *tags: str) -> list[str]:
        return [text for tag, text in self.blocks if tag in tags]


def write_rows(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def nasty_file(folder: Path, name: str) -> Path:
    """A predictions file with a group key, a kept value and a column name per string."""
    rows = [[i % 2, 0.1 + 0.8 * (i % 3) / 2, value, value] for i, value in enumerate(NASTY)]
    return write_rows(folder / name, ["label", "<b>p</b>", "[g](http://e.com)", "_k_"], rows)


def assert_no_markup(page: Page, html: str) -> None:
    # Only the report's own structure: headings, tables, and its notes in emphasis.
    allowed = {"h2", "h3", "p", "em", "table", "thead", "tbody", "tr", "th", "td"}
    assert set(page.tags) <= allowed, html
    # Each <em> is a whole note paragraph, never a part of a cell.
    assert html.count("<em>") == len(re.findall(r"<p><em>[^<]*</em></p>", html)), html


def test_values_from_the_input_render_as_literal_text(bce: Any, tmp_path: Path) -> None:
    # A file name that is markup too: [x](http://e.com) in a folder "[x](http:".
    folder = tmp_path / "[x](http:"
    folder.mkdir()
    nasty_file(folder, "e.com)_a_.csv")
    other = nasty_file(tmp_path, "~~s~~ <b>.csv")
    first = f"{folder}//e.com)_a_.csv"  # the path as typed, // and all
    run = bce(
        "score",
        *(first, other, "-p", "<b>p</b>", "--by", "[g](http://e.com)"),
        *("--worst", len(NASTY), "--keep", "_k_", "--max-loss", "9", "--gate-groups"),
        *("--format", "markdown"),
    )
    assert run.exit_code == 0, run.stderr
    html = render(run.stdout)
    page = Page(html)
    assert_no_markup(page, html)

    cells = page.texts("td")
    assert "~~s~~ <b>.csv" in cells  # the worst rows' file column
    for value in NASTY:
        assert value in cells, value  # a group key, and a kept value, as is
        assert f"[g](http://e.com)={value}" in cells  # the gate's group label
    headers = page.texts("th")
    assert "<b>p</b>" in headers and "[g](http://e.com)" in headers and "_k_" in headers
    assert "By [g](http://e.com)" in page.texts("h3")
    summary = page.texts("p")[0]
    assert summary.startswith(f"{first}, {other}: ")
    assert "files under " + str(tmp_path) in page.texts("p")
    assert "highest loss of <b>p</b> first; row: data row in its file, from 1" in page.texts("p")
    # The tables keep their shape: every row has as many cells as its header.
    for table in re.findall(r"<table>.*?</table>", html, flags=re.S):
        rows = re.findall(r"<tr>.*?</tr>", table, flags=re.S)
        assert len({len(re.findall(r"<t[hd][ >]", row)) for row in rows}) == 1, table


@pytest.mark.parametrize(
    "name", ["- a.csv", "+ a.csv", "1. a.csv", "2) a.csv", "# a.csv", "> a.csv", "    a.csv"]
)
def test_a_file_name_cannot_turn_the_summary_into_another_block(
    bce: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # The summary line starts with the first file's name, as typed.
    monkeypatch.chdir(tmp_path)
    write_rows(tmp_path / name, ["label", "prob"], [[1, 0.8], [0, 0.3]])
    run = bce("score", "--format", "markdown", "--", name)
    assert run.exit_code == 0, run.stderr
    page = Page(render(run.stdout))
    assert page.tags[:2] == ["h2", "p"]
    assert page.texts("p")[0].strip() == f"{name.strip()}: 2 rows; label 'label'"


def test_a_line_break_in_a_value_keeps_the_table_whole(bce: Any, tmp_path: Path) -> None:
    keys = ["two\nlines", "carriage\rreturn", "plain"]
    table = pa.table({"label": [1, 0, 1], "prob": [0.8, 0.3, 0.6], "seg": keys})
    pq.write_table(table, tmp_path / "p.parquet")
    run = bce("score", tmp_path / "p.parquet", "--by", "seg", "--format", "markdown")
    assert run.exit_code == 0, run.stderr
    page = Page(render(run.stdout))
    assert {"two lines", "carriage return", "plain"} <= set(page.texts("td"))
    assert "By seg" in page.texts("h3")
