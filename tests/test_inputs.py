"""Every kind of input ``bce score`` takes, each checked against scikit-learn on the same data."""

from __future__ import annotations

import bz2
import decimal
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import log_loss

from conftest import CORPUS, bce_process

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


def make_preds(n: int, seed: int) -> tuple[IntArray, FloatArray]:
    """Seeded labels and probabilities; p rounded so its text form is exact."""
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(n), 6)
    y = (rng.random(n) < p).astype(np.int64)
    return y, p


def csv_bytes(y: Any, p: Any, *, sep: str = ",", header: bool = True) -> bytes:
    lines = [f"label{sep}prob"] if header else []
    lines += [f"{a}{sep}{b!r}" for a, b in zip(np.asarray(y).tolist(), np.asarray(p).tolist())]
    return ("\n".join(lines) + "\n").encode()


def sk_loss(y: Any, p: Any, w: Any = None) -> float:
    return float(
        log_loss(np.asarray(y), np.asarray(p, dtype=np.float64), sample_weight=w, labels=[0, 1])
    )


def assert_matches(document: dict[str, Any], y: Any, p: Any) -> None:
    """Rows, base rate and log loss agree with numpy and scikit-learn (SPEC: 1e-12 relative)."""
    metrics = document["metrics"]
    assert metrics["rows"] == len(y)
    assert metrics["positives"] == pytest.approx(float(np.sum(y)))
    assert metrics["log_loss"] == pytest.approx(sk_loss(y, p), rel=1e-12)
    assert metrics["mean_prob"] == pytest.approx(
        float(np.mean(np.asarray(p, np.float64))), rel=1e-12
    )


