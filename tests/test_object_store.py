"""Issue 8, object-store URLs: ``s3://`` inputs read through pyarrow's filesystems, against
moto's S3 server on 127.0.0.1 (no cloud, no network), give the local files' reports."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import CORPUS, SAMPLE, clear_filesystems, moto_s3

boto3 = pytest.importorskip("boto3")

BUCKET = "bce-test"
DATASET = CORPUS / "parquet_dataset"
UPLOADS = {
    "one/preds.csv": SAMPLE / "preds.csv",
    "one/preds.csv.gz": SAMPLE / "preds.csv.gz",
    "one/preds.parquet": SAMPLE / "preds.parquet",
    "bad/bad_prob.csv": CORPUS / "bad_prob.csv",
    "bad/corrupt.parquet": CORPUS / "corrupt.parquet",
    "mixed/part-0.parquet": CORPUS / "mixed_dir" / "part-0.parquet",
    "mixed/notes.txt": CORPUS / "mixed_dir" / "notes.txt",
    **{
        f"ds/{path.relative_to(DATASET).as_posix()}": path
        for path in sorted(DATASET.rglob("*.parquet"))
    },
}


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with the sample files uploaded; bce finds it
    through the standard AWS variables only."""
    with moto_s3(BUCKET, UPLOADS):
        yield f"s3://{BUCKET}"


