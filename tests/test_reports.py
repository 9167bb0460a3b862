"""Issue 5, reports worth reading: groups, calibration, worst rows, several models, report
files and the reliability plot, each checked against a direct numpy computation."""

from __future__ import annotations

import json
import os
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bcecli

from conftest import SAMPLE, validate_report, write_csv

PREDS = SAMPLE / "preds.csv"
EPS = float(np.finfo(np.float64).eps)
FULL = ("-p", "prob", "-p", "model_b", "--by", "segment", "--calibration", "10")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.read_csv(PREDS)


def score_json(bce: Any, *args: Any) -> dict[str, Any]:
    run = bce("score", *args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    document: dict[str, Any] = run.json()  # validated against the shipped schema
    return document


def api_document(data: pd.DataFrame, **options: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(bcecli.score(data, **options).to_dict()))
    validate_report(document)
    return document


def losses(y: np.ndarray, p: np.ndarray, eps: float = EPS) -> np.ndarray:
    """The SPEC section 1 loss, written the plain way."""
    clipped = np.clip(p, eps, 1 - eps)
    return np.where(y == 1, -np.log(clipped), -np.log1p(-clipped))


def exact_sum(values: Any) -> Fraction:
    return sum((Fraction(float(v)) for v in values), Fraction(0))


def exact_ratio(numerator: Any, denominator: Any) -> float:
    return float(exact_sum(numerator) / exact_sum(denominator))


def weighted_se(values: np.ndarray, w: np.ndarray) -> float:
    """SPEC: SE^2 = n/(n-1) * sum w^2 (x - mean)^2 / (sum w)^2."""
    n = len(values)
    mean = np.sum(w * values) / np.sum(w)
    return float(np.sqrt(n / (n - 1) * np.sum(w**2 * (values - mean) ** 2) / np.sum(w) ** 2))


# --- --by ------------------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_each_group_is_bit_for_bit_its_rows_scored_alone(
    bce: Any, frame: pd.DataFrame, weighted: bool
) -> None:
    weight = ("-w", "weight") if weighted else ()
    document = score_json(bce, PREDS, "-p", "prob", "-p", "model_b", "--by", "segment", *weight)
    assert {group["key"]["segment"] for group in document["groups"]} == set(frame.segment)
    for group in document["groups"]:
        subset = frame[frame.segment == group["key"]["segment"]]
        alone = api_document(
            subset, prob=["prob", "model_b"], weight="weight" if weighted else None
        )
        assert group["metrics"] == alone["metrics"]
        assert group["models"] == alone["models"]
    assert sum(group["metrics"]["rows"] for group in document["groups"]) == len(frame)


def test_groups_are_sorted_by_weight_in_json_and_table(bce: Any, tmp_path: Path) -> None:
    # "many" has the most rows but the least weight: weight decides, not rows.
    rows = [f"1,0.7,many,{w}" for w in (0.1, 0.2, 0.3, 0.4)]
    rows += ["0,0.2,heavy,9.5", "1,0.6,middle,2", "0,0.1,middle,3"]
    data = write_csv(tmp_path / "w.csv", "label,prob,seg,w", rows)
    document = score_json(bce, data, "-w", "w", "--by", "seg")
    assert [g["key"]["seg"] for g in document["groups"]] == ["heavy", "middle", "many"]
    assert [g["metrics"]["weight_sum"] for g in document["groups"]] == [9.5, 5.0, 1.0]
    table = bce("score", data, "-w", "w", "--by", "seg").stdout
    assert table.index("heavy") < table.index("middle") < table.index("many")
    # Unweighted, rows are the weight.
    document = score_json(bce, data, "--by", "seg")
    assert [g["key"]["seg"] for g in document["groups"]] == ["many", "middle", "heavy"]


