"""Issue 12, item 1: a --by column gives the same groups whatever its Arrow encoding.

Real tools write group columns as dictionaries (pandas and polars categoricals, polars
enums, pyarrow's dictionary_encode), with a missing value as a null index; a missing
value is its own group, never counted in another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bcecli
from bcecli.scoring.batches import group_ids

from conftest import bce_process, validate_report

SEGMENTS = ["a", "b", None, "b", "c", None, "a", "b", "b", None]
LABELS = [1, 0, 1, 0, 0, 1, 1, 0, 1, 0]
PROBS = [0.9, 0.2, 0.6, 0.3, 0.1, 0.45, 0.7, 0.4, 0.8, 0.35]
# Group keys and kept values, row by row: the truth every encoding must reproduce.
BY = ("--by", "segment", "--worst", "10", "--keep", "segment")


def score_json(bce: Any, *args: Any) -> dict[str, Any]:
    run = bce("score", *args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    document: dict[str, Any] = run.json()
    return document


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """A report without what names the input (its path and format)."""
    document = dict(document, inputs=None)
    document["worst"] = [dict(row, path=None) for row in document["worst"]]
    return document


def frame() -> pd.DataFrame:
    return pd.DataFrame({"label": LABELS, "prob": PROBS, "segment": SEGMENTS})


def arrow_table(segment: pa.Array) -> pa.Table:
    return pa.table({"label": LABELS, "prob": PROBS, "segment": segment})


def pandas_categorical(path: Path) -> None:
    frame().astype({"segment": "category"}).to_parquet(path)


def pandas_unused_category(path: Path) -> None:
    segment = pd.Categorical(SEGMENTS, categories=["z", "a", "b", "c", "unused"])
    frame().assign(segment=segment).to_parquet(path)


# polars is imported where it is used: a module-level import would grow the test
# process, whose peak RSS every child process inherits (tests/test_chunk_size.py
# measures a child's).


def polars_categorical(path: Path) -> None:
    import polars as pl

    pl.from_pandas(frame()).with_columns(pl.col("segment").cast(pl.Categorical)).write_parquet(path)


def polars_enum(path: Path) -> None:
    import polars as pl

    kind = pl.Enum(["c", "b", "a", "never"])
    pl.from_pandas(frame()).with_columns(pl.col("segment").cast(kind)).write_parquet(path)


def polars_large_string(path: Path) -> None:
    import polars as pl

    pl.from_pandas(frame()).write_parquet(path)


def pyarrow_dictionary_encode(path: Path) -> None:
    pq.write_table(arrow_table(pc.dictionary_encode(pa.array(SEGMENTS))), path)


def pyarrow_plain(path: Path) -> None:
    pq.write_table(arrow_table(pa.array(SEGMENTS)), path)


WRITERS: list[Callable[[Path], None]] = [
    pandas_categorical,
    pandas_unused_category,
    polars_categorical,
    polars_enum,
    polars_large_string,
    pyarrow_dictionary_encode,
    pyarrow_plain,
]


@pytest.fixture
def from_csv(bce: Any, tmp_path: Path) -> dict[str, Any]:
    csv = tmp_path / "preds.csv"
    frame().to_csv(csv, index=False)
    document = score_json(bce, csv, *BY)
    rows = {tuple(g["key"].items()): g["metrics"]["rows"] for g in document["groups"]}
    assert rows == {
        (("segment", "b"),): 4,
        (("segment", None),): 3,
        (("segment", "a"),): 2,
        (("segment", "c"),): 1,
    }
    return document


@pytest.mark.parametrize("write", WRITERS, ids=lambda write: write.__name__)
@pytest.mark.parametrize("chunk_size", ["3", "1000"])
def test_parquet_groups_match_csv_whatever_the_encoding(
    bce: Any,
    tmp_path: Path,
    from_csv: dict[str, Any],
    write: Callable[[Path], None],
    chunk_size: str,
) -> None:
    path = tmp_path / "preds.parquet"
    write(path)
    document = score_json(bce, path, *BY, "--chunk-size", chunk_size)
    expected = comparable(from_csv)
    assert comparable(document) == dict(expected, settings=document["settings"])
    # Kept values and keys are plain values, not dictionary indices.
    assert [row["keep"]["segment"] for row in document["worst"]] == [
        row["keep"]["segment"] for row in from_csv["worst"]
    ]


def test_standard_input_parquet_and_csv_give_the_same_groups(
    tmp_path: Path, from_csv: dict[str, Any]
) -> None:
    parquet = tmp_path / "preds.parquet"
    pandas_categorical(parquet)
    csv = tmp_path / "preds.csv"
    frame().to_csv(csv, index=False)
    documents = []
    for data, fmt in ((parquet, "parquet"), (csv, "csv")):
        args = ("score", "-", "--input-format", fmt, *BY, "--format", "json")
        run = bce_process(*args, input=data.read_bytes())
        assert run.returncode == 0, run.stderr
        document = json.loads(run.stdout)
        validate_report(document)
        documents.append(comparable(document))
    assert documents[0] == documents[1] == comparable(from_csv)


def test_missing_group_reads_missing_in_table_markdown_and_gate_lines(
    bce: Any, tmp_path: Path
) -> None:
    path = tmp_path / "preds.parquet"
    pandas_categorical(path)
    table = bce("score", path, "--by", "segment").stdout
    assert "(missing)" in table
    markdown = bce("score", path, "--by", "segment", "--format", "markdown").stdout
    assert "| (missing) | 3 |" in markdown
    # The missing group's loss: rows 3, 6 and 10 (labels 1, 1, 0).
    loss = -(np.log(0.6) + np.log(0.45) + np.log1p(-0.35)) / 3
    gate = bce("score", path, "--by", "segment", "--gate-groups", "--max-loss", "0.45")
    assert gate.exit_code == 1
    assert f"{loss:.2f}" == "0.58"
    assert gate.stderr == "Gate failed: segment=(missing): log_loss 0.58 > max-loss 0.45\n"


def test_integer_and_boolean_groups_match_across_encodings(bce: Any, tmp_path: Path) -> None:
    ints = [3, 1, None, 1, 2, None, 3, 1, 1, None]
    flags = [True, False, None, False, True, None, True, False, False, None]
    plain = tmp_path / "plain.parquet"
    pq.write_table(
        arrow_table(pa.array(SEGMENTS))
        .append_column("n", pa.array(ints))
        .append_column("flag", pa.array(flags)),
        plain,
    )
    encoded = tmp_path / "encoded.parquet"
    frame().assign(
        segment=pd.Categorical(SEGMENTS),
        n=pd.Categorical(ints, categories=[1, 2, 3, 4]),
        flag=pd.Series(flags, dtype="boolean"),
    ).to_parquet(encoded)
    dictionary = tmp_path / "dictionary.parquet"
    pq.write_table(
        arrow_table(pc.dictionary_encode(pa.array(SEGMENTS)))
        .append_column("n", pc.dictionary_encode(pa.array(ints)))
        .append_column("flag", pc.dictionary_encode(pa.array(flags))),
        dictionary,
    )
    args = ("--by", "n", "--by", "flag", "--by", "segment", "--worst", "10")
    documents = [
        comparable(score_json(bce, path, *args, "--keep", "n,flag"))
        for path in (plain, encoded, dictionary)
    ]
    assert documents[0] == documents[1] == documents[2]
    keys = {tuple(g["key"].values()): g["metrics"]["rows"] for g in documents[0]["groups"]}
    assert keys[(None, None, None)] == 3
    assert keys[(1, False, "b")] == 4
    assert sum(keys.values()) == 10


# -- every encoding of random group columns -----------------------------------------------


def encodings(values: list[Any], kind: pa.DataType) -> dict[str, pa.Array | pa.ChunkedArray]:
    """The same values as Arrow can hold them: plain, and as dictionaries whose missing
    values are null indices, null entries or both, with entries repeated or unused."""
    plain = pa.array(values, kind)
    result: dict[str, pa.Array | pa.ChunkedArray] = {
        "plain": plain,
        "dictionary_encode": pc.dictionary_encode(plain),
    }
    if pa.types.is_string(kind):
        result["large_string"] = plain.cast(pa.large_string())
    distinct = [v for v in dict.fromkeys(values) if v is not None]
    # Entry 0 unused, every value twice, a null entry: row i picks one copy by parity.
    entries = pa.array([distinct[0] if distinct else None, *distinct, None, *distinct], kind)
    null_entry = len(distinct) + 1
    positions = {value: 1 + i for i, value in enumerate(distinct)}
    in_entries, in_both = [], []
    for row, value in enumerate(values):
        if value is None:
            in_entries.append(null_entry)
            in_both.append(None if row % 2 else null_entry)
        else:
            index = positions[value] + (null_entry if row % 2 else 0)
            in_entries.append(index)
            in_both.append(index)
    result["null_entry"] = pa.DictionaryArray.from_arrays(pa.array(in_entries, pa.int32()), entries)
    result["null_entry_and_index"] = pa.DictionaryArray.from_arrays(
        pa.array(in_both, pa.int8() if len(entries) < 100 else pa.int32()), entries
    )
    half = len(values) // 2
    result["chunks_of_other_dictionaries"] = pa.chunked_array(
        [pc.dictionary_encode(plain[:half]), pc.dictionary_encode(plain[half:])]
    )
    return result


KINDS = {
    "string": (pa.string(), st.sampled_from(["a", "b", "c", "dd", ""])),
    "int": (pa.int64(), st.integers(-3, 3)),
    "bool": (pa.bool_(), st.booleans()),
}


@st.composite
def group_columns(draw: st.DrawFn) -> tuple[pa.DataType, list[Any]]:
    kind, values = KINDS[draw(st.sampled_from(sorted(KINDS)))]
    return kind, draw(st.lists(st.none() | values, min_size=1, max_size=40))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=group_columns(), second=group_columns(), chunk_size=st.integers(1, 50))
def test_random_group_columns_give_the_same_groups_in_every_encoding(
    first: tuple[pa.DataType, list[Any]],
    second: tuple[pa.DataType, list[Any]],
    chunk_size: int,
) -> None:
    rows = len(first[1])
    values = [first[1], (second[1] * rows)[:rows]]
    rng = np.random.default_rng(rows)
    base = {"label": rng.integers(0, 2, rows), "prob": rng.uniform(0.01, 0.99, rows)}
    truth = [tuple(row) for row in zip(*values)]
    reports = {}
    for name in ("plain", "dictionary_encode", "null_entry", "null_entry_and_index"):
        columns = [encodings(v, kind)[name] for v, (kind, _) in zip(values, (first, second))]
        table = pa.table({**base, "g": columns[0], "h": columns[1]})
        ids, keys = group_ids(table, ("g", "h"))
        assert [keys[i] for i in ids] == truth, name
        assert len(keys) == len(set(truth)), name  # only keys some row holds
        report = bcecli.score(table, by=["g", "h"], chunk_size=chunk_size, worst=3, keep=["g"])
        reports[name] = report.to_dict()
    for name, column in encodings(values[0], first[0]).items():
        table = pa.table({**base, "g": column})
        ids, keys = group_ids(table, ("g",))
        assert [keys[i] for i in ids] == [(v,) for v in values[0]], name
    assert all(report == reports["plain"] for report in reports.values())


def test_many_distinct_keys_in_several_columns_do_not_collide() -> None:
    # 70,000 distinct values in each of four columns: their product overflows int64, so
    # keys cannot be numbered by mixing every column's code into one number at once.
    rows = 70_000
    rng = np.random.default_rng(7)
    columns = {name: rng.permutation(rows) for name in "wxyz"}
    table = pa.table({name: pa.array(values) for name, values in columns.items()})
    ids, keys = group_ids(table, tuple(columns))
    assert len(keys) == rows
    assert [keys[i] for i in ids] == list(zip(*(values.tolist() for values in columns.values())))
