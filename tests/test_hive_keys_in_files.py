"""Issue 12, item 4: hive datasets whose partition keys are stored inside the files too.

polars' ``write_parquet(path, partition_by=...)`` writes each key both as a folder name
and as a column of every file (large_string for text, the column's own type otherwise);
DuckDB and polars read such a dataset, and bce must give the flat file's numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

if TYPE_CHECKING:
    # Imported where used: a module-level import would grow the test process, whose
    # peak RSS every child process inherits (tests/test_chunk_size.py measures one).
    import polars as pl

ROWS = 600


def score_json(bce: Any, *args: Any) -> dict[str, Any]:
    run = bce("score", *args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    document: dict[str, Any] = run.json()
    return document


def numbers(document: dict[str, Any]) -> dict[str, Any]:
    """A report without where its rows came from (paths, row numbers, input entries):
    a dataset holds the flat file's rows in another order."""
    return {
        key: value for key, value in document.items() if key not in ("inputs", "worst", "settings")
    } | {"rows": [entry["rows"] for entry in document["inputs"]]}


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    import polars as pl

    rng = np.random.default_rng(12)
    segment = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), ROWS)
    segment[rng.random(ROWS) < 0.1] = None
    return pl.DataFrame(
        {
            "label": rng.integers(0, 2, ROWS),
            "prob": rng.uniform(0.01, 0.99, ROWS),
            "weight": rng.uniform(0.5, 2.0, ROWS),
            "segment": segment.tolist(),
            "year": rng.choice([2023, 2024], ROWS),
        }
    )