def test_two_by_columns(bce: Any, frame: pd.DataFrame) -> None:
    document = score_json(bce, PREDS, "--by", "segment", "--by", "label", "--chunk-size", "999")
    # CSV has no types: group keys read from it are its text, the same in every block.
    keys = [(g["key"]["segment"], g["key"]["label"]) for g in document["groups"]]
    expected = frame.groupby(["segment", "label"]).size().index
    assert sorted(keys) == sorted((segment, str(label)) for segment, label in expected)
    assert [list(g["key"]) for g in document["groups"]] == [["segment", "label"]] * len(keys)
    for group in document["groups"]:
        key = group["key"]
        subset = frame[(frame.segment == key["segment"]) & (frame.label == int(key["label"]))]
        assert group["metrics"] == api_document(subset)["metrics"]
        # One class only: no entropy to normalise by.
        assert group["metrics"]["normalized_entropy"] is None
    weights = [g["metrics"]["weight_sum"] for g in document["groups"]]
    assert weights == sorted(weights, reverse=True)
    table = bce("score", PREDS, "--by", "segment", "--by", "label").stdout
    assert "By segment, label" in table


def test_hive_partition_column_and_null_groups(
    bce: Any, frame: pd.DataFrame, tmp_path: Path
) -> None:
    with_nulls = frame.astype({"segment": object})
    with_nulls.loc[with_nulls.index % 7 == 0, "segment"] = None
    csv = tmp_path / "nulls.csv"
    with_nulls.to_csv(csv, index=False)
    dataset = tmp_path / "dataset"
    table = pa.Table.from_pandas(with_nulls, preserve_index=False)
    pq.write_to_dataset(table, dataset, partition_cols=["segment"])

    from_csv = score_json(bce, csv, "--by", "segment", "-w", "weight")
    from_hive = score_json(bce, dataset, "--by", "segment", "-w", "weight")
    # Row order differs (partition by partition); exact sums make that invisible.
    assert from_hive["groups"] == from_csv["groups"]
    assert from_hive["metrics"] == from_csv["metrics"]
    missing = [g for g in from_csv["groups"] if g["key"]["segment"] is None]
    assert len(missing) == 1
    subset = with_nulls[with_nulls.segment.isna()]
    assert missing[0]["metrics"] == api_document(subset, weight="weight")["metrics"]
    assert missing[0]["metrics"]["rows"] == len(subset)
    assert "(missing)" in bce("score", dataset, "--by", "segment").stdout


def test_many_groups_hold_one_entry_per_group(bce: Any, frame: pd.DataFrame) -> None:
    # Memory grows with groups, not rows or chunks: one entry per distinct id.
    from bcecli.api import TableReader
    from bcecli.engines.local import score_readers
    from bcecli.io.columns import ColumnSpec
    from bcecli.scoring.settings import Settings

    table = pa.Table.from_pandas(frame.assign(bucket=frame.id % 97), preserve_index=False)
    settings = Settings(columns=ColumnSpec(by=("bucket",)), chunk_size=1000)
    state = score_readers([TableReader(table)], settings).state
    assert len(state.groups) == 97
    assert sum(group.rows for group in state.groups.values()) == len(frame)


def test_group_values_do_not_split_across_csv_blocks(bce: Any, tmp_path: Path) -> None:
    n = 300_000  # past the reader's 4 MiB block
    rng = np.random.default_rng(5)
    grp = np.where(np.arange(n) % 2 == 0, "1", "2").astype(object)
    grp[-1000:] = np.where(np.arange(1000) % 2 == 0, "1", "x")
    data = tmp_path / "mixed.csv"
    pd.DataFrame({"label": np.arange(n) % 2, "prob": rng.random(n), "grp": grp}).to_csv(
        data, index=False
    )
    document = score_json(bce, data, "--by", "grp")
    assert sorted(str(g["key"]["grp"]) for g in document["groups"]) == ["1", "2", "x"]


# --- --calibration ---------------------------------------------------------------------------


def reference_calibration(
    p: np.ndarray, y: np.ndarray, n: int, w: np.ndarray | None = None
) -> tuple[list[dict[str, Any]], float]:
    """SPEC section 4: bin i holds i/n <= p < (i+1)/n (p = 1 in the last); empty bins null."""
    ones = np.ones_like(p) if w is None else w
    edges = [i / n for i in range(n + 1)]
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n - 1)
    bins = []
    for i in range(n):
        mask = index == i
        rows = int(mask.sum())
        weighted_p = p[mask] if w is None else w[mask] * p[mask]
        positives = np.where(y[mask] == 1, ones[mask], 0.0)
        bins.append(
            {
                "lower": edges[i],
                "upper": edges[i + 1],
                "rows": rows,
                "weight": float(exact_sum(ones[mask])),
                "mean_prob": exact_ratio(weighted_p, ones[mask]) if rows else None,
                "observed_rate": exact_ratio(positives, ones[mask]) if rows else None,
            }
        )
    total = np.sum(ones)
    ece = sum(
        b["weight"] / total * abs(b["mean_prob"] - b["observed_rate"]) for b in bins if b["rows"]
    )
    return bins, float(ece)


