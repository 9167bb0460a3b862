"""Write the edge-case input corpus next to this script (see README.md for the table).

    python tests/corpus/make_corpus.py

Deterministic: every run writes byte-identical files (for a given numpy,
pyarrow, zstandard and Python version). Every file is small (< 100 KB).
`preds.csv.zst` needs the `zstandard` package and is skipped with a note without it.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20240607
HERE = Path(__file__).resolve().parent


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


def _preds(n: int, salt: int) -> tuple[np.ndarray, np.ndarray]:
    """n seeded rows: int labels (base rate ~0.3) and roughly calibrated probabilities."""
    rng = _rng(salt)
    z = -0.9 + 1.5 * rng.standard_normal(n)
    p = 1.0 / (1.0 + np.exp(-z))
    y = (rng.random(n) < p).astype(np.int64)
    p = np.round(p, 6)  # short, exact-in-text values
    return y, p


def _zip(*cols: Iterable[object]) -> Iterable[tuple[object, ...]]:
    return zip(*cols, strict=True)


def _fmt(p: np.ndarray) -> list[str]:
    return [f"{v:.6g}" for v in p.tolist()]


def _csv(
    header: Sequence[str] | None,
    rows: Iterable[Sequence[object]],
    sep: str = ",",
    eol: str = "\n",
) -> bytes:
    lines = [sep.join(header)] if header is not None else []
    lines.extend(sep.join(str(v) for v in row) for row in rows)
    return (eol.join(lines) + eol).encode("utf-8")


def _label_prob_csv(n: int, salt: int, sep: str = ",", eol: str = "\n") -> bytes:
    y, p = _preds(n, salt)
    return _csv(["label", "prob"], _zip(y.tolist(), _fmt(p)), sep=sep, eol=eol)


def _parquet_bytes(table: pa.Table, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kwargs)
    return buf.getvalue()


def _label_prob_table(n: int, salt: int) -> pa.Table:
    y, p = _preds(n, salt)
    return pa.table({"label": pa.array(y), "prob": pa.array(p)})


def build() -> dict[str, bytes | None]:
    """Relative path -> file content (None: skipped)."""
    files: dict[str, bytes | None] = {}

    files["empty.csv"] = b""
    files["header_only.csv"] = b"label,prob\n"

    # prob 1.7 on data row 3 (header excluded, 1-based).
    y, p = _preds(10, 1)
    probs = _fmt(p)
    probs[2] = "1.7"
    files["bad_prob.csv"] = _csv(["label", "prob"], _zip(y.tolist(), probs))

    # NaN prob on data row 2.
    y, p = _preds(10, 2)
    probs = _fmt(p)
    probs[1] = "NaN"
    files["nan_prob.csv"] = _csv(["label", "prob"], _zip(y.tolist(), probs))

    # label 2 on data row 2.
    y, p = _preds(10, 3)
    labels: list[object] = y.tolist()
    labels[1] = 2
    files["bad_label.csv"] = _csv(["label", "prob"], _zip(labels, _fmt(p)))

    # Three string classes; the third one ("bird") first appears on data row 3.
    classes = ["cat", "dog", "bird", "cat", "dog", "cat", "bird", "dog", "cat", "dog"]
    _, p = _preds(len(classes), 4)
    files["three_classes.csv"] = _csv(["label", "prob"], _zip(classes, _fmt(p)))

    # Two string classes: spam is the positive one (--pos-label spam).
    y, p = _preds(20, 5)
    files["string_labels.csv"] = _csv(
        ["label", "prob"], _zip(["spam" if v else "ham" for v in y.tolist()], _fmt(p))
    )

    # Boolean labels written true/false.
    y, p = _preds(20, 6)
    files["bool_labels.csv"] = _csv(
        ["label", "prob"], _zip(["true" if v else "false" for v in y.tolist()], _fmt(p))
    )

    # The probability column holds words.
    words = ["high", "low", "medium", "low", "high", "low", "low", "medium", "high", "low"]
    y, _ = _preds(len(words), 7)
    files["string_prob.csv"] = _csv(["label", "prob"], _zip(y.tolist(), words))

    # Valid data, but ;-delimited: comma parsing sees one column named "label;prob".
    files["semicolon.csv"] = _label_prob_csv(20, 8, sep=";")
    # Valid data with CRLF line ends.
    files["crlf.csv"] = _label_prob_csv(20, 9, eol="\r\n")
    # Valid data with a UTF-8 byte-order mark.
    files["bom.csv"] = b"\xef\xbb\xbf" + _label_prob_csv(20, 10)

    # Two probability-like names (prob and score): ambiguous without --prob.
    y, p = _preds(20, 11)
    _, q = _preds(20, 12)
    files["ambiguous.csv"] = _csv(["label", "prob", "score"], _zip(y.tolist(), _fmt(p), _fmt(q)))

    # No well-known names; valid with -y a -p b.
    y, p = _preds(20, 13)
    files["no_known_columns.csv"] = _csv(["a", "b"], _zip(y.tolist(), _fmt(p)))

    # 4 KiB of random bytes, with NULs guaranteed.
    raw = bytearray(_rng(14).bytes(4096))
    raw[0:4] = b"\x00\x00\x00\x00"
    raw[2048] = 0
    files["binary.csv"] = bytes(raw)

    # A valid 2000-row CSV, gzipped, cut in half: the gzip stream ends mid-way.
    whole = gzip.compress(_label_prob_csv(2000, 15), compresslevel=9, mtime=0)
    files["truncated.csv.gz"] = whole[: len(whole) // 2]

    # A Parquet file whose footer is intact (it opens) but whose first page header of
    # every column is overwritten, so reading the data fails. (Overwriting page *data*
    # instead would not do: uncompressed or lucky bytes can decode to garbage silently.)
    table = _label_prob_table(2000, 16)
    good = _parquet_bytes(table, use_dictionary=False, compression="snappy")
    meta = pq.ParquetFile(io.BytesIO(good)).metadata
    bad = bytearray(good)
    for i in range(meta.num_columns):
        col = meta.row_group(0).column(i)
        start = col.dictionary_page_offset or col.data_page_offset
        bad[start : start + 32] = b"\xff" * 32
    files["corrupt.parquet"] = bytes(bad)
    # The same kind of file cut in half: no footer, so it does not even open.
    files["truncated.parquet"] = good[: len(good) // 2]

    # Valid tab-separated.
    files["preds.tsv"] = _label_prob_csv(50, 17, sep="\t")

    # Valid compressed CSVs (the same content).
    plain = _label_prob_csv(200, 18)
    files["preds.csv.bz2"] = bz2.compress(plain, compresslevel=9)
    try:
        import zstandard
    except ImportError:
        files["preds.csv.zst"] = None
    else:
        cctx = zstandard.ZstdCompressor(level=19, write_checksum=True, write_content_size=True)
        files["preds.csv.zst"] = cctx.compress(plain)

    # weight -1 on data row 4 (invalid only with --weight weight).
    y, p = _preds(10, 19)
    w = np.round(_rng(20).lognormal(0.0, 0.5, 10), 3)
    weights = [f"{v:.3f}" for v in w.tolist()]
    weights[3] = "-1"
    files["weights_negative.csv"] = _csv(
        ["label", "prob", "weight"], _zip(y.tolist(), _fmt(p), weights)
    )

    # A hive-partitioned Parquet dataset: the segment comes from the folder names.
    files["parquet_dataset/segment=a/part-0.parquet"] = _parquet_bytes(_label_prob_table(60, 21))
    files["parquet_dataset/segment=b/part-0.parquet"] = _parquet_bytes(_label_prob_table(40, 22))

    # A folder with no Parquet file in it.
    files["empty_dir/.keep"] = b""

    # Raw scores, some enormous: |z| up to 1e300 (finite loss only by the softplus form).
    rng = _rng(23)
    z = np.round(rng.normal(0.0, 2.0, 20), 4).tolist()
    yl = (rng.random(20) < 0.3).astype(np.int64).tolist()
    extremes = [
        (1, 1e300),
        (0, -1e300),
        (1, -1e300),
        (0, 1e300),
        (1, 745.5),
        (0, -745.5),
        (1, -40.0),
        (0, 40.0),
        (1, 1e-300),
        (0, -1e-300),
    ]
    rows_z: list[tuple[object, str]] = [(a, repr(b)) for a, b in _zip(yl, z)]
    rows_z += [(a, repr(b)) for a, b in extremes]
    files["logits.csv"] = _csv(["label", "logit"], rows_z)

    # Perfect predictions: p is exactly 0 for y = 0 and exactly 1 for y = 1.
    y, _ = _preds(20, 24)
    files["perfect.csv"] = _csv(["label", "prob"], ((v, f"{v:.1f}") for v in y.tolist()))

    # Classic Mac line ends (CR only): valid, read as 20 rows.
    files["cr_only.csv"] = _label_prob_csv(20, 25, eol="\r")

    # Blank lines before the header and between rows: valid, 20 rows.
    lines = _label_prob_csv(20, 26).split(b"\n")
    lines[5:5] = [b"", b"\r"]
    files["blank_lines.csv"] = b"\n\n" + b"\n".join(lines)

    # A Latin-1 city column: fine unless read (--by city), then row 3 is not UTF-8.
    y, p = _preds(10, 27)
    cities = ["Paris", "Oslo", "M\u00fcnchen", "Rome", "Z\u00fcrich"] * 2
    files["latin1.csv"] = b"".join(
        f"{a},{b},{c}\n".encode("latin-1")
        for a, b, c in [("label", "prob", "city"), *_zip(y.tolist(), _fmt(p), cities)]
    )

    # Row 6 has three fields under a two-column header.
    y, p = _preds(10, 28)
    probs = _fmt(p)
    probs[5] += ",7"
    files["ragged.csv"] = _csv(["label", "prob"], _zip(y.tolist(), probs))

    # Row 4 opens a quote it never closes: it would swallow the lines after it.
    y, p = _preds(10, 29)
    probs = _fmt(p)
    probs[3] = '"' + probs[3]
    files["open_quote.csv"] = _csv(["label", "prob"], _zip(y.tolist(), probs))

    # Parquet bytes under a .csv name; UTF-16 text (as Excel's "Unicode text" saves it).
    files["parquet_named.csv"] = _parquet_bytes(_label_prob_table(30, 30))
    files["utf16.csv"] = _label_prob_csv(10, 31).decode("utf-8").encode("utf-16")

    # A dataset folder with a stray text file in it.
    files["mixed_dir/part-0.parquet"] = _parquet_bytes(_label_prob_table(20, 32))
    files["mixed_dir/notes.txt"] = b"scored on 2024-06-07\n"

    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args(argv)
    out: Path = args.out_dir

    for rel, content in build().items():
        if content is None:
            print(f"note: skipped {rel} (the zstandard package is not importable)")
            continue
        assert len(content) < 100_000, rel
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    print(f"wrote corpus to {out}")


if __name__ == "__main__":
    main()
