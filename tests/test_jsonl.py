"""JSON Lines input (.jsonl, .ndjson, .json; compressed; --input-format jsonl on stdin).

The same data gives the report CSV and Parquet give, byte for byte apart from the
inputs' entries; rows are numbered by line; every bad file is one sentence.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bcecli
from bcecli.errors import InputError

from conftest import SAMPLE, bce_process, moto_s3, write_csv

FULL = (
    *("-p", "prob", "-p", "model_b", "-w", "weight", "--by", "segment"),
    *("--calibration", "10", "--worst", "5", "--keep", "id"),
)


def _literal(text: str) -> str:
    """A CSV field as JSON: a number as written where it is one, else a string."""
    try:
        float(text)
    except ValueError:
        return json.dumps(text)
    return text


def jsonl_of_csv(csv_path: Path, out: Path, nest: dict[str, str] | None = None) -> Path:
    """The CSV's rows as JSON Lines, numbers written with the CSV's own digits; ``nest``
    moves a column under an object (column -> "outer.inner")."""
    nest = nest or {}
    with open(csv_path, newline="") as stream:
        rows = list(csv.reader(stream))
    header, body = rows[0], rows[1:]
    lines = []
    for row in body:
        flat: dict[str, str] = {}
        nested: dict[str, dict[str, str]] = {}
        for name, text in zip(header, row):
            if name in nest:
                outer, inner = nest[name].split(".")
                nested.setdefault(outer, {})[inner] = _literal(text)
            else:
                flat[name] = _literal(text)
        parts = [f"{json.dumps(k)}: {v}" for k, v in flat.items()]
        for outer, fields in nested.items():
            inner_parts = ", ".join(f"{json.dumps(k)}: {v}" for k, v in fields.items())
            parts.append(f"{json.dumps(outer)}: {{{inner_parts}}}")
        lines.append("{" + ", ".join(parts) + "}\n")
    out.write_text("".join(lines), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def sample_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return jsonl_of_csv(SAMPLE / "preds.csv", tmp_path_factory.mktemp("jl") / "preds.jsonl")


def report(bce: Any, *args: Any) -> dict[str, Any]:
    run = bce("score", *args, "--format", "json")
    assert run.exit_code == 0, run.stderr
    return run.json()


def without_inputs(document: dict[str, Any]) -> str:
    """The report's JSON text without the inputs' entries and the worst rows' paths."""
    document = dict(document)
    document["inputs"] = [{**entry, "path": "", "format": ""} for entry in document["inputs"]]
    document["worst"] = [{**row, "path": ""} for row in document["worst"]]
    return json.dumps(document, sort_keys=False)


# -- the same numbers as CSV and Parquet ---------------------------------------------


@pytest.mark.parametrize("chunk", ["3000", "65536"])
def test_the_report_is_the_csv_and_parquet_report(bce: Any, sample_jsonl: Path, chunk: str) -> None:
    jsonl = report(bce, sample_jsonl, *FULL, "--chunk-size", chunk)
    assert jsonl["inputs"][0]["format"] == "jsonl"
    for other in ("preds.csv", "preds.parquet"):
        expected = report(bce, SAMPLE / other, *FULL, "--chunk-size", chunk)
        assert without_inputs(jsonl) == without_inputs(expected)


@pytest.mark.parametrize("suffix", [".ndjson", ".json", ".jsonl.gz", ".ndjson.bz2", ".jsonl.zst"])
def test_every_name_and_compression_reads_alike(
    bce: Any, sample_jsonl: Path, tmp_path: Path, suffix: str
) -> None:
    data = sample_jsonl.read_bytes()
    path = tmp_path / f"preds{suffix}"
    if suffix.endswith(".gz"):
        data = gzip.compress(data)
    elif suffix.endswith(".bz2"):
        data = bz2.compress(data)
    elif suffix.endswith(".zst"):
        zstandard = pytest.importorskip("zstandard")
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    assert without_inputs(report(bce, path, *FULL)) == without_inputs(
        report(bce, sample_jsonl, *FULL)
    )