@pytest.mark.parametrize("bins", [1, 7, 10, 20])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_calibration_bins_and_ece_match_numpy(
    bce: Any, frame: pd.DataFrame, bins: int, weighted: bool
) -> None:
    weight = ("-w", "weight") if weighted else ()
    document = score_json(bce, PREDS, "--calibration", bins, "--chunk-size", "777", *weight)
    w = frame.weight.to_numpy() if weighted else None
    expected, ece = reference_calibration(frame.prob.to_numpy(), frame.label.to_numpy(), bins, w)
    assert document["calibration"] == expected
    assert document["metrics"]["ece"] == pytest.approx(ece, rel=1e-12)
    assert document["models"][0]["metrics"]["ece"] == document["metrics"]["ece"]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "pure"])
def test_every_model_has_its_own_calibration_bins_and_ece(
    bce: Any, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, weighted: bool, kernel: bool
) -> None:
    import importlib

    from conftest import KERNEL_USERS

    if not kernel:
        for name in KERNEL_USERS:
            monkeypatch.setattr(importlib.import_module(name), "kernel", None)
    weight = ("-w", "weight") if weighted else ()
    args = ("-p", "prob", "-p", "model_b", "--calibration", "8", "--chunk-size", "999", *weight)
    document = score_json(bce, PREDS, *args)
    w = frame.weight.to_numpy() if weighted else None
    by_model = document["calibration_by_model"]
    assert [entry["column"] for entry in by_model] == ["prob", "model_b"]
    for entry, model in zip(by_model, document["models"]):
        p = frame[entry["column"]].to_numpy()
        expected, ece = reference_calibration(p, frame.label.to_numpy(), 8, w)
        assert entry["bins"] == expected, entry["column"]
        assert model["metrics"]["ece"] == pytest.approx(ece, rel=1e-12)
    assert document["calibration"] == by_model[0]["bins"]


def test_calibration_edges_ones_zeros_and_empty_bins(bce: Any, tmp_path: Path) -> None:
    p = np.array([0.0, 0.0, 0.1, 0.3, 0.5, 0.5, 0.9, 1.0, 1.0, 0.25])
    y = np.array([0, 1, 0, 1, 1, 0, 1, 1, 1, 0])
    w = np.array([1.0, 2.0, 0.5, 1.5, 3.0, 1.0, 0.25, 2.0, 1.0, 4.0])
    rows = [f"{a},{float(b)!r},{float(c)!r}" for a, b, c in zip(y, p, w)]
    data = write_csv(tmp_path / "edges.csv", "label,prob,w", rows)
    for weight in (None, w):
        args = ("-w", "w") if weight is not None else ()
        document = score_json(bce, data, "--calibration", "10", *args)
        expected, ece = reference_calibration(p, y, 10, weight)
        assert document["calibration"] == expected
        assert document["metrics"]["ece"] == pytest.approx(ece, rel=1e-12)
        last = document["calibration"][-1]
        assert last["rows"] == 3  # 0.9 and both 1.0s
        empty = document["calibration"][6]
        assert empty == {
            "lower": 0.6,
            "upper": 0.7,
            "rows": 0,
            "weight": 0.0,
            "mean_prob": None,
            "observed_rate": None,
        }
    table = bce("score", data, "--calibration", "10").stdout
    (line,) = [line for line in table.splitlines() if line.startswith("0.60–0.70")]
    assert line.split() == ["0.60–0.70", "0", "-", "-", "-"]


def test_calibration_bin_holds_p_just_below_its_reported_lower_edge(tmp_path: Path) -> None:
    p = np.nextafter(0.9, 0.0)
    document = bcecli.score(y=[1, 0], p=[p, 0.5], calibration=10).to_dict()
    below = [b for b in document["calibration"] if b["lower"] <= p < b["upper"]]
    assert below[0]["rows"] == 1


