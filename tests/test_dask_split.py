"""Issue 16, the Dask engine's byte ranges: one big CSV file is cut into ranges at line
ends, a task each, and the report (or the error) is still the local engine's, bit for
bit, wherever the cuts fall."""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bcecli.engines import dask as engine
from bcecli.engines.local import score_readers
from bcecli.errors import BceError
from bcecli.io.columns import ColumnSpec
from bcecli.io.csv_reader import ends_in_quote
from bcecli.io.ranges import ByteRange, line_layout, plan_ranges
from bcecli.io.readers import open_reader
from bcecli.io.sources import make_sources
from bcecli.scoring.inputs import check_population, each_input
from bcecli.scoring.settings import Settings

from conftest import KERNEL_USERS, SAMPLE, moto_s3

distributed = pytest.importorskip("distributed")

SPLIT = "BCE_DASK_SPLIT_BYTES"


# -- the tasks' code, run here: any cuts give the local engine's state or error -------


def local_outcome(path: Path, options: Settings) -> Any:
    """The local engine's final state (plain data), or its error's message."""
    try:
        reader = open_reader(make_sources([str(path)])[0], no_header=options.no_header)
        return score_readers([reader], options).state.to_state()
    except BceError as error:
        return error.message


def split_outcome(path: Path, cuts: list[int], options: Settings) -> Any:
    """The file scored as the Dask engine's tasks score its ranges, cut at ``cuts``: the
    starting label rules, each range's task, the ranges merged in order, the file's
    finish (a whole-file pass if a range failed)."""
    source = make_sources([str(path)])[0]
    try:
        opening = [open_reader(source, no_header=options.no_header)]
        opened = next(each_input(opening, options))
    except BceError as error:
        return error.message
    columns = opened.columns
    layout = line_layout(opened.reader)
    names = tuple(opened.reader.column_names)
    opened.reader.close()
    assert layout is not None and layout.size == path.stat().st_size
    points = [0, *sorted({cut for cut in cuts if 0 < cut < layout.size}), layout.size]
    parts = [
        engine.Partition(0, source, byte_range=ByteRange(a, b, layout, names))
        for a, b in zip(points, points[1:])
    ]
    found = [engine._first_rule(part, None, settings=options, columns=columns) for part in parts]
    rules = engine._rules_in_order(found, len(parts))
    results = [
        engine._score_partition(part, None, rule, settings=options, columns=columns)
        for part, rule in zip(parts, rules)
    ]
    # The tree of merges, SPLIT_EVERY at a time, as the engine builds it.
    while len(results) > 1:
        step = engine.SPLIT_EVERY
        results = [
            engine._merge_ranges(*results[i : i + step]) for i in range(0, len(results), step)
        ]
    whole = engine.Partition(0, source)
    result = engine._finish_file(results[0], whole, rules[0], settings=options, columns=columns)
    if "error" in result:
        return engine._rebuild_error(result["error"]).message
    state = engine._state_from(result["state"])
    try:
        check_population(state, state.input_stats())
    except BceError as error:
        return error.message
    return state.to_state()


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, Settings]:
    """Small CSV files with what a cut could break: CRLF pairs, blank and trailing lines,
    a BOM, no final line end, quoted values (a delimiter inside, a doubled quote), and
    sometimes an invalid row or a quoted value over two lines."""
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    segments = [b"web", b'"a,b"', b'"say ""hi"""', b"app"]
    labels = draw(st.sampled_from([[b"0", b"1"], [b"true", b"false"]]))
    lines = [b"id,label,prob,segment,weight,note"]
    for index in range(draw(st.integers(1, 40))):
        prob = draw(st.integers(0, 1000)) / 1000
        line = b"%d,%s,%r,%s,%s,%s" % (
            index,
            draw(st.sampled_from(labels)),
            prob,
            draw(st.sampled_from(segments)),
            draw(st.sampled_from([b"1", b"0.5", b"2.25"])),
            draw(st.sampled_from([b"n", b'"x, y"', b'5"'])),
        )
        lines.append(line)
        if draw(st.integers(0, 9)) == 0:
            lines.append(b"")  # a blank line among the rows
    flaw = draw(st.sampled_from(["none", "none", "invalid", "label", "quote"]))
    if flaw != "none" and len(lines) > 2:
        at = draw(st.integers(1, len(lines) - 1))
        bad = {
            "invalid": b"99,1,1.5,web,1,n",
            "label": b"98,maybe,0.5,web,1,n",
            # Each line alone has every field: cut between them, both would parse.
            "quote": b'97,1,0.5,web,1,"open' + newline + b'96,0,0.25,app,1,shut"',
        }[flaw]
        lines.insert(at, bad)
    text = newline.join(lines) + draw(st.sampled_from([newline, b"", newline * 3, b" "]))
    if draw(st.booleans()):
        text = b"\xef\xbb\xbf" + text
    options = Settings(
        columns=ColumnSpec(
            weight="weight" if draw(st.booleans()) else None,
            by=("segment",) if draw(st.booleans()) else (),
            keep=("id",),
        ),
        on_invalid=draw(st.sampled_from(["error", "skip"])),
        chunk_size=draw(st.sampled_from([3, 100_000])),
        calibration=draw(st.sampled_from([None, 4])),
        worst=draw(st.sampled_from([0, 3, 50])),
    )
    return text, options


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=csv_files(), cuts=st.lists(st.integers(1, 4000), max_size=12), kernel=st.booleans())
def test_any_cuts_give_the_local_state_or_error(
    scratch: Path, data: tuple[bytes, Settings], cuts: list[int], kernel: bool
) -> None:
    text, options = data
    path = scratch / "rows.csv"
    path.write_bytes(text)
    cuts = [cut % (len(text) + 1) for cut in cuts]
    with ExitStack() as stack:
        if not kernel:  # the pure-Python path, as BCE_NATIVE=0 gives on a worker
            patch = stack.enter_context(pytest.MonkeyPatch.context())
            for name in KERNEL_USERS:
                patch.setattr(importlib.import_module(name), "kernel", None)
        assert split_outcome(path, cuts, options) == local_outcome(path, options)


