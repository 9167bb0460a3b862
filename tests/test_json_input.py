"""JSON Lines read as CSV (standard input without --input-format, a file named .csv)
is recognised by its first line and refused in one plain sentence that says how to
read it as JSON Lines; read as CSV, its first record became "the columns it saw".
(JSON Lines input itself is tests/test_jsonl.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import bcecli
from bcecli.errors import InputError

from conftest import bce_process

FRAME = pd.DataFrame({"label": [1, 0, 1], "prob": [0.9, 0.2, 0.6]})
SAYS = "holds JSON Lines, not delimited text; pass --input-format jsonl"


def _json_lines(path: Path) -> Path:
    """The records as pandas writes JSON Lines (to_json(lines=True))."""
    FRAME.to_json(path, orient="records", lines=True)
    return path


def test_json_lines_on_standard_input_is_recognised(tmp_path: Path) -> None:
    data = _json_lines(tmp_path / "preds.jsonl").read_bytes()
    for command in ("score", "rows"):
        done = bce_process(command, "-", input=data)
        stderr = done.stderr.decode()
        assert done.returncode == 2, stderr
        assert "standard input" in stderr and SAYS in stderr
        assert "Traceback" not in stderr and "columns are" not in stderr


def test_json_lines_named_csv_is_recognised_by_its_content(bce: Any, tmp_path: Path) -> None:
    path = _json_lines(tmp_path / "preds.csv")
    run = bce("score", path)
    assert run.exit_code == 2 and SAYS in run.stderr and str(path) in run.stderr


def test_the_api_raises_the_same_sentence(tmp_path: Path) -> None:
    path = _json_lines(tmp_path / "preds.csv")
    with pytest.raises(InputError, match=SAYS):
        bcecli.score(path)
    with pytest.raises(InputError, match=SAYS):
        bcecli.row_losses(path)


def test_a_csv_header_in_brackets_is_still_csv(bce: Any, tmp_path: Path) -> None:
    # SQL Server writes [label],[prob]: text that starts like JSON but is not.
    path = tmp_path / "preds.csv"
    path.write_text("[label],[prob]\n1,0.9\n0,0.2\n")
    run = bce("score", path, "-y", "[label]", "-p", "[prob]", "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["metrics"]["rows"] == 2