def test_no_calibration_means_empty_list_and_null_ece(bce: Any) -> None:
    document = score_json(bce, PREDS, "-p", "prob", "-p", "model_b")
    assert document["calibration"] == [] and document["metrics"]["ece"] is None
    assert document["calibration_by_model"] == []
    assert [model["metrics"]["ece"] for model in document["models"]] == [None, None]
    assert "Calibration" not in bce("score", PREDS).stdout


def test_terminal_chart_is_under_the_calibration_table(bce: Any) -> None:
    run = bce("score", PREDS, "--calibration", "10", "--worst", "2")
    lines = run.stdout.splitlines()
    table = lines.index("Calibration")
    chart = lines.index("Reliability (bar: observed rate, |: mean p)")
    worst = lines.index("Worst 2 rows")
    assert table < chart < worst
    bars = [line for line in lines[chart + 1 : worst] if line.strip()]
    assert len(bars) == 10 and all("|" in bar and " vs " in bar for bar in bars)
    assert bars[0].startswith("0.00–0.10 ")


# --- --worst ---------------------------------------------------------------------------------


def reference_worst(frames: list[pd.DataFrame], k: int) -> list[tuple[int, int, int, float]]:
    """(file index, 1-based row, label, loss) of the k highest losses; ties by input order."""
    loss = np.concatenate([losses(f.label.to_numpy(), f.prob.to_numpy()) for f in frames])
    file_index = np.concatenate([np.full(len(f), i) for i, f in enumerate(frames)])
    row = np.concatenate([np.arange(1, len(f) + 1) for f in frames])
    label = np.concatenate([f.label.to_numpy() for f in frames])
    order = np.lexsort((row, file_index, -loss))[:k]
    return [(int(file_index[i]), int(row[i]), int(label[i]), float(loss[i])) for i in order]


def test_worst_matches_numpy_over_two_files_in_chunks_of_7(
    bce: Any, frame: pd.DataFrame, tmp_path: Path
) -> None:
    second = frame.sample(frac=1.0, random_state=3).iloc[:4000]
    other = tmp_path / "other.csv"
    second.to_csv(other, index=False)
    document = score_json(
        bce, PREDS, other, "--worst", "25", "--keep", "id,segment", "--chunk-size", "7"
    )
    expected = reference_worst([frame, second], 25)
    paths = [str(PREDS), str(other)]
    got = [(paths.index(r["path"]), r["row"], r["label"], r["log_loss"]) for r in document["worst"]]
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    assert [g[3] for g in got] == pytest.approx([e[3] for e in expected], rel=1e-13)
    frames = [frame, second]
    for entry in document["worst"]:
        source = frames[paths.index(entry["path"])].iloc[entry["row"] - 1]
        assert entry["prob"] == source.prob
        assert entry["keep"] == {"id": int(source.id), "segment": source.segment}
    # Both files hold the same rows (shuffled): every row of the top 25 comes twice.
    assert len({r["keep"]["id"] for r in document["worst"]}) < 25


def test_worst_ties_are_broken_by_row_order_across_chunks_and_files(
    bce: Any, tmp_path: Path
) -> None:
    rows = ["1,0.5" for _ in range(60)]
    rows[40] = rows[12] = "1,0.1"  # rows 13 and 41 are worse than the 58 equal ones
    first = write_csv(tmp_path / "a.csv", "label,prob", rows)
    second = write_csv(tmp_path / "b.csv", "label,prob", rows)
    for chunk in ("7", "1", "1000"):
        document = score_json(bce, first, second, "--worst", "7", "--chunk-size", chunk)
        got = [(Path(r["path"]).name, r["row"]) for r in document["worst"]]
        assert got == [
            ("a.csv", 13),
            ("a.csv", 41),
            ("b.csv", 13),
            ("b.csv", 41),
            ("a.csv", 1),
            ("a.csv", 2),
            ("a.csv", 3),
        ]