def test_standard_input_with_input_format_jsonl(sample_jsonl: Path) -> None:
    done = bce_process(
        "score", "-", "--input-format", "jsonl", "--format", "json", input=sample_jsonl.read_bytes()
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["inputs"][0] == {"path": "-", "format": "jsonl", "rows": 10_000, "skipped": 0}


def test_nested_fields_by_dotted_name_match_a_csv_of_those_names(bce: Any, tmp_path: Path) -> None:
    # A CSV may name a column scores.b: the same report as the nested JSON field.
    header, *lines = (SAMPLE / "preds.csv").read_text().splitlines()
    flat = write_csv(tmp_path / "flat.csv", header.replace("model_b", "scores.b"), lines)
    nested = jsonl_of_csv(flat, tmp_path / "nested.jsonl", nest={"scores.b": "scores.b"})
    assert '"scores": {"b": ' in nested.read_text().splitlines()[0]
    args = ("-p", "scores.b", "--by", "segment", "--worst", "3", "--keep", "id")
    assert without_inputs(report(bce, nested, *args)) == without_inputs(report(bce, flat, *args))


def test_mixed_csv_and_jsonl_files_are_one_population(bce: Any, tmp_path: Path) -> None:
    header, *lines = (SAMPLE / "preds.csv").read_text().splitlines()
    first = write_csv(tmp_path / "a.csv", header, lines[:4000])
    second = jsonl_of_csv(write_csv(tmp_path / "b.csv", header, lines[4000:]), tmp_path / "b.jsonl")
    mixed = report(bce, first, second, *FULL)
    assert [entry["format"] for entry in mixed["inputs"]] == ["csv", "jsonl"]
    both_csv = report(bce, first, tmp_path / "b.csv", *FULL)
    assert without_inputs(mixed) == without_inputs(both_csv)


# -- values spelled every way, any chunking ------------------------------------------

_PROB = st.floats(0, 1, allow_nan=False)


@st.composite
def json_rows(draw: Any) -> tuple[list[tuple[int, float]], str, str]:
    """Rows, their JSON Lines (labels and probabilities spelled as numbers, strings or
    booleans, nested or not, blank lines between) and the same rows as CSV text."""
    rows = draw(st.lists(st.tuples(st.integers(0, 1), _PROB), min_size=1, max_size=40))
    booleans = draw(st.booleans())
    nested = draw(st.booleans())
    json_lines, csv_lines = [], ["label,prob"]
    for label, prob in rows:
        digits = repr(prob)
        label_text = ("true" if label else "false") if booleans else str(label)
        label_json = draw(
            st.sampled_from([label_text, json.dumps(label_text)])
            if booleans
            else st.sampled_from([label_text, f"{label}.0", json.dumps(label_text)])
        )
        prob_json = draw(st.sampled_from([digits, json.dumps(digits), f"{prob:.17e}"]))
        csv_lines.append(f"{label_text},{float(prob_json.strip(chr(34)))!r}")
        p_field = f'{{"p": {prob_json}}}' if nested else prob_json
        extra = draw(st.sampled_from(["", ', "other": [1, {"x": null}]', ', "other": "z"']))
        json_lines.append(f'{{"label": {label_json}, "prob": {p_field}{extra}}}')
        json_lines.extend([""] * draw(st.integers(0, 1)))
    return rows, "\n".join(json_lines) + "\n", "\n".join(csv_lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_rows(), chunk=st.integers(1, 7))
def test_any_spelling_and_chunking_scores_as_csv(
    data: tuple[list[tuple[int, float]], str, str], chunk: int, tmp_path_factory: Any
) -> None:
    rows, text, csv_text = data
    folder = tmp_path_factory.mktemp("h")
    (folder / "x.jsonl").write_text(text)
    (folder / "x.csv").write_text(csv_text)
    nested = '"prob": {"p"' in text
    prob = "prob.p" if nested else "prob"
    got = bcecli.score(str(folder / "x.jsonl"), label="label", prob=prob, chunk_size=chunk)
    want = bcecli.score(str(folder / "x.csv"), label="label", prob="prob", chunk_size=5)
    assert got.to_dict()["metrics"] == want.to_dict()["metrics"]
    assert got.to_dict()["loss_histogram"][0]["rows"] == want.to_dict()["loss_histogram"][0]["rows"]


def test_worst_rows_are_numbered_by_line(bce: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"label": 1, "prob": 0.9}\n\n\n{"label": 1, "prob": 0.01}\n  \n{"label": 0, "prob": 0.5}\n'
    )
    for chunk in ("1", "2", "100"):
        worst = report(bce, path, "--worst", "2", "--chunk-size", chunk)["worst"]
        assert [row["row"] for row in worst] == [4, 6]