def report(bce: Any, *args: Any) -> dict[str, Any]:
    run = bce("score", *args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.stderr == ""
    return run.json()


def same_but_paths(remote: dict[str, Any], local: dict[str, Any], names: dict[str, str]) -> None:
    """Equal documents once the remote paths are written as their local twins."""
    text = json.dumps(remote)
    for url, path in names.items():
        text = text.replace(json.dumps(url)[1:-1], json.dumps(path)[1:-1])
    assert json.loads(text) == local


FULL = ("-p", "prob", "-p", "model_b", "-w", "weight", "--by", "segment", "--calibration", "10")


@pytest.mark.parametrize("key", ["one/preds.csv", "one/preds.csv.gz", "one/preds.parquet"])
def test_an_object_scores_as_its_local_file(bce: Any, s3: str, key: str) -> None:
    local_path = str(UPLOADS[key])
    args = (*FULL, "--worst", "5", "--keep", "id", "--chunk-size", "3000")
    remote = report(bce, f"{s3}/{key}", *args)
    assert remote["inputs"][0]["path"] == f"{s3}/{key}"
    same_but_paths(remote, report(bce, local_path, *args), {f"{s3}/{key}": local_path})


@pytest.mark.parametrize("prefix", ["ds/", "ds"])
def test_a_hive_partitioned_prefix_is_one_dataset(bce: Any, s3: str, prefix: str) -> None:
    args = ("--by", "segment", "--worst", "100")
    remote = report(bce, f"{s3}/{prefix}", *args)
    assert remote["inputs"] == [
        {"path": f"{s3}/{prefix}", "format": "parquet", "rows": 100, "skipped": 0}
    ]
    assert {row["path"] for row in remote["worst"]} == {
        f"{s3}/ds/segment=a/part-0.parquet",
        f"{s3}/ds/segment=b/part-0.parquet",
    }
    remote["inputs"][0]["path"] = str(DATASET)
    same_but_paths(remote, report(bce, DATASET, *args), {f"{s3}/ds/": f"{DATASET}/"})


def test_a_prefix_whose_files_hold_the_partition_key_too(bce: Any, s3: str, tmp_path: Path) -> None:
    import polars as pl

    local = tmp_path / "polars"
    pl.read_parquet(SAMPLE / "preds.parquet").write_parquet(local, partition_by="segment")
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    for path in sorted(local.rglob("*.parquet")):
        client.upload_file(str(path), BUCKET, f"polars/{path.relative_to(local).as_posix()}")
    args = ("-w", "weight", "--by", "segment", "--worst", "5", "--keep", "segment")
    remote = report(bce, f"{s3}/polars/", *args)
    remote["inputs"][0]["path"] = str(local)
    same_but_paths(remote, report(bce, local, *args), {f"{s3}/polars/": f"{local}/"})


def test_the_table_names_dataset_objects_under_their_prefix(bce: Any, s3: str) -> None:
    run = bce("score", f"{s3}/ds/", "--worst", "100")
    assert run.exit_code == 0, run.stderr
    assert f"files under {s3}/ds" in run.stdout
    assert "segment=a/part-0.parquet" in run.stdout


def test_objects_and_local_files_score_as_one_population(bce: Any, s3: str) -> None:
    remote = report(bce, f"{s3}/one/preds.csv", SAMPLE / "preds.parquet")
    local = report(bce, SAMPLE / "preds.csv", SAMPLE / "preds.parquet")
    same_but_paths(remote, local, {f"{s3}/one/preds.csv": str(SAMPLE / "preds.csv")})


def test_rows_streams_an_object(bce: Any, s3: str) -> None:
    remote = bce("rows", f"{s3}/one/preds.csv.gz")
    assert remote.exit_code == 0, remote.stderr
    assert remote.stdout == bce("rows", SAMPLE / "preds.csv.gz").stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("{s3}/one/nope.csv", "Error: {s3}/one/nope.csv: no such object or prefix. Check the URL."),
        (
            "s3://no-such-bucket/preds.csv",
            "Error: s3://no-such-bucket/preds.csv: there is no bucket 'no-such-bucket' "
            "(or these credentials cannot see it). Check the URL.",
        ),
        ("{s3}/bad/bad_prob.csv", "Error: {s3}/bad/bad_prob.csv row 3: prob = 1.7 is outside"),
        ("{s3}/bad/corrupt.parquet", "Error: {s3}/bad/corrupt.parquet: cannot read row group 0"),
        ("{s3}/mixed/", "Error: {s3}/mixed/: notes.txt is not a Parquet file."),
        ("nosuchscheme://x/y.csv", "Error: nosuchscheme://x/y.csv: pyarrow has no filesystem"),
    ],
)
def test_object_store_errors_are_one_sentence(bce: Any, s3: str, url: str, message: str) -> None:
    run = bce("score", url.format(s3=s3))
    assert run.exit_code == 2
    assert run.stderr.startswith(message.format(s3=s3))
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_without_credentials_access_is_denied_in_one_sentence(
    bce: Any, s3: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import moto.settings

    # moto checks signatures from now on; the AWS chain finds no key anywhere.
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    clear_filesystems()
    try:
        run = bce("score", f"{s3}/one/preds.csv")
    finally:
        clear_filesystems()
    assert run.exit_code == 2
    assert run.stderr == (
        f"Error: {s3}/one/preds.csv: access denied; check the credentials (AWS_ACCESS_KEY_ID "
        "and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or ~/.aws/credentials).\n"
    )


def test_the_dask_engine_reads_objects_too(bce: Any, s3: str) -> None:
    distributed = pytest.importorskip("distributed")
    url = f"{s3}/ds/"
    args = ("--by", "segment", "--worst", "10", "--format", "json")
    # Threads, not processes: the workers see this process's AWS variables.
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        dask = bce(
            "score", url, *args, "--engine", "dask", "--scheduler", cluster.scheduler_address
        )
    local = bce("score", url, *args)
    assert (dask.exit_code, dask.stdout, dask.stderr) == (0, local.stdout, "")


@pytest.mark.parametrize(
    ("key", "unit"),
    [("one/preds.csv", "bytes"), ("one/preds.csv.gz", "bytes"), ("one/preds.parquet", "rows")],
)
def test_objects_measure_as_their_local_files(s3: str, key: str, unit: str) -> None:
    """The progress bar's figures: an object's bytes as stored (compressed for .gz), or its
    footer's rows; the last chunk is at the end."""
    from bcecli.io.readers import measure, open_reader
    from bcecli.io.sources import make_sources

    source = make_sources([f"{s3}/{key}"])[0]
    extent = measure(source)
    local = UPLOADS[key]
    size = local.stat().st_size if unit == "bytes" else 10_000
    assert extent is not None and (extent.size, extent.unit) == (size, unit)
    reader = open_reader(source)
    try:
        through = [chunk.through for chunk in reader.chunks(["label", "prob"], 3000)]
    finally:
        reader.close()
    assert len(through) > 1 and through[-1] == size
    assert through == sorted(through)  # type: ignore[type-var]


def test_a_prefix_measures_the_rows_of_its_objects(s3: str) -> None:
    from bcecli.io.readers import Extent, measure
    from bcecli.io.sources import make_sources

    assert measure(make_sources([f"{s3}/ds/"])[0]) == Extent(100, "rows")


def test_file_urls_read_local_files(bce: Any) -> None:
    path = (SAMPLE / "preds.parquet").resolve()
    remote = report(bce, path.as_uri())
    same_but_paths(remote, report(bce, path), {path.as_uri(): str(path)})


def test_network_failures_name_the_endpoint_variable() -> None:
    from bcecli.io.filesystems import read_error

    error = OSError(
        "When getting information for key 'k' in bucket 'b': AWS Error NETWORK_CONNECTION "
        "during HeadObject operation: curlCode: 7, Could not connect to server"
    )
    message = read_error("s3://b/k", error).message
    assert message.startswith("s3://b/k: cannot reach the object store (")
    assert message.endswith("Check the network and AWS_ENDPOINT_URL.")
    assert os.linesep not in message