def test_worst_of_a_shuffled_file_is_the_same_rows(
    bce: Any, frame: pd.DataFrame, tmp_path: Path
) -> None:
    shuffled = tmp_path / "shuffled.csv"
    frame.sample(frac=1.0, random_state=11).to_csv(shuffled, index=False)
    original = score_json(bce, PREDS, "--worst", "20", "--keep", "id", "--chunk-size", "500")
    other = score_json(bce, shuffled, "--worst", "20", "--keep", "id", "--chunk-size", "333")

    def strip_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in ("row", "path")} for r in document["worst"]]

    assert strip_rows(original) == strip_rows(other)
    assert [r["row"] for r in original["worst"]] != [r["row"] for r in other["worst"]]
    assert [r["row"] for r in original["worst"]] == [r["keep"]["id"] for r in original["worst"]]


def test_worst_keeps_at_most_k_rows_at_any_time(bce: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from bcecli.core import worst

    sizes: list[tuple[int, int]] = []
    add = worst.WorstRows.add

    def spy(self: Any, candidates: list[Any]) -> None:
        add(self, candidates)
        sizes.append((len(candidates), len(self.rows)))

    monkeypatch.setattr(worst.WorstRows, "add", spy)
    document = score_json(bce, PREDS, "--worst", "5", "--chunk-size", "100")
    assert len(document["worst"]) == 5
    assert sizes and max(max(pair) for pair in sizes) <= 5


def test_worst_with_logits_reports_sigmoid_p(bce: Any, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "z.csv", "label,z", ["1,-30", "0,2", "1,0.5"])
    document = score_json(bce, data, "--logit", "z", "--worst", "2")
    assert [r["row"] for r in document["worst"]] == [1, 2]
    assert document["worst"][0]["prob"] == pytest.approx(1 / (1 + np.exp(30)), rel=1e-12)
    assert document["worst"][0]["log_loss"] == pytest.approx(30.0, rel=1e-12)


# --- several probability columns ------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_paired_difference_mean_and_se_match_numpy(
    bce: Any, frame: pd.DataFrame, weighted: bool
) -> None:
    weight = ("-w", "weight") if weighted else ()
    document = score_json(bce, PREDS, "-p", "prob", "-p", "model_b", "--by", "segment", *weight)

    def expected(part: pd.DataFrame) -> tuple[float, float]:
        y = part.label.to_numpy()
        diff = losses(y, part.model_b.to_numpy()) - losses(y, part.prob.to_numpy())
        w = part.weight.to_numpy() if weighted else np.ones(len(part))
        return float(np.sum(w * diff) / np.sum(w)), weighted_se(diff, w)

    scopes = [(frame, document)] + [
        (frame[frame.segment == g["key"]["segment"]], g) for g in document["groups"]
    ]
    for part, scope in scopes:
        first, second = scope["models"]
        assert [first["column"], second["column"]] == ["prob", "model_b"]
        assert first["paired_diff"] is None
        mean, se = expected(part)
        assert second["paired_diff"]["mean"] == pytest.approx(mean, rel=1e-12)
        assert second["paired_diff"]["se"] == pytest.approx(se, rel=1e-9)
        assert second["metrics"]["log_loss"] - first["metrics"]["log_loss"] == pytest.approx(
            mean, rel=1e-9
        )
        assert scope["metrics"] == first["metrics"]


def test_one_row_has_no_standard_error(bce: Any, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "one.csv", "label,a,b", ["1,0.8,0.6"])
    document = score_json(bce, data, "-p", "a", "-p", "b")
    assert document["models"][1]["paired_diff"]["se"] is None
    assert document["models"][1]["paired_diff"]["mean"] == pytest.approx(
        -np.log(0.6) + np.log(0.8), rel=1e-12
    )
    assert document["metrics"]["log_loss_se"] is None


# --- JSON shapes (SPEC section 6) -----------------------------------------------------------