@pytest.fixture(scope="module")
def files(frame: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("polars")
    flat = root / "flat.parquet"
    frame.write_parquet(flat)
    by_segment = root / "by_segment"
    frame.write_parquet(by_segment, partition_by="segment")
    by_both = root / "by_year_segment"
    frame.write_parquet(by_both, partition_by=["year", "segment"])
    return {"flat": flat, "by_segment": by_segment, "by_both": by_both}


def test_polars_writes_the_keys_into_the_files(files: dict[str, Path]) -> None:
    # What makes these datasets different from pyarrow's write_to_dataset.
    part = next(files["by_both"].rglob("*.parquet"))
    schema = pq.read_schema(part)
    assert schema.field("segment").type == pa.large_string()
    assert schema.field("year").type == pa.int64()
    assert (files["by_segment"] / "segment=__HIVE_DEFAULT_PARTITION__").is_dir()


@pytest.mark.parametrize("dataset", ["by_segment", "by_both"])
@pytest.mark.parametrize(
    "by", [("--by", "segment"), ("--by", "year", "--by", "segment"), ()], ids=str
)
def test_a_polars_hive_dataset_scores_as_the_flat_file(
    bce: Any, files: dict[str, Path], dataset: str, by: tuple[str, ...]
) -> None:
    args = ("-w", "weight", *by, "--calibration", "4", "--chunk-size", "50")
    flat = score_json(bce, files["flat"], *args)
    hive = score_json(bce, files[dataset], *args)
    assert numbers(hive) == numbers(flat)
    assert hive["inputs"][0]["path"] == str(files[dataset])


def test_groups_agree_with_duckdb_and_polars(bce: Any, files: dict[str, Path]) -> None:
    import duckdb
    import polars as pl

    hive = files["by_both"]
    document = score_json(bce, hive, "--by", "year", "--by", "segment")
    rows = {
        (g["key"]["year"], g["key"]["segment"]): g["metrics"]["rows"] for g in document["groups"]
    }
    query = (
        f"SELECT year, segment, count(*) FROM read_parquet('{hive}/**/*.parquet', "
        "hive_partitioning = true) GROUP BY ALL"
    )
    assert rows == {(year, segment): n for year, segment, n in duckdb.sql(query).fetchall()}
    counts = pl.read_parquet(hive, hive_partitioning=True).group_by("year", "segment").len()
    assert rows == {(year, segment): n for year, segment, n in counts.iter_rows()}
    assert rows[(2024, None)] > 0


def test_worst_rows_keep_the_in_file_keys(bce: Any, files: dict[str, Path]) -> None:
    document = score_json(bce, files["by_segment"], "--worst", "600", "--keep", "segment,year")
    for row in document["worst"]:
        folder = Path(row["path"]).parent.name
        assert folder == f"segment={row['keep']['segment'] or '__HIVE_DEFAULT_PARTITION__'}"
        assert row["keep"]["year"] in (2023, 2024)


def _hand_written(root: Path, parts: dict[str, pa.Table]) -> Path:
    """A dataset written file by file with pyarrow, each under its folder path."""
    for folder, table in parts.items():
        (root / folder).mkdir(parents=True)
        pq.write_table(table, root / folder / "part-0.parquet")
    return root


def _rows(label: list[int], prob: list[float], **columns: pa.Array) -> pa.Table:
    return pa.table({"label": label, "prob": prob, **columns})


def test_a_key_whose_in_file_type_differs_from_its_folder_name(bce: Any, tmp_path: Path) -> None:
    # Integers in the files, text in the folder names; and the other way round: text
    # of digits (zip codes) in the files, which folder names alone would make 2139.
    dataset = _hand_written(
        tmp_path / "ds",
        {
            "k=7/zip=02139": _rows(
                [1, 0], [0.8, 0.3], k=pa.array([7, 7]), zip=pa.array(["02139"] * 2)
            ),
            "k=10/zip=10001": _rows([0], [0.4], k=pa.array([10]), zip=pa.array(["10001"])),
        },
    )
    flat = tmp_path / "flat.parquet"
    pq.write_table(
        pa.concat_tables(pq.read_table(f) for f in sorted(dataset.rglob("*.parquet"))), flat
    )
    args = ("--by", "k", "--by", "zip")
    hive = score_json(bce, dataset, *args)
    assert [g["key"] for g in hive["groups"]] == [
        {"k": 7, "zip": "02139"},
        {"k": 10, "zip": "10001"},
    ]
    assert numbers(hive) == numbers(score_json(bce, flat, *args))


def test_keys_in_some_files_only_and_positional_names(bce: Any, tmp_path: Path) -> None:
    # year is only a folder name; segment is in the files too. Without a header the
    # columns are the file's, then the keys the files do not hold.
    dataset = _hand_written(
        tmp_path / "ds",
        {
            "year=2024/segment=a": _rows([1, 0], [0.9, 0.2], segment=pa.array(["a", "a"])),
            "year=2025/segment=b": _rows([1], [0.6], segment=pa.array(["b"])),
        },
    )
    named = score_json(bce, dataset, "--by", "year", "--by", "segment")
    keys = [g["key"] for g in named["groups"]]
    assert keys == [{"year": 2024, "segment": "a"}, {"year": 2025, "segment": "b"}]
    positional = score_json(bce, dataset, "--no-header", "-y", "1", "-p", "2", "--by", "4")
    assert [g["key"] for g in positional["groups"]] == [{"4": 2024}, {"4": 2025}]


@pytest.mark.parametrize(
    ("folder", "values", "row", "says"),
    [
        ("segment=a", ["a", "b", "a"], 2, "segment = 'b', but the file's folder says segment=a"),
        ("segment=a", ["a", "a", None], 3, "segment = None, but the file's folder says segment=a"),
        (
            "segment=__HIVE_DEFAULT_PARTITION__",
            [None, "x", None],
            2,
            "segment = 'x', but the file's folder says segment=__HIVE_DEFAULT_PARTITION__",
        ),
        ("segment=7", ["7", "07", "7"], 2, "segment = '07', but the file's folder says segment=7"),
    ],
)
# string is the type folder names suggest: the old reader merged it and then never
# looked at the files' values; large_string is polars'; a dictionary, pandas'.
@pytest.mark.parametrize(
    "kind", [pa.string(), pa.large_string(), pa.dictionary(pa.int32(), pa.string())], ids=str
)
def test_a_key_that_disagrees_with_its_folder_is_an_error(
    bce: Any,
    tmp_path: Path,
    folder: str,
    values: list[str | None],
    row: int,
    says: str,
    kind: pa.DataType,
) -> None:
    dataset = _hand_written(
        tmp_path / "ds",
        {
            "segment=c": _rows([1], [0.5], segment=pa.array(["c"], kind)),
            folder: _rows([1, 0, 1], [0.9, 0.2, 0.6], segment=pa.array(values, kind)),
        },
    )
    path = dataset / folder / "part-0.parquet"
    run = bce("score", dataset, "--by", "segment", "--chunk-size", "1")
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr == (
        f"Error: {path} row {row}: {says}; correct the value, or write the row to the "
        "folder of its value.\n"
    )
    # The rows command reads the key too, and stops the same way.
    rows = bce("rows", dataset)
    assert (rows.exit_code, rows.stderr) == (2, run.stderr)


def test_an_integer_key_that_disagrees_is_an_error(bce: Any, tmp_path: Path) -> None:
    dataset = _hand_written(
        tmp_path / "ds",
        {"k=1": _rows([1, 0], [0.9, 0.2], k=pa.array([1, 2]))},
    )
    run = bce("score", dataset, "--by", "k")
    assert run.exit_code == 2
    assert f"{dataset / 'k=1' / 'part-0.parquet'} row 2: k = 2, but" in run.stderr


def test_a_key_no_folder_name_can_spell_is_an_error(bce: Any, tmp_path: Path) -> None:
    # Bytes that are not text: neither read as the folder's text nor written as text.
    dataset = _hand_written(
        tmp_path / "ds", {"segment=a": _rows([1], [0.9], segment=pa.array([b"\xff"]))}
    )
    run = bce("score", dataset, "--by", "segment")
    assert run.exit_code == 2
    assert "row 1: segment = b'\\xff', but the file's folder says segment=a;" in run.stderr