def score_json(bce: Any, *args: Any) -> dict[str, Any]:
    run = bce("score", *args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    document: dict[str, Any] = run.json()
    return document


Y, P = make_preds(500, 1)


@pytest.mark.parametrize(
    ("name", "sep", "args"),
    [
        ("preds.tsv", "\t", []),
        ("preds.csv", ";", ["-d", ";"]),
        ("preds.txt", "|", ["--delimiter", "|"]),
        ("preds.txt", "\t", ["-d", "tab"]),
        ("preds.csv", "\t", ["-d", "\\t"]),
        ("preds.txt", ",", []),
    ],
)
def test_delimiter_by_extension_or_option(
    bce: Any, tmp_path: Path, name: str, sep: str, args: list[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(csv_bytes(Y, P, sep=sep))
    document = score_json(bce, path, *args)
    assert_matches(document, Y, P)
    assert document["columns"]["label"] == "label"


def _compress(codec: str, data: bytes) -> bytes:
    if codec == "gz":
        return gzip.compress(data, mtime=0)
    if codec == "bz2":
        return bz2.compress(data)
    import zstandard

    return bytes(zstandard.ZstdCompressor().compress(data))


@pytest.mark.parametrize("codec", ["gz", "bz2", "zst"])
@pytest.mark.parametrize(("ext", "sep"), [("csv", ","), ("tsv", "\t")])
def test_compressed_files(bce: Any, tmp_path: Path, codec: str, ext: str, sep: str) -> None:
    plain = tmp_path / f"preds.{ext}"
    plain.write_bytes(csv_bytes(Y, P, sep=sep))
    packed = tmp_path / f"preds.{ext}.{codec}"
    packed.write_bytes(_compress(codec, plain.read_bytes()))
    document = score_json(bce, packed)
    assert_matches(document, Y, P)
    assert document["inputs"] == [{"path": str(packed), "format": ext, "rows": 500, "skipped": 0}]
    assert document["metrics"] == score_json(bce, plain)["metrics"]


@pytest.mark.parametrize("args", [[], ["--no-header", "-y", "1", "-p", "2"]])
def test_utf8_bom(bce: Any, tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(Y, P, header=not args))
    document = score_json(bce, path, *args)
    assert_matches(document, Y, P)
    assert document["columns"]["label"] == ("1" if args else "label")


def _write_dataset(root: Path) -> dict[str, tuple[IntArray, FloatArray]]:
    parts = {"a": make_preds(120, 2), "b": make_preds(80, 3), "c": make_preds(50, 4)}
    for index, (segment, (y, p)) in enumerate(parts.items()):
        folder = root / f"year=2024/segment={segment}"
        folder.mkdir(parents=True)
        # Two files in one partition, and row groups smaller than the chunks.
        half = len(y) // 2
        for part, rows in enumerate((slice(0, half), slice(half, None))):
            table = pa.table({"label": y[rows], "prob": p[rows], "id": np.arange(len(y))[rows]})
            pq.write_table(table, folder / f"part-{index}-{part}.parquet", row_group_size=17)
    (root / "_SUCCESS").write_bytes(b"")  # Spark's marker file, skipped as pyarrow does
    return parts


def test_parquet_folder_is_one_dataset_with_hive_partitions(bce: Any, tmp_path: Path) -> None:
    root = tmp_path / "preds.parquet"  # Spark names its output folders like files
    parts = _write_dataset(root)
    y = np.concatenate([y for y, _ in parts.values()])
    p = np.concatenate([p for _, p in parts.values()])
    document = score_json(bce, root, "--chunk-size", "7")
    assert_matches(document, y, p)
    assert document["inputs"] == [
        {"path": str(root), "format": "parquet", "rows": 250, "skipped": 0}
    ]

    by = score_json(bce, root, "--by", "segment")
    assert [group["key"] for group in by["groups"]] == [{"segment": s} for s in "abc"]
    for group, (gy, gp) in zip(by["groups"], parts.values()):
        assert group["metrics"]["rows"] == len(gy)
        assert group["metrics"]["log_loss"] == pytest.approx(sk_loss(gy, gp), rel=1e-12)
    years = score_json(bce, root, "--by", "year")
    assert [(g["key"], g["metrics"]["rows"]) for g in years["groups"]] == [({"year": 2024}, 250)]


def test_corpus_dataset_by_segment(bce: Any) -> None:
    document = score_json(bce, CORPUS / "parquet_dataset", "--by", "segment")
    assert [(g["key"]["segment"], g["metrics"]["rows"]) for g in document["groups"]] == [
        ("a", 60),
        ("b", 40),
    ]
    tables = [pq.read_table(CORPUS / f"parquet_dataset/segment={s}/part-0.parquet") for s in "ab"]
    y = np.concatenate([t.column("label").to_numpy() for t in tables])
    p = np.concatenate([t.column("prob").to_numpy() for t in tables])
    assert_matches(document, y, p)


def test_several_files_are_one_population(bce: Any, tmp_path: Path) -> None:
    (y1, p1), (y2, p2), (y3, p3) = make_preds(100, 5), make_preds(70, 6), make_preds(30, 7)
    first = tmp_path / "a.csv"
    first.write_bytes(csv_bytes(y1, p1))
    second = tmp_path / "b.parquet"
    pq.write_table(pa.table({"prob": p2, "label": y2}), second)  # other column order
    third = tmp_path / "c.tsv.gz"
    third.write_bytes(gzip.compress(csv_bytes(y3, p3, sep="\t")))
    document = score_json(bce, first, second, third, "--chunk-size", "16")
    assert_matches(document, np.concatenate([y1, y2, y3]), np.concatenate([p1, p2, p3]))
    assert document["inputs"] == [
        {"path": str(first), "format": "csv", "rows": 100, "skipped": 0},
        {"path": str(second), "format": "parquet", "rows": 70, "skipped": 0},
        {"path": str(third), "format": "tsv", "rows": 30, "skipped": 0},
    ]


def test_several_files_must_name_columns_alike(bce: Any, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_bytes(csv_bytes(Y, P))
    second = tmp_path / "b.csv"
    second.write_bytes(csv_bytes(Y, P).replace(b"label,", b"y,", 1))
    run = bce("score", first, second)
    assert run.exit_code == 2
    assert f"{second}: its label column is 'y' but {first}'s is 'label'" in run.stderr
    assert "Traceback" not in run.stderr


class _Stdin(io.TextIOWrapper):
    """Standard input fed from bytes, as a pipe (not a terminal)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")


@pytest.mark.parametrize("files", [["-"], []])
def test_stdin_csv(bce: Any, monkeypatch: pytest.MonkeyPatch, files: list[str]) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(csv_bytes(Y, P)))
    document = score_json(bce, *files)
    assert_matches(document, Y, P)
    assert document["inputs"] == [{"path": "-", "format": "csv", "rows": 500, "skipped": 0}]


def test_stdin_tsv_and_parquet(bce: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(csv_bytes(Y, P, sep="\t")))
    assert_matches(score_json(bce, "-", "--input-format", "tsv"), Y, P)
    buffer = io.BytesIO()
    pq.write_table(pa.table({"label": Y, "prob": P}), buffer, row_group_size=64)
    monkeypatch.setattr(sys, "stdin", _Stdin(buffer.getvalue()))
    document = score_json(bce, "-", "--input-format", "parquet", "--chunk-size", "10")
    assert_matches(document, Y, P)
    assert document["inputs"] == [{"path": "-", "format": "parquet", "rows": 500, "skipped": 0}]


def test_stdin_with_files_as_a_real_pipe(tmp_path: Path) -> None:
    y, p = make_preds(40, 8)
    other = tmp_path / "more.csv"
    other.write_bytes(csv_bytes(Y, P))
    done = bce_process("score", other, "-", "--format", "json", input=csv_bytes(y, p))
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    document = json.loads(done.stdout)
    assert_matches(document, np.concatenate([Y, y]), np.concatenate([P, p]))
    assert [i["path"] for i in document["inputs"]] == [str(other), "-"]


def test_parquet_from_a_pipe_path(tmp_path: Path) -> None:
    # <(cat file.parquet) is a pipe that cannot seek: bce holds it in memory.
    path = tmp_path / "preds.parquet"
    pq.write_table(pa.table({"label": Y, "prob": P}), path)
    script = (
        f'"{sys.executable}" -m bcecli score <(cat "{path}") --input-format parquet --format json'
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert_matches(json.loads(done.stdout), Y, P)


@pytest.mark.parametrize(
    ("make", "args"),
    [
        ("csv", ["-y", "1", "-p", "2"]),
        ("csv3", ["-y", "2", "-p", "3"]),
        ("parquet", ["-y", "1", "-p", "2"]),
    ],
)
def test_no_header(bce: Any, tmp_path: Path, make: str, args: list[str]) -> None:
    if make == "csv":
        path = tmp_path / "rows.csv"
        path.write_bytes(csv_bytes(Y, P, header=False))
    elif make == "csv3":
        path = tmp_path / "rows.csv"
        lines = [f"x{i},{a},{b!r}" for i, (a, b) in enumerate(zip(Y.tolist(), P.tolist()))]
        path.write_text("\n".join(lines) + "\n")
    else:
        path = tmp_path / "rows.parquet"
        pq.write_table(pa.table({"label": Y, "prob": P}), path)
    document = score_json(bce, path, "--no-header", *args)
    assert_matches(document, Y, P)
    assert document["columns"]["label"] == args[1]


def _labels_file(tmp_path: Path, kind: str) -> tuple[Path, list[str]]:
    """A file whose label column encodes Y in another way, and the options it needs."""
    words = {
        "true/false": ("true", "false"),
        "True/False": ("True", "False"),
        "1.0/0.0": ("1.0", "0.0"),
        "spam/ham": ("spam", "ham"),
    }
    if kind == "parquet bool":
        path = tmp_path / "labels.parquet"
        pq.write_table(pa.table({"label": Y.astype(bool), "prob": P}), path)
        return path, []
    if kind == "parquet dictionary":
        path = tmp_path / "labels.parquet"
        classes = pa.array(np.where(Y == 1, "spam", "ham")).dictionary_encode()
        pq.write_table(pa.table({"label": classes, "prob": P}), path)
        return path, ["--pos-label", "spam"]
    positive, negative = words[kind.split()[0]]
    path = tmp_path / "labels.csv"
    lines = ["label,prob"] + [
        f"{positive if a else negative},{b!r}" for a, b in zip(Y.tolist(), P.tolist())
    ]
    path.write_text("\n".join(lines) + "\n")
    if kind.endswith("pos-label"):
        return path, ["--pos-label", positive]
    return path, []


@pytest.mark.parametrize(
    "kind",
    [
        "parquet bool",
        "true/false",
        "True/False",
        "1.0/0.0",
        "1.0/0.0 pos-label",  # pyarrow reads 1.0 as a float: --pos-label 1.0 must still match
        "spam/ham pos-label",
        "parquet dictionary",
    ],
)
def test_label_encodings(bce: Any, tmp_path: Path, kind: str) -> None:
    path, args = _labels_file(tmp_path, kind)
    assert_matches(score_json(bce, path, *args), Y, P)


def test_pos_label_can_name_zero(bce: Any, tmp_path: Path) -> None:
    path = tmp_path / "preds.csv"
    path.write_bytes(csv_bytes(Y, P))
    # Class 0 is positive: p is then the probability of 0, which is what the file holds
    # only if we flip it, so compare with sklearn on the flipped labels.
    assert_matches(score_json(bce, path, "--pos-label", "0"), 1 - Y, P)


@pytest.mark.parametrize(
    "kind", ["float32", "float16", "int8 0/1", "int64 0/1", "uint8 0/1", "decimal"]
)
def test_parquet_probability_types(bce: Any, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "preds.parquet"
    if kind in ("float32", "float16"):
        column = pa.array(P.astype(kind))
        p = P.astype(kind).astype(np.float64)  # SPEC: upcast first, then float64 math
    elif kind.endswith("0/1"):
        column = pa.array(Y, pa.from_numpy_dtype(np.dtype(kind.split()[0])))
        p = Y.astype(np.float64)
    else:
        column = pa.array([decimal.Decimal(repr(v)) for v in P.tolist()], pa.decimal128(12, 6))
        p = P
    pq.write_table(pa.table({"label": Y, "prob": column}), path)
    document = score_json(bce, path)
    assert_matches(document, Y, p)
    if kind.endswith("0/1"):
        assert document["metrics"]["clipped"] == len(Y)
    if kind == "decimal":
        # Parsed from its digits, a decimal is the float64 nearest to it: the same
        # report, bit for bit, as a float64 column (pyarrow's own cast is 1 ulp off).
        floats = tmp_path / "floats.parquet"
        pq.write_table(pa.table({"label": Y, "prob": P}), floats)
        assert document["metrics"] == score_json(bce, floats)["metrics"]


def test_crlf_cr_and_blank_lines_read_alike(bce: Any) -> None:
    documents: dict[str, dict[str, Any]] = {}
    for name in ("crlf.csv", "cr_only.csv", "blank_lines.csv"):
        documents[name] = score_json(bce, CORPUS / name)
    for name, document in documents.items():
        text = (CORPUS / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = [line for line in text.split(b"\n") if line.strip()]
        rows = [line.split(b",") for line in lines[1:]]  # after the header
        y = [int(a) for a, _ in rows]
        p = [float(b) for _, b in rows]
        assert_matches(document, y, p)
