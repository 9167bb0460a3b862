"""Every way a report is rendered, in one table: ``--format NAME`` prints it on standard
output and ``--report-NAME PATH`` (where a renderer has one) also writes it to a file.

Standard library only: the CLI reads this table at start-up for its choices and
options, and a renderer's module is imported only when it renders. A new renderer is
a module with ``write(document, out)`` and one row here.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO, cast

if TYPE_CHECKING:
    from bcecli.document import Document

Write = Callable[["Document", TextIO], None]


@dataclass(frozen=True)
class Renderer:
    name: str  # --format NAME
    module: str  # where write(document, out) lives
    file_option: str | None  # --report-X PATH also writes it to a file; None: no such option
    file_help: str = ""

    def write(self, document: Document, out: TextIO) -> None:
        """Render ``document`` onto ``out`` (the table adapts to a terminal there)."""
        function = cast(Write, importlib.import_module(self.module).write)
        function(document, out)

    def text(self, document: Document) -> str:
        """The rendering as text, for a file."""
        buffer = io.StringIO()
        self.write(document, buffer)
        return buffer.getvalue()


RENDERERS = (
    Renderer("table", "bcecli.report.table", None),
    Renderer(
        "json", "bcecli.report.jsonout", "--report-json", "Also write the JSON report to PATH."
    ),
    Renderer(
        "markdown",
        "bcecli.report.markdown",
        "--report-md",
        "Also write the markdown report to PATH.",
    ),
    Renderer(
        "html",
        "bcecli.report.html",
        "--report-html",
        "Also write the HTML report (one self-contained page) to PATH.",
    ),
)
RENDERERS_BY_NAME = {renderer.name: renderer for renderer in RENDERERS}