# -- invalid values and bad lines, named by line -------------------------------------


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"label": 1, "prob": "abc"}', "row 3: prob = 'abc' is not a number"),
        ('{"label": 1.5, "prob": 0.5}', "row 3: label = 1.5 is not 0 or 1"),
        ('{"label": 1, "prob": 1.7}', "row 3: prob = 1.7 is outside [0, 1]"),
        ('{"label": 1}', "row 3: prob is missing"),
        ('{"label": 1, "prob": null}', "row 3: prob is missing"),
        ('{"label": "yes", "prob": 0.5}', "row 3: label = 'yes' is not 0 or 1"),
        ('{"label": 1, "prob": true}', "row 3: prob = 'true' is not a number"),
        ('{"label": 1, "prob": NaN}', "row 3: prob = NaN"),
    ],
)
def test_an_invalid_value_names_its_line_and_value(
    bce: Any, tmp_path: Path, line: str, says: str
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"label": 0, "prob": 0.2}\n\n' + line + "\n")
    run = bce("score", path)
    assert run.exit_code == 2
    assert f"{path} {says}" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    skipped = report(bce, path, "--on-invalid", "skip")
    assert (skipped["metrics"]["rows"], skipped["inputs"][0]["skipped"]) == (1, 1)


def _big_lines(count: int) -> list[str]:
    return [
        f'{{"label": {i % 2}, "prob": 0.{i % 97 + 1:03d}, "pad": "{"x" * 30}"}}'
        for i in range(count)
    ]


@pytest.mark.parametrize("compress", [False, True])
def test_line_numbers_hold_across_blocks_and_compression(
    bce: Any, tmp_path: Path, compress: bool
) -> None:
    # Over 3 MiB, so several blocks, with blank lines sprinkled before the bad one.
    lines = _big_lines(60_000)
    for at in range(100, 50_000, 997):
        lines[at] = ""
    lines[55_555] = '{"label": 1, "prob": 2.5}'
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) > 3 << 20
    path = tmp_path / ("big.jsonl.gz" if compress else "big.jsonl")
    path.write_bytes(gzip.compress(data) if compress else data)
    for chunk in ("1000", "65536"):
        run = bce("score", path, "--chunk-size", chunk)
        assert run.exit_code == 2
        assert f"{path} row 55556: prob = 2.5 is outside [0, 1]" in run.stderr


def test_line_numbers_on_standard_input() -> None:
    data = b'\n{"label": 0, "prob": 0.2}\n\n{"label": 1, "prob": -1}\n'
    done = bce_process("rows", "-", "--input-format", "jsonl", input=data)
    assert done.returncode == 2
    assert "standard input row 4: prob = -1.0 is outside [0, 1]" in done.stderr.decode()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"label": 0, "prob": 0.2}\n{"label": 1, "prob": 0.3\n', "line 2 is not JSON"),
        (b'{"label": 0, "prob": 0.2}\n\nlabel,prob\n', "line 3 is not JSON"),
        (b'{"label": 0, "prob": 0.2}\n[1, 0.3]\n', "line 2 holds an array, not a JSON object"),
        (b'{"label": 0, "prob": 0.2}\n7\n', "line 2 holds a single value, not a JSON object"),
        (b'[{"label": 0, "prob": 0.2}]\n', "line 1 holds an array"),
        (b'{\n  "label": 0,\n  "prob": 0.2\n}\n', "looks like one pretty-printed JSON document"),
        (b'{"label": 0, "prob": 0.2}\n{"label": "\xff", "prob": 0.3}\n', "line 2 is not UTF-8"),
        (b"", "is empty"),
        (b"\n\n  \n", "is empty"),
        (b"PAR1\x00\x00binary", "not JSON Lines"),
        (gzip.compress(b'{"label": 0, "prob": 0.2}\n'), "gzip-compressed, not JSON Lines"),
    ],
)
@pytest.mark.parametrize("command", ["score", "rows"])
def test_a_bad_file_is_one_sentence(
    bce: Any, tmp_path: Path, content: bytes, says: str, command: str
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    run = bce(command, path)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert says in run.stderr and str(path) in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_a_bad_line_far_in_names_its_line(bce: Any, tmp_path: Path) -> None:
    lines = _big_lines(60_000)
    lines[45_000] = '{"label": 1, "prob": 0.5'
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(lines) + "\n")
    run = bce("score", path)
    assert run.exit_code == 2 and f"{path} line 45001 is not JSON" in run.stderr


def test_a_truncated_gzip_file_is_one_sentence(bce: Any, tmp_path: Path) -> None:
    data = gzip.compress(("\n".join(_big_lines(20_000)) + "\n").encode())
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    run = bce("score", path)
    assert run.exit_code == 2
    assert str(path) in run.stderr and "truncated or corrupt" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_no_header_does_not_apply(bce: Any, sample_jsonl: Path) -> None:
    run = bce("score", sample_jsonl, "--no-header", "-y", "1", "-p", "2")
    assert run.exit_code == 2 and "--no-header does not apply to JSON Lines" in run.stderr