def test_every_cut_of_a_small_file_gives_the_local_state(scratch: Path) -> None:
    """Each single cut, at every byte: inside the header, a CRLF pair, at a line end."""
    text = b"\xef\xbb\xbfid,label,prob\r\n1,0,0.25\r\n\r\n2,1,0.75\r\n3,1,0.5"
    path = scratch / "small.csv"
    path.write_bytes(text)
    options = Settings(worst=2)
    local = local_outcome(path, options)
    for cut in range(len(text) + 1):
        assert split_outcome(path, [cut], options) == local, cut
        assert split_outcome(path, [cut, cut + 1, cut + 9], options) == local, cut


def test_a_quote_open_at_a_cut_makes_the_whole_file_one_pass(scratch: Path) -> None:
    # Cut just after the first line of the quoted value: the range alone would take the
    # open quote's rest of the line as a value and the next line as a row.
    text = b'label,prob,note\n1,0.5,x\n0,0.25,"open\n1,0.75,shut"\n1,0.75,y\n'
    path = scratch / "quoted.csv"
    path.write_bytes(text)
    local = local_outcome(path, Settings())
    assert "is not closed on its line" in local
    cut = text.index(b"1,0.75,shut")
    assert split_outcome(path, [cut], Settings()) == local


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"1,2,3", False),
        (b'1,"a,b",3', False),
        (b'1,"a', True),
        (b'1,"a""b', True),
        (b'1,"a""b"', False),
        (b'1,5"inch,3', False),  # a quote inside an unquoted value is a character
        (b'1,5"inch,"x', True),
        (b'"', True),
        (b'"x"y,"', True),
    ],
)
def test_ends_in_quote(line: bytes, expected: bool) -> None:
    assert ends_in_quote(line, ord(",")) is expected


def test_ranges_cover_the_data_in_about_equal_pieces() -> None:
    from bcecli.io.ranges import LineLayout

    layout = LineLayout(size=1000, data_start=40, row_bytes=10.0)
    ranges = plan_ranges(layout, ["a", "b"], 100)
    assert len(ranges) == 10 and ranges[0].start == 40 and ranges[-1].end == 1000
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:]))
    assert len(plan_ranges(layout, ["a", "b"], 5000)) == 1
    assert plan_ranges(LineLayout(40, 40, 1.0), ["a", "b"], 100) == []


