"""Issue 8, ``--engine dask``: on a local two-worker cluster, every report (and every
error) is byte for byte what the local engine prints."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import CORPUS, SAMPLE, bce_process, write_csv

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    # Worker processes, as on a real cluster: states and errors cross a pickle boundary.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def both(bce: Any, scheduler: str, *args: Any) -> tuple[Any, Any]:
    local = bce("score", *args)
    dask = bce("score", *args, "--engine", "dask", "--scheduler", scheduler)
    return local, dask


def assert_same(bce: Any, scheduler: str, *args: Any, code: int = 0) -> Any:
    local, dask = both(bce, scheduler, *args, "--format", "json")
    assert local.exit_code == code, local.stderr
    assert (dask.exit_code, dask.stdout, dask.stderr) == (code, local.stdout, local.stderr)
    if code in (0, 1):
        local.json()  # validated against the shipped schema
    return local


@pytest.fixture(scope="module")
def split_csv(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """sample_data/preds.csv cut into three files (one task each), one of them gzipped."""
    folder = tmp_path_factory.mktemp("split")
    header, *lines = (SAMPLE / "preds.csv").read_text().splitlines()
    parts = [lines[:3000], lines[3000:7500], lines[7500:]]
    paths = [write_csv(folder / f"part{i}.csv", header, part) for i, part in enumerate(parts)]
    shutil.copy(SAMPLE / "preds.csv.gz", folder / "all.csv.gz")
    return [*paths, folder / "all.csv.gz"]


def test_parquet_row_groups_match_the_local_engine(bce: Any, scheduler: str) -> None:
    assert pq.ParquetFile(SAMPLE / "preds.parquet").num_row_groups > 1
    document = assert_same(bce, scheduler, SAMPLE / "preds.parquet").json()
    assert document["inputs"][0]["rows"] == 10_000
    # The loss histogram's partial states merged on the client: the same bins.
    assert sum(document["loss_histogram"][0]["rows"]) == 10_000


def test_many_csv_files_match_the_local_engine(
    bce: Any, scheduler: str, split_csv: list[Path]
) -> None:
    document = assert_same(bce, scheduler, *split_csv, "--worst", "5").json()
    assert [entry["rows"] for entry in document["inputs"]] == [3000, 4500, 2500, 10_000]
    assert {row["path"] for row in document["worst"]} <= {str(p) for p in split_csv}


@pytest.mark.parametrize("source", ["preds.parquet", "preds.csv"])
def test_groups_calibration_worst_and_two_models_match(
    bce: Any, scheduler: str, source: str
) -> None:
    args = ("-p", "prob", "-p", "model_b", "-w", "weight", "--by", "segment")
    more = ("--calibration", "10", "--worst", "7", "--keep", "id", "--chunk-size", "777")
    document = assert_same(bce, scheduler, SAMPLE / source, *args, *more).json()
    assert len(document["groups"]) > 1 and len(document["worst"]) == 7


def test_hive_dataset_matches(bce: Any, scheduler: str) -> None:
    dataset = CORPUS / "parquet_dataset"
    assert_same(bce, scheduler, dataset, "--by", "segment", "--worst", "100")


def test_hive_dataset_with_keys_in_the_files_matches(
    bce: Any, scheduler: str, tmp_path: Path
) -> None:
    # polars stores each partition key in the files too; row groups are read one by one.
    import polars as pl

    dataset = tmp_path / "ds"
    frame = pl.read_parquet(SAMPLE / "preds.parquet")
    frame.write_parquet(dataset, partition_by="segment", row_group_size=700)
    args = ("-w", "weight", "--by", "segment", "--worst", "5", "--keep", "segment")
    assert_same(bce, scheduler, dataset, *args, "--chunk-size", "300")
    # A file whose column disagrees with its folder stops both engines the same way.
    part = next((dataset / "segment=email").glob("*.parquet"))
    table = pq.read_table(part)
    wrong = pa.array(["email"] * (table.num_rows - 1) + ["web"], pa.large_string())
    pq.write_table(
        table.set_column(table.schema.get_field_index("segment"), "segment", wrong), part
    )
    run = assert_same(bce, scheduler, dataset, *args, code=2)
    assert run.stderr.startswith(f"Error: {part} row {table.num_rows}: segment = 'web', but")


def test_table_format_and_gate_match(bce: Any, scheduler: str) -> None:
    local, dask = both(bce, scheduler, SAMPLE / "preds.parquet", "--max-loss", "0.1")
    assert local.exit_code == 1
    assert (dask.exit_code, dask.stdout, dask.stderr) == (1, local.stdout, local.stderr)


def test_pos_label_negative_class_is_learned_across_partitions(
    bce: Any, scheduler: str, tmp_path: Path
) -> None:
    # The first file holds only the positive class: the second one's first other
    # label ("ham") is the negative class, so "eggs" in the third file is invalid.
    first = write_csv(tmp_path / "a.csv", "label,prob", ["spam,0.9", "spam,0.8"])
    second = write_csv(tmp_path / "b.csv", "label,prob", ["spam,0.7", "ham,0.2", "ham,0.1"])
    third = write_csv(tmp_path / "c.csv", "label,prob", ["ham,0.3", "eggs,0.4"])
    run = assert_same(bce, scheduler, first, second, third, "--pos-label", "spam", code=2)
    assert "c.csv row 2: label = 'eggs' is not 'spam' or 'ham'" in run.stderr
    assert_same(bce, scheduler, first, second, third, "--pos-label", "spam", "--on-invalid", "skip")


def test_an_invalid_row_on_a_worker_is_one_sentence(
    bce: Any, scheduler: str, split_csv: list[Path]
) -> None:
    # Two bad files: the first one in input order is named, as the local engine does.
    run = assert_same(
        bce, scheduler, split_csv[0], CORPUS / "bad_prob.csv", CORPUS / "nan_prob.csv", code=2
    )
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"Error: {CORPUS / 'bad_prob.csv'} row 3: prob = 1.7")


def test_the_first_bad_row_group_in_file_order_is_reported(
    bce: Any, scheduler: str, tmp_path: Path
) -> None:
    n = 1000
    prob = np.linspace(0.01, 0.99, n)
    prob[650] = 1.5  # row group 2 (rows 601-900), file row 651
    prob[950] = -1.0  # row group 3
    data = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"label": np.arange(n) % 2, "prob": prob}), data, row_group_size=300)
    run = assert_same(bce, scheduler, data, "--chunk-size", "64", code=2)
    assert "bad.parquet row 651: prob = 1.5" in run.stderr
    assert_same(bce, scheduler, data, "--on-invalid", "skip", "--worst", "3")


@pytest.mark.parametrize(
    "files",
    [
        ["corrupt.parquet"],
        ["truncated.parquet"],
        ["truncated.csv.gz"],
        ["ragged.csv"],
        ["mixed_dir"],
        ["header_only.csv"],
        ["perfect.csv", "ambiguous.csv"],
    ],
)
def test_unreadable_inputs_give_the_local_message(
    bce: Any, scheduler: str, files: list[str]
) -> None:
    run = assert_same(bce, scheduler, *[CORPUS / name for name in files], code=2)
    assert run.stderr.startswith("Error: ") and run.stderr.count("\n") == 1


def test_scheduler_from_the_environment(
    bce: Any, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", scheduler)
    local = bce("score", SAMPLE / "preds.csv", "--format", "json")
    dask = bce("score", SAMPLE / "preds.csv", "--format", "json", "--engine", "dask")
    assert (dask.exit_code, dask.stdout) == (0, local.stdout)


def test_engine_usage_errors(bce: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    run = bce("score", SAMPLE / "preds.csv", "--engine", "dask")
    assert run.exit_code == 2 and "--scheduler ADDRESS or set DASK_SCHEDULER_ADDRESS" in run.stderr
    run = bce("score", SAMPLE / "preds.csv", "--scheduler", "tcp://127.0.0.1:8786")
    assert run.exit_code == 2 and "--scheduler is for --engine dask" in run.stderr
    run = bce("score", "-", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:8786")
    assert run.exit_code == 2 and "not standard input" in run.stderr


def test_without_dask_the_message_says_how_to_install_it(
    bce: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bcecli.engines.dask

    monkeypatch.setattr(bcecli.engines.dask, "dask_available", lambda: False)
    run = bce("score", SAMPLE / "preds.csv", "--engine", "dask", "--scheduler", "tcp://x:1")
    assert run.exit_code == 2
    assert run.stderr == (
        "Error: --engine dask needs Dask, which is not installed; "
        "install it with pip install 'dask[distributed]'.\n"
    )


def test_an_unreachable_scheduler_is_one_sentence(
    bce: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bcecli.engines.dask

    monkeypatch.setattr(bcecli.engines.dask, "CONNECT_TIMEOUT", 0.5)
    run = bce("score", SAMPLE / "preds.csv", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert run.exit_code == 2
    assert run.stderr.startswith("Error: Cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert run.stderr.count("\n") == 1


def test_a_worker_address_is_not_taken_for_the_scheduler(scheduler: str) -> None:
    # A worker speaks Dask's protocol too; the client used to fail with a remote TypeError,
    # a traceback and exit status 1.
    with distributed.Client(scheduler, set_as_default=False) as client:
        info = client.scheduler_info()["workers"]
    worker = next(iter(info))
    nanny = info[worker]["nanny"]
    for address, kind in ((worker, "worker"), (nanny, "nanny")):
        done = bce_process(
            "score", SAMPLE / "preds.csv", "--engine", "dask", "--scheduler", address
        )
        stderr = done.stderr.decode()
        assert done.returncode == 2 and "Traceback" not in stderr
        assert stderr.startswith(
            f"Error: Cannot reach the Dask scheduler at {address}: that is a Dask {kind}, "
            "not the scheduler."
        )
        assert len(stderr.splitlines()) == 1


def test_progress_counts_every_row_read(scheduler: str) -> None:
    from bcecli.engines.dask import score_on_dask
    from bcecli.io.sources import make_sources
    from bcecli.scoring.settings import Settings

    paths = [str(SAMPLE / "preds.parquet"), str(CORPUS / "bad_prob.csv")]
    seen: list[int] = []
    result = score_on_dask(
        make_sources(paths),
        Settings(on_invalid="skip"),
        scheduler=scheduler,
        on_progress=seen.append,
    )
    deadline = time.monotonic() + 30  # generous: the shared machine may be busy
    while sum(seen) < 10_010 and time.monotonic() < deadline:
        time.sleep(0.05)  # the callbacks run on the client's thread
    assert sum(seen) == 10_010
    assert [(s.rows, s.skipped) for s in result.inputs] == [(10_000, 0), (9, 1)]


def test_on_a_terminal_the_dask_engine_shows_the_rows_its_workers_scored(
    scheduler: str, tmp_path: Path
) -> None:
    """The workers read the row groups, so no chunk says how far through the file it is:
    a spinner counts the rows each finished partition reports, with no percentage."""
    from test_terminal import PERCENT, run_bce

    rows = 400_000
    rng = np.random.default_rng(8)
    table = pa.table({"label": rng.integers(0, 2, rows), "prob": rng.random(rows)})
    path = tmp_path / "groups.parquet"
    pq.write_table(table, path, row_group_size=50_000)
    args = ("score", str(path), "--chunk-size", "25", "--format", "json")
    run = run_bce(
        *args, "--engine", "dask", "--scheduler", scheduler, stdout_tty=False, stderr_tty=True
    )
    assert run.code == 0
    assert "scoring" in run.stderr and re.search(r"[1-9]\d{1,2},000 rows", run.stderr)
    assert not PERCENT.search(run.stderr)
    assert json.loads(run.stdout)["inputs"][0]["rows"] == rows


def test_the_api_scores_on_dask_with_the_local_report(scheduler: str) -> None:
    import bcecli

    paths = [str(SAMPLE / "preds.parquet"), str(SAMPLE / "preds.csv")]
    options: dict[str, Any] = {"by": "segment", "calibration": 5, "worst": 3, "keep": "id"}
    local = bcecli.score(paths, **options)
    remote = bcecli.score(paths, engine="dask", scheduler=scheduler, **options)
    assert remote.to_dict() == local.to_dict()
    assert remote.metrics["rows"] == 20_000


def test_the_label_rule_is_learned_across_partitions(
    bce: Any, scheduler: str, tmp_path: Path
) -> None:
    # No label of the first file settles the rule; the second's "false" makes the
    # column true/false, so the 1 in the third file is invalid, as in one local pass.
    first = write_csv(tmp_path / "a.csv", "label,prob", [",0.9", "maybe,0.8"])
    second = write_csv(tmp_path / "b.csv", "label,prob", ["false,0.7", "true,0.2"])
    third = write_csv(tmp_path / "c.csv", "label,prob", ["true,0.3", "1,0.4"])
    document = assert_same(bce, scheduler, first, second, third, "--on-invalid", "skip").json()
    assert (document["metrics"]["rows"], document["metrics"]["skipped"]) == (3, 3)
    run = assert_same(bce, scheduler, second, third, code=2)
    assert "c.csv row 2: label = '1' is not true or false" in run.stderr
    # Row groups of one Parquet file alike: none settles it in the first.
    labels = pa.array([None] * 300 + ["true", "false"] * 150 + ["0", "1"] * 150, pa.string())
    data = tmp_path / "labels.parquet"
    table = pa.table({"label": labels, "prob": np.linspace(0.01, 0.99, 900)})
    pq.write_table(table, data, row_group_size=300)
    document = assert_same(bce, scheduler, data, "--on-invalid", "skip").json()
    assert (document["metrics"]["rows"], document["metrics"]["skipped"]) == (300, 600)
