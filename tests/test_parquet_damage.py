"""A Parquet file whose column name is not UTF-8 (a damaged footer) is refused in one
sentence, as a file, on standard input and inside a dataset, never with a traceback."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import bce_process


def damaged(path: Path) -> Path:
    table = pa.table({"label": [0, 1, 1], "prob": [0.2, 0.7, 0.9], "zzq": [1, 2, 3]})
    pq.write_table(table, path)
    data = path.read_bytes()
    assert data.count(b"zzq") >= 1
    path.write_bytes(data.replace(b"zzq", b"\x80zq"))  # same length: only the name breaks
    return path


@pytest.mark.parametrize("how", ["file", "stdin", "dataset"])
def test_a_column_name_that_is_not_utf8_is_refused_plainly(tmp_path: Path, how: str) -> None:
    if how == "dataset":
        folder = tmp_path / "ds" / "segment=a"
        folder.mkdir(parents=True)
        damaged(folder / "part-0.parquet")
        done = bce_process("score", tmp_path / "ds")
    else:
        path = damaged(tmp_path / "bad.parquet")
        if how == "file":
            done = bce_process("score", path)
        else:
            done = bce_process("score", "-", "--input-format", "parquet", input=path.read_bytes())
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) <= 2
    assert "Parquet" in stderr