def test_only_plain_files_can_be_cut() -> None:
    def layout(name: str) -> Any:
        reader = open_reader(make_sources([str(SAMPLE / name)])[0])
        try:
            return line_layout(reader)
        finally:
            reader.close()

    assert layout("preds.csv") is not None
    assert layout("preds.csv.gz") is None  # a stream has no place to start but its start
    assert layout("preds.parquet") is None


# -- on a cluster: the CLI's output is the local engine's --------------------------------


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def assert_same(bce: Any, scheduler: str, *args: Any, code: int = 0) -> Any:
    local = bce("score", *args, "--format", "json")
    dask = bce("score", *args, "--format", "json", "--engine", "dask", "--scheduler", scheduler)
    assert local.exit_code == code, local.stderr
    assert (dask.exit_code, dask.stdout, dask.stderr) == (code, local.stdout, local.stderr)
    return local


def partitions(
    scheduler: str, path: Path | str, split_bytes: int, options: Settings | None = None
) -> list[int]:
    """The rows of each task the engine plans for one file (its ranges, or the whole)."""
    with distributed.Client(scheduler, set_as_default=False) as client:
        sources = make_sources([str(path)])
        _, _, scored = engine._plan(client, sources, options or Settings(), split_bytes)
        return [engine._rows_read(result) for result in client.gather(scored)]


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SPLIT, "30000")  # sample_data/preds.csv (365 kB): 12 ranges


def test_a_csv_file_in_ranges_matches_the_local_engine(
    bce: Any, scheduler: str, split: None
) -> None:
    args = ("-p", "prob", "-p", "model_b", "-w", "weight", "--by", "segment")
    more = ("--calibration", "10", "--worst", "25", "--keep", "id", "--chunk-size", "777")
    document = assert_same(bce, scheduler, SAMPLE / "preds.csv", *args, *more).json()
    # --worst rows numbered from the file's start, far past the first range's rows.
    assert max(row["row"] for row in document["worst"]) > 1000
    assert all(row["keep"]["id"] == row["row"] for row in document["worst"])
    assert_same(bce, scheduler, SAMPLE / "preds.csv", "--worst", "10")  # the C kernel's path


def test_the_file_is_scored_in_one_task_per_range(scheduler: str) -> None:
    rows = partitions(scheduler, SAMPLE / "preds.csv", 30_000)
    assert len(rows) == 13 and sum(rows) == 10_000 and min(rows) > 700
    assert partitions(scheduler, SAMPLE / "preds.csv", 1 << 26) == [10_000]
    # A compressed file has no place to start reading but its beginning: one task.
    assert partitions(scheduler, SAMPLE / "preds.csv.gz", 30_000) == [10_000]


def test_a_compressed_file_matches_in_one_task(bce: Any, scheduler: str, split: None) -> None:
    assert_same(bce, scheduler, SAMPLE / "preds.csv.gz", "--worst", "5", "--by", "segment")


def test_an_invalid_row_in_a_late_range_has_its_row_number(
    bce: Any, scheduler: str, split: None, tmp_path: Path
) -> None:
    lines = (SAMPLE / "preds.csv").read_text().splitlines()
    fields = lines[9001].split(",")
    fields[2] = "1.7"  # prob of data row 9001, in the eleventh range
    lines[9001] = ",".join(fields)
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    run = assert_same(bce, scheduler, path, code=2)
    assert run.stderr.startswith(f"Error: {path} row 9001: prob = 1.7 is outside [0, 1]")
    document = assert_same(bce, scheduler, path, "--on-invalid", "skip", "--worst", "5").json()
    assert document["metrics"]["skipped"] == 1