# -- columns ------------------------------------------------------------------------


def test_columns_are_detected_and_unknown_ones_listed(bce: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"y_true": 1, "meta": {"id": 7}, "score": 0.8}\n{"y_true": 0, "score": 0.3, "late": 1}\n'
    )
    document = report(bce, path)
    assert document["columns"]["label"] == "y_true" and document["columns"]["prob"] == ["score"]
    run = bce("score", path, "-p", "meta.idd")
    assert run.exit_code == 2 and "meta.id" in run.stderr


def test_a_dotted_name_that_is_also_a_key_is_ambiguous(bce: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"label": 1, "s.p": 0.5, "s": {"p": 0.6}}\n')
    run = bce("score", path, "-p", "s.p")
    assert run.exit_code == 2 and "s.p" in run.stderr


def test_the_api_reads_json_lines(sample_jsonl: Path) -> None:
    assert bcecli.score(str(sample_jsonl)).to_dict()["inputs"][0]["format"] == "jsonl"
    bad = sample_jsonl.with_name("bad.jsonl")
    bad.write_text("{\n")
    with pytest.raises(InputError, match="pretty-printed"):
        bcecli.score(str(bad))


# -- bce rows ------------------------------------------------------------------------


def test_rows_keeps_the_input_fields_with_the_loss(bce: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        '{"id": 1, "label": 1, "scores": {"p": 0.9}, "tag": "a"}\n'
        "\n"
        '{"id": 2, "label": 0, "scores": {"p": 0.2}, "tag": "b"}\n'
    )
    run = bce("rows", path, "-p", "scores.p", "--output-format", "ndjson")
    assert run.exit_code == 0, run.stderr
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [list(row) for row in out] == [["id", "label", "scores.p", "tag", "log_loss"]] * 2
    assert [row["id"] for row in out] == [1, 2] and out[1]["scores.p"] == 0.2
    csv_run = bce("rows", path, "-p", "scores.p")
    assert csv_run.stdout.splitlines()[0] == "id,label,scores.p,tag,log_loss"


def test_rows_losses_match_csv(bce: Any, sample_jsonl: Path) -> None:
    jsonl = bce("rows", sample_jsonl, "--keep", "id")
    csv_rows = bce("rows", SAMPLE / "preds.csv", "--keep", "id")
    assert jsonl.exit_code == 0 and jsonl.stdout == csv_rows.stdout


# -- beyond one machine ---------------------------------------------------------------


@pytest.fixture(scope="module")
def s3(sample_jsonl: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gz = tmp_path_factory.mktemp("s3") / "preds.jsonl.gz"
    gz.write_bytes(gzip.compress(sample_jsonl.read_bytes()))
    with moto_s3("jsonl", {"preds.jsonl": sample_jsonl, "preds.jsonl.gz": gz}):
        yield "s3://jsonl"


@pytest.mark.parametrize("key", ["preds.jsonl", "preds.jsonl.gz"])
def test_an_object_store_url_reads_as_the_local_file(
    bce: Any, s3: str, sample_jsonl: Path, key: str
) -> None:
    remote = report(bce, f"{s3}/{key}", *FULL)
    assert remote["inputs"][0]["path"] == f"{s3}/{key}"
    assert without_inputs(remote) == without_inputs(report(bce, sample_jsonl, *FULL))


def test_several_files_on_dask_match_the_local_engine(
    bce: Any, sample_jsonl: Path, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    lines = sample_jsonl.read_text().splitlines(keepends=True)
    parts = []
    for i, (a, b) in enumerate([(0, 3000), (3000, 7000), (7000, 10_000)]):
        part = tmp_path / f"part{i}.jsonl"
        part.write_text("".join(lines[a:b]))
        parts.append(part)
    shutil.copy(sample_jsonl, tmp_path / "all.jsonl")
    gz = tmp_path / "all.jsonl.gz"
    gz.write_bytes(gzip.compress(sample_jsonl.read_bytes()))
    files = [*parts, gz]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        dask = bce(
            "score", *files, *FULL, "--format", "json", "--engine", "dask",
            "--scheduler", cluster.scheduler_address,
        )  # fmt: skip
    local = bce("score", *files, *FULL, "--format", "json")
    assert local.exit_code == 0, local.stderr
    assert (dask.exit_code, dask.stdout, dask.stderr) == (0, local.stdout, local.stderr)
    assert [entry["rows"] for entry in local.json()["inputs"]] == [3000, 4000, 3000, 10_000]
