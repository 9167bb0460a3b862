"""sample_data/ is what sample_data/make_sample_data.py writes: rerunning it changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from conftest import SAMPLE

TEXT_FILES = ["preds.csv", "preds.csv.gz", "no_header.csv", "bad.csv"]


def test_the_script_rewrites_the_shipped_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SAMPLE / "make_sample_data.py"), "--out-dir", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in TEXT_FILES:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name
    # Parquet's bytes name the pyarrow version that wrote them; its contents must agree.
    written = pq.read_table(tmp_path / "preds.parquet")
    assert written.equals(pq.read_table(SAMPLE / "preds.parquet"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*TEXT_FILES, "preds.parquet"])


def test_bad_csv_holds_two_invalid_rows() -> None:
    lines = (SAMPLE / "bad.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,label,prob"
    assert lines[2].split(",")[2] == "1.7"  # row 2: p outside [0, 1]
    assert lines[4].split(",")[1] == ""  # row 4: no label
    good = (SAMPLE / "preds.csv").read_text(encoding="utf-8").splitlines()[1:6]
    for row in (1, 3, 5):
        assert lines[row] == ",".join(good[row - 1].split(",")[:3])