def test_a_quoted_value_over_two_lines_gives_the_local_error(
    bce: Any, scheduler: str, split: None, tmp_path: Path
) -> None:
    lines = (SAMPLE / "preds.csv").read_text().splitlines()
    for index in range(4000, len(lines), 97):  # some of them across a range's cut
        fields = lines[index].split(",")
        fields[3] = f'"{fields[3]}\nsite"'
        lines[index] = ",".join(fields)
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join(lines) + "\n")
    run = assert_same(bce, scheduler, path, code=2)
    assert "is not closed on its line" in run.stderr
    # Quoted values on one line are read as they are locally, in every range.
    lines = (SAMPLE / "preds.csv").read_text().splitlines()
    quoted = [lines[0]] + [line.replace(",web,", ',"web, mobile",') for line in lines[1:]]
    path.write_text("\n".join(quoted) + "\n")
    assert_same(bce, scheduler, path, "--by", "segment", "--worst", "5")


def test_a_bad_split_size_is_one_sentence(bce: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SPLIT, "lots")
    run = bce("score", SAMPLE / "preds.csv", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert (run.exit_code, run.stderr) == (
        2,
        f"Error: {SPLIT} must be a positive number of bytes, not 'lots'.\n",
    )


def test_an_object_is_read_in_ranges(bce: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SPLIT, "30000")
    args = ("--by", "segment", "--worst", "10", "--format", "json")
    with moto_s3("models", {"preds.csv": SAMPLE / "preds.csv"}):
        url = "s3://models/preds.csv"
        # Threads, not processes: the workers see this process's AWS variables.
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster:
            address = cluster.scheduler_address
            dask = bce("score", url, *args, "--engine", "dask", "--scheduler", address)
            assert len(partitions(address, url, 30_000)) == 13
        local = bce("score", url, *args)
    assert (dask.exit_code, dask.stdout, dask.stderr) == (0, local.stdout, "")
    assert os.environ[SPLIT] == "30000"


def test_a_file_without_a_header_is_cut_alike(scratch: Path) -> None:
    text = b"\n0,0.25,a\r\n1,0.75,b\r\n1,0.5,a\r\n0,0.125,b\r\n"
    path = scratch / "no_header.csv"
    path.write_bytes(text)
    options = Settings(
        columns=ColumnSpec(label="1", prob=("2",), by=("3",)), no_header=True, worst=3
    )
    local = local_outcome(path, options)
    assert isinstance(local, dict) and local["inputs"]["inputs"][0][1]["rows"] == 4
    for cut in range(len(text) + 1):
        assert split_outcome(path, [cut, cut + 7], options) == local, cut


# -- JSON Lines: rows numbered by line, blank lines too --------------------------------


@st.composite
def jsonl_files(draw: st.DrawFn) -> tuple[bytes, Settings]:
    """Small JSON Lines files with what a cut could break: blank lines (leading ones
    too, which have line numbers), CRLF, a BOM, no final line end, nested fields, line
    ends escaped inside strings, and sometimes an invalid row or a line that is not JSON."""
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines: list[bytes] = [b""] * draw(st.integers(0, 2))
    for index in range(draw(st.integers(1, 40))):
        prob = draw(st.integers(0, 1000)) / 1000
        segment = draw(st.sampled_from([b'"web"', b'"a\\nb"', b'"say \\"hi\\""', b"null"]))
        label = draw(st.sampled_from([b"0", b"1", b"true", b'"1"']))
        lines.append(
            b'{"id": %d, "label": %s, "scores": {"p": %r}, "segment": %s, "w": %s}'
            % (index, label, prob, segment, draw(st.sampled_from([b"1", b"0.5", b"2.25"])))
        )
        if draw(st.integers(0, 6)) == 0:
            lines.append(b"")
    flaw = draw(st.sampled_from(["none", "none", "invalid", "not json"]))
    if flaw != "none":
        at = draw(st.integers(0, len(lines)))
        bad = {
            "invalid": b'{"id": 99, "label": 1, "scores": {"p": 1.5}, "segment": "web", "w": 1}',
            "not json": b'{"id": 98, "label": 1,',
        }[flaw]
        lines.insert(at, bad)
    text = newline.join(lines) + draw(st.sampled_from([newline, b"", newline * 3]))
    if draw(st.booleans()):
        text = b"\xef\xbb\xbf" + text
    options = Settings(
        columns=ColumnSpec(
            label="label",
            prob=("scores.p",),
            weight="w" if draw(st.booleans()) else None,
            by=("segment",) if draw(st.booleans()) else (),
            keep=("id",),
        ),
        on_invalid=draw(st.sampled_from(["error", "skip"])),
        chunk_size=draw(st.sampled_from([3, 100_000])),
        calibration=draw(st.sampled_from([None, 4])),
        worst=draw(st.sampled_from([0, 3, 50])),
    )
    return text, options


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=jsonl_files(), cuts=st.lists(st.integers(1, 4000), max_size=12))
def test_any_cuts_of_json_lines_give_the_local_state_or_error(
    scratch: Path, data: tuple[bytes, Settings], cuts: list[int]
) -> None:
    text, options = data
    path = scratch / "rows.jsonl"
    path.write_bytes(text)
    local = local_outcome(path, options)
    if isinstance(local, str) and local.startswith(f"{path} is empty"):
        return  # nothing to cut
    cuts = [cut % (len(text) + 1) for cut in cuts]
    assert split_outcome(path, cuts, options) == local


