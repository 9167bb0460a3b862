"""Every renderer of the one table (bcecli.report.renderers) is a --format choice, and
the ones with a --report-X option write to the file exactly what they print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bcecli.report.renderers import RENDERERS, Renderer

from conftest import SAMPLE

PREDS = SAMPLE / "preds.csv"


@pytest.mark.parametrize("renderer", RENDERERS, ids=lambda r: r.name)
def test_every_renderer_prints_and_writes_the_same_text(
    bce: Any, tmp_path: Path, renderer: Renderer
) -> None:
    printed = bce("score", PREDS, "--by", "segment", "--format", renderer.name)
    assert printed.exit_code == 0, printed.stderr
    assert "0.4717" in printed.stdout or "0.47165" in printed.stdout
    if renderer.file_option is None:
        return
    path = tmp_path / f"report.{renderer.name}"
    # The file is written whatever --format prints.
    run = bce("score", PREDS, "--by", "segment", "--format", "json", renderer.file_option, path)
    assert run.exit_code == 0, run.stderr
    assert path.read_text(encoding="utf-8") == printed.stdout


def test_help_lists_every_renderer(bce: Any) -> None:
    help_text = bce("score", "--help").stdout
    for renderer in RENDERERS:
        assert renderer.name in help_text
        if renderer.file_option:
            assert renderer.file_option in help_text