def test_json_shapes_of_groups_calibration_worst_and_models(bce: Any) -> None:
    document = score_json(bce, PREDS, *FULL, "--worst", "3", "--keep", "id,segment")
    from bcecli.core.metrics import METRIC_KEYS

    metric_keys = list(METRIC_KEYS)  # spelled once, in bcecli.core.metrics.Metrics
    assert list(document["metrics"]) == metric_keys
    for model in document["models"]:
        assert list(model) == ["column", "metrics", "paired_diff"]
        assert list(model["metrics"]) == metric_keys
    assert list(document["models"][1]["paired_diff"]) == ["mean", "se"]
    for group in document["groups"]:
        assert list(group) == ["key", "metrics", "models"]
        assert list(group["key"]) == ["segment"]
        assert [m["column"] for m in group["models"]] == ["prob", "model_b"]
        assert group["models"][0]["metrics"] == group["metrics"]
        assert group["metrics"]["ece"] is None  # calibration describes all rows only
    for entry in document["calibration"]:
        assert list(entry) == ["lower", "upper", "rows", "weight", "mean_prob", "observed_rate"]
    for entry in document["worst"]:
        assert list(entry) == ["path", "row", "label", "prob", "log_loss", "keep"]
        assert list(entry["keep"]) == ["id", "segment"]
        assert isinstance(entry["row"], int) and entry["label"] in (0, 1)
    losses_ = [entry["log_loss"] for entry in document["worst"]]
    assert losses_ == sorted(losses_, reverse=True)
    assert document["metrics"] is not None and document["gate"] is None


def test_one_column_groups_still_list_their_model(bce: Any) -> None:
    document = score_json(bce, PREDS, "--by", "segment", "--worst", "1")
    for group in document["groups"]:
        assert [m["column"] for m in group["models"]] == ["prob"]
        assert group["models"][0]["paired_diff"] is None
    assert document["worst"][0]["keep"] == {}


# --- markdown and report files --------------------------------------------------------------