def test_every_cut_of_a_small_json_lines_file_numbers_rows_by_line(scratch: Path) -> None:
    text = (
        b'\xef\xbb\xbf\n{"label": 0, "p": 0.25}\r\n\r\n'
        b'{"label": 1, "p": 0.75}\n\n{"label": 1, "p": 0.5}'
    )
    path = scratch / "small.jsonl"
    path.write_bytes(text)
    options = Settings(columns=ColumnSpec(label="label", prob=("p",)), worst=3)
    local = local_outcome(path, options)
    assert sorted(row["row"] for row in local["worst"]["rows"]) == [2, 4, 6]  # line numbers
    for cut in range(len(text) + 1):
        assert split_outcome(path, [cut], options) == local, cut
        assert split_outcome(path, [cut, cut + 1, cut + 9], options) == local, cut


def sample_jsonl(path: Path, bad_line: int | None = None) -> Path:
    """The sample as JSON Lines, its prediction nested, a blank line every 500 rows."""
    lines = (SAMPLE / "preds.csv").read_text().splitlines()
    out = []
    for number, line in enumerate(lines[1:], start=1):
        row_id, label, prob, segment, model_b, weight = line.split(",")
        if number == bad_line:
            prob = "1.7"
        out.append(
            f'{{"id": {row_id}, "label": {label}, "scores": {{"prob": {prob}, '
            f'"model_b": {model_b}}}, "segment": "{segment}", "weight": {weight}}}'
        )
        if number % 500 == 0:
            out.append("")
    path.write_text("\n".join(out) + "\n")
    return path


def test_a_json_lines_file_in_ranges_matches_the_local_engine(
    bce: Any, scheduler: str, split: None, tmp_path: Path
) -> None:
    path = sample_jsonl(tmp_path / "preds.jsonl")
    nested = Settings(columns=ColumnSpec(prob=("scores.prob",)))
    rows = partitions(scheduler, path, 30_000, nested)
    assert len(rows) > 10 and sum(rows) == 10_000
    args = ("-p", "scores.prob", "-p", "scores.model_b", "-w", "weight", "--by", "segment")
    more = ("--calibration", "10", "--worst", "25", "--keep", "id")
    document = assert_same(bce, scheduler, path, *args, *more).json()
    # Rows numbered by line from the file's start: a blank line every 500 rows.
    worst = document["worst"]
    assert max(row["row"] for row in worst) > 1000
    assert all(row["row"] == row["keep"]["id"] + (row["keep"]["id"] - 1) // 500 for row in worst)


def test_an_invalid_row_in_a_late_json_lines_range_has_its_line_number(
    bce: Any, scheduler: str, split: None, tmp_path: Path
) -> None:
    path = sample_jsonl(tmp_path / "late.jsonl", bad_line=9001)
    run = assert_same(bce, scheduler, path, "-p", "scores.prob", code=2)
    assert f"{path} row 9019: scores.prob = 1.7" in run.stderr  # and 18 blank lines before
