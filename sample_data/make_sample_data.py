"""Write the seeded sample prediction files that ship in sample_data/.

    python sample_data/make_sample_data.py            # writes next to this script

Files (all byte-identical on every run with the same numpy/pyarrow/Python):

- preds.csv         10,000 rows: id,label,prob,segment,model_b,weight
- preds.parquet     the same values (parsed back from the CSV text, so both score alike)
- preds.csv.gz      gzip of preds.csv, header mtime 0
- no_header.csv     the first 100 rows of label,prob, no header line
- bad.csv           the first 5 rows of id,label,prob, two made invalid (row 2's prob is
                    1.7, row 4 has no label): the README's invalid-rows example

`prob` is a roughly calibrated model: the logistic of the true latent score plus
a little noise. `model_b` is a slightly worse model of the same rows (shrunk
score, more noise, a small bias). Labels have a base rate of about 0.3.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEGMENTS = np.array(["web", "mobile", "email", "partner"])
SEGMENT_SHARES = [0.50, 0.28, 0.15, 0.07]
SEGMENT_OFFSETS = np.array([0.0, 0.25, -0.5, 0.6])
PROB_FORMAT = "%.6g"  # up to 6 significant digits
WEIGHT_FORMAT = "%.3f"
HEADER = "id,label,prob,segment,model_b,weight"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for any z


def build(rows: int, seed: int) -> dict[str, np.ndarray]:
    """The columns, each as the exact text written to the CSV."""
    rng = np.random.default_rng(seed)
    segment_idx = rng.choice(len(SEGMENTS), size=rows, p=SEGMENT_SHARES)
    latent = rng.standard_normal(rows)
    true_logit = -1.15 + 1.6 * latent + SEGMENT_OFFSETS[segment_idx]
    label = (rng.random(rows) < _sigmoid(true_logit)).astype(np.int64)
    prob = _sigmoid(true_logit + rng.normal(0.0, 0.35, rows))
    model_b = _sigmoid(0.1 + 0.75 * true_logit + rng.normal(0.0, 0.7, rows))
    weight = np.round(rng.lognormal(0.0, 0.5, rows), 3)
    return {
        "id": np.char.mod("%d", np.arange(1, rows + 1, dtype=np.int64)),
        "label": np.char.mod("%d", label),
        "prob": np.char.mod(PROB_FORMAT, prob),
        "segment": SEGMENTS[segment_idx],
        "model_b": np.char.mod(PROB_FORMAT, model_b),
        "weight": np.char.mod(WEIGHT_FORMAT, weight),
    }


def csv_text(text_cols: dict[str, np.ndarray], names: list[str], header: bool) -> bytes:
    lines = [",".join(names)] if header else []
    lines.extend(",".join(row) for row in zip(*(text_cols[n] for n in names), strict=True))
    return ("\n".join(lines) + "\n").encode("utf-8")


def invalid_rows(text_cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The first 5 rows, with a probability above 1 in row 2 and no label in row 4."""
    bad = {k: v[:5].astype(object) for k, v in text_cols.items()}
    bad["prob"][1] = "1.7"
    bad["label"][3] = ""
    return bad


def to_table(text_cols: dict[str, np.ndarray]) -> pa.Table:
    """Parse the CSV text back, so the Parquet holds exactly what the CSV says."""
    return pa.table(
        {
            "id": pa.array(text_cols["id"].astype(np.int64)),
            "label": pa.array(text_cols["label"].astype(np.int64)),
            "prob": pa.array(text_cols["prob"].astype(np.float64)),
            "segment": pa.array(text_cols["segment"].tolist(), type=pa.string()),
            "model_b": pa.array(text_cols["model_b"].astype(np.float64)),
            "weight": pa.array(text_cols["weight"].astype(np.float64)),
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20240607)
    args = parser.parse_args(argv)

    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    cols = build(args.rows, args.seed)
    names = HEADER.split(",")

    data = csv_text(cols, names, header=True)
    (out / "preds.csv").write_bytes(data)
    (out / "preds.csv.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    head = {k: v[:100] for k, v in cols.items()}
    (out / "no_header.csv").write_bytes(csv_text(head, ["label", "prob"], header=False))
    bad = csv_text(invalid_rows(cols), ["id", "label", "prob"], header=True)
    (out / "bad.csv").write_bytes(bad)
    # Several row groups, so readers that go row group by row group get exercised.
    pq.write_table(to_table(cols), out / "preds.parquet", row_group_size=4096)

    label = cols["label"].astype(np.int64)
    weight = cols["weight"].astype(np.float64)
    print(
        f"wrote {args.rows} rows to {out}: base rate {label.mean():.4f}, "
        f"weighted base rate {np.dot(label, weight) / weight.sum():.4f}"
    )


if __name__ == "__main__":
    main()