def test_report_files_are_written_besides_stdout(bce: Any, tmp_path: Path) -> None:
    args = (PREDS, *FULL, "--worst", "3", "--keep", "id")
    json_path, md_path = tmp_path / "r.json", tmp_path / "r.md"
    table = bce("score", *args, "--report-json", json_path, "--report-md", md_path)
    assert table.exit_code == 0 and table.stderr == ""
    assert "Log loss" in table.stdout and not table.stdout.lstrip().startswith("{")
    assert json_path.read_text() == bce("score", *args, "--format", "json").stdout
    assert md_path.read_text() == bce("score", *args, "--format", "markdown").stdout
    validate_report(json.loads(json_path.read_text()))
    # Whatever --format prints, the files are the same.
    bce("score", *args, "--format", "markdown", "--report-json", tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == json_path.read_text()
    umask = os.umask(0)
    os.umask(umask)
    assert json_path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.json", "r.json", "r.md"]


@pytest.mark.parametrize("option", ["--report-json", "--report-md", "--plot"])
def test_report_path_in_a_missing_folder_fails_and_leaves_nothing(
    bce: Any, tmp_path: Path, option: str
) -> None:
    target = tmp_path / "missing" / ("out.png" if option == "--plot" else "out")
    run = bce("score", PREDS, option, target)
    assert run.exit_code == 2
    assert f"Cannot write {target}" in run.stderr and "Traceback" not in run.stderr
    assert run.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file_and_no_temporary(
    bce: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.md"
    target.write_text("old report\n")

    from bcecli.report import files

    def failing_write(path: str, text: str) -> None:
        with files.replacing(path) as temporary:
            Path(temporary).write_text(text[:10])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "write_atomic", failing_write)
    run = bce("score", PREDS, "--report-md", target)
    assert run.exit_code == 2
    assert run.stderr.strip() == f"Error: Cannot write {target}: No space left on device."
    assert target.read_text() == "old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_markdown_is_a_github_table(bce: Any) -> None:
    run = bce("score", PREDS, *FULL, "--worst", "2", "--keep", "segment", "--format", "markdown")
    assert run.exit_code == 0 and run.stderr == ""
    text = run.stdout
    assert text.startswith("## bce report\n")
    assert "| metric | prob | model_b |\n|---|---:|---:|\n" in text
    assert "### By segment" in text and "### Calibration" in text and "### Worst 2 rows" in text
    assert "\x1b[" not in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")
    # Every table row has as many cells as its header.
    for block in text.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            counts = {line.replace("\\|", "").count("|") for line in rows}
            assert len(counts) == 1


def test_markdown_escapes_what_would_break_a_table(bce: Any, tmp_path: Path) -> None:
    data = write_csv(
        tmp_path / "odd.csv", "label,prob,seg", ["1,0.4,a|b", "0,0.3,<b>x</b>", "1,0.9,*y*"]
    )
    text = bce("score", data, "--by", "seg", "--format", "markdown").stdout
    assert "| a\\|b |" in text and "| &lt;b&gt;x&lt;/b&gt; |" in text and "| \\*y\\* |" in text


def test_table_headers_from_the_input_are_not_rich_markup(bce: Any, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "r.csv", "label,prob,[red]seg[/red]", ["1,0.9,[b]a", "0,0.2,b"])
    run = bce("score", data, "--by", "[red]seg[/red]", "--worst", "1", "--keep", "[red]seg[/red]")
    assert run.exit_code == 0, run.stderr
    assert run.stdout.count("[red]seg[/red]") == 3  # the section title and two headers
    assert "[b]a" in run.stdout


# --- --plot ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reliability.png", "reliability.svg"])
def test_plot_is_written_by_extension(bce: Any, tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    run = bce("score", PREDS, "--plot", target, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    document = run.json()
    assert len(document["calibration"]) == 10  # --plot alone: 10 bins
    data = target.read_bytes()
    if name.endswith(".png"):
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert b"<svg" in data[:2000]
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_plot_uses_the_calibration_bins_asked_for(bce: Any, tmp_path: Path) -> None:
    run = bce("score", PREDS, "--plot", tmp_path / "r.png", "--calibration", "4")
    assert run.exit_code == 0, run.stderr
    assert "0.75–1.00" in run.stdout


def test_plot_draws_bins_diagonal_and_histogram(bce: Any) -> None:
    from bcecli.report.plot import reliability_figure

    document = score_json(bce, PREDS, "--calibration", "10", "-w", "weight")
    document["calibration"][3] = {**document["calibration"][3], "rows": 0, "weight": 0.0}
    document["calibration"][3].update(mean_prob=None, observed_rate=None)
    document["calibration_by_model"][0]["bins"] = document["calibration"]
    figure = reliability_figure(document)
    top, bottom = figure.axes
    diagonal, curve = top.get_lines()
    assert list(diagonal.get_xdata()) == [0, 1] and list(diagonal.get_ydata()) == [0, 1]
    shown = [b for b in document["calibration"] if b["rows"]]
    assert list(curve.get_xdata()) == [b["mean_prob"] for b in shown]
    assert list(curve.get_ydata()) == [b["observed_rate"] for b in shown]
    bars = bottom.patches
    assert len(bars) == 10
    assert [bar.get_height() for bar in bars] == [b["weight"] for b in document["calibration"]]
    assert "ECE" in top.get_title() and "prob" in top.get_title()


def test_plot_draws_one_curve_per_model(bce: Any) -> None:
    from bcecli.report.plot import reliability_figure

    document = score_json(bce, PREDS, "--calibration", "10", "-p", "prob", "-p", "model_b")
    top, _ = reliability_figure(document).axes
    _, *curves = top.get_lines()
    assert len(curves) == 2
    for curve, entry, model in zip(curves, document["calibration_by_model"], document["models"]):
        shown = [b for b in entry["bins"] if b["rows"]]
        assert list(curve.get_xdata()) == [b["mean_prob"] for b in shown]
        assert curve.get_label() == f"{model['column']} (ECE {model['metrics']['ece']:.4f})"
    assert curves[0].get_marker() != curves[1].get_marker()
    assert top.get_title().startswith("Reliability of prob, model_b")


def test_plot_with_a_wrong_extension_is_a_usage_error(bce: Any, tmp_path: Path) -> None:
    run = bce("score", PREDS, "--plot", tmp_path / "r.jpg")
    assert run.exit_code == 2
    assert "must end in .png or .svg" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_plot_without_matplotlib_says_how_to_install(
    bce: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    run = bce("score", PREDS, "--plot", tmp_path / "r.png")
    assert run.exit_code == 2
    assert run.stderr == (
        "Error: --plot needs matplotlib, which is not installed: pip install matplotlib\n"
    )
    assert "Traceback" not in run.stderr and run.stdout == ""
    assert list(tmp_path.iterdir()) == []
    # Without --plot nothing needs matplotlib.
    assert bce("score", PREDS, "--calibration", "5").exit_code == 0


def test_plot_is_not_imported_without_plot(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys; from bcecli.cli import main; "
        f"main(['score', {str(PREDS)!r}, '--calibration', '5', '-q']); "
        "print('matplotlib' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stderr.strip() == "False"
