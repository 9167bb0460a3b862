"""What a person at a terminal sees, and what a pipe gets: bce runs as a real process with
its stdout and/or stderr on a pseudo-terminal (80 columns), or on pipes."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len

from conftest import ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX pseudo-terminals")

FULL = (
    "score",
    "sample_data/preds.csv",
    *("-p", "prob", "-p", "model_b", "--by", "segment", "--calibration", "10"),
    *("--worst", "5", "--keep", "id,segment"),
)
ANY_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# SGR codes that set a colour: 30-37, 90-97 (foreground), 40-47, 100-107, 38;… and 48;…
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


class Result:
    def __init__(self, code: int, stdout: bytes, stderr: bytes) -> None:
        self.code = code
        self.stdout = stdout.decode("utf-8")
        self.stderr = stderr.decode("utf-8")


def _terminal(columns: int) -> tuple[int, int]:
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return main, child


def run_bce(
    *args: str,
    stdout_tty: bool = True,
    stderr_tty: bool = False,
    env: dict[str, str] | None = None,
    columns: int = 80,
    timeout: float = 60,
    stdin: int | None = None,
) -> Result:
    """bce as a real process; stdout and stderr each on a pseudo-terminal or a pipe;
    standard input from the ``stdin`` descriptor (nothing by default)."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FORCE_COLOR", "NO_COLOR", "TERM", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
    }
    full_env.update({"COLUMNS": str(columns), "TERM": "xterm-256color", **(env or {})})
    streams: dict[str, int] = {}
    ends: list[int] = []
    if stdout_tty:
        streams["stdout"], out_child = _terminal(columns)
        ends.append(out_child)
    if stderr_tty:
        streams["stderr"], err_child = _terminal(columns)
        ends.append(err_child)
    process = subprocess.Popen(
        [sys.executable, "-m", "bcecli", *args],
        stdin=subprocess.DEVNULL if stdin is None else stdin,
        stdout=out_child if stdout_tty else subprocess.PIPE,
        stderr=err_child if stderr_tty else subprocess.PIPE,
        env=full_env,
        cwd=ROOT,
    )
    for fd in ends:
        os.close(fd)  # the child holds them now: EOF comes when it exits
    if process.stdout is not None:
        streams["stdout"] = process.stdout.fileno()
    if process.stderr is not None:
        streams["stderr"] = process.stderr.fileno()
    output = {name: b"" for name in streams}
    reading = {fd: name for name, fd in streams.items()}
    deadline = time.monotonic() + timeout
    while reading and time.monotonic() < deadline:
        ready, _, _ = select.select(list(reading), [], [], 0.5)
        for fd in ready:
            try:
                data = os.read(fd, 1 << 16)
            except OSError as error:  # a pty whose other end closed says EIO
                if error.errno != errno.EIO:
                    raise
                data = b""
            if data:
                output[reading[fd]] += data
            else:
                del reading[fd]
    code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    for name, fd in streams.items():
        if (name == "stdout" and stdout_tty) or (name == "stderr" and stderr_tty):
            os.close(fd)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    return Result(code, output.get("stdout", b""), output.get("stderr", b""))


def visible_lines(text: str) -> list[str]:
    return ANY_ESCAPE.sub("", text).replace("\r\n", "\n").split("\n")


# --- tables and colour -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def piped() -> Result:
    return run_bce(*FULL, stdout_tty=False)


def test_on_a_terminal_tables_fit_80_columns_in_colour(piped: Result) -> None:
    run = run_bce(*FULL)
    assert run.code == 0, run.stderr
    lines = visible_lines(run.stdout)
    assert max(cell_len(line) for line in lines) <= 80
    assert COLOUR.search(run.stdout), "no colour on a terminal"
    assert "Reliability" in run.stdout and "By segment" in run.stdout
    # The words and numbers are those a pipe gets, colour and padding aside.
    assert [line.rstrip() for line in lines] == piped.stdout.split("\n")


def test_no_color_means_no_escape_codes_at_all() -> None:
    run = run_bce(*FULL, env={"NO_COLOR": "1"})
    assert run.code == 0, run.stderr
    assert "\x1b" not in run.stdout
    assert "Log loss" in run.stdout
    assert max(cell_len(line) for line in visible_lines(run.stdout)) <= 80


def test_piped_output_is_plain_and_fits_80_columns(piped: Result) -> None:
    run = piped
    assert run.code == 0 and run.stderr == ""
    assert "\x1b" not in run.stdout
    lines = run.stdout.split("\n")
    assert max(cell_len(line) for line in lines) <= 80
    assert all(line == line.rstrip() for line in lines)  # no padding left at line ends
    assert lines[-1] == "" and lines[-2] != ""  # ends with one newline, no blank tail


def test_narrow_terminal_still_fits() -> None:
    run = run_bce(*FULL, columns=60)
    assert run.code == 0, run.stderr
    assert max(cell_len(line) for line in visible_lines(run.stdout)) <= 60
    chart = [line for line in visible_lines(run.stdout) if line.startswith("0.90–1.00 █")]
    assert chart and cell_len(chart[0]) <= 60  # the bars shrink rather than wrap


@pytest.mark.parametrize("output_format", ["json", "markdown"])
def test_json_and_markdown_on_a_terminal_have_no_escape_codes(output_format: str) -> None:
    run = run_bce(*FULL, "--format", output_format)
    assert run.code == 0, run.stderr
    assert "\x1b" not in run.stdout


# --- progress --------------------------------------------------------------------------------


def test_a_short_run_prints_nothing_on_a_terminal_stderr() -> None:
    run = run_bce(*FULL, stderr_tty=True)
    assert run.code == 0 and run.stderr == ""
    dumb = run_bce(*FULL, stderr_tty=True, env={"TERM": "dumb"})
    assert dumb.code == 0 and dumb.stderr == ""


@pytest.fixture
def slow_input(tmp_path: Path) -> Iterator[Path]:
    """A named pipe that sends some rows, pauses 1.6 s, then the rest."""
    fifo = tmp_path / "slow.csv"
    os.mkfifo(fifo)
    stop = threading.Event()

    def feed() -> None:
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:  # non-blocking open fails until bce opens the other end
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.02)
                continue
            os.set_blocking(fd, True)
            with os.fdopen(fd, "w") as stream:
                stream.write("label,prob\n" + "1,0.9\n0,0.2\n" * 500)
                stream.flush()
                time.sleep(1.6)
                stream.write("1,0.8\n" * 100)
            return

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    yield fifo
    stop.set()
    thread.join(timeout=5)


def test_a_long_run_shows_progress_on_a_terminal_stderr_only(slow_input: Path) -> None:
    run = run_bce("score", str(slow_input), stdout_tty=False, stderr_tty=True)
    assert run.code == 0
    assert "scoring" in run.stderr and "rows" in run.stderr
    assert "\x1b" not in run.stdout  # the report is intact, on its own stream
    assert "1,100 rows" in " ".join(run.stdout.split())


def test_quiet_hides_the_progress(slow_input: Path) -> None:
    run = run_bce("score", str(slow_input), "--quiet", stdout_tty=False, stderr_tty=True)
    assert run.code == 0 and run.stderr == ""


def test_no_progress_when_stderr_is_not_a_terminal(slow_input: Path) -> None:
    run = run_bce("score", str(slow_input), stdout_tty=True, stderr_tty=False)
    assert run.code == 0 and run.stderr == ""
    assert "1,100 rows" in " ".join(ANY_ESCAPE.sub("", run.stdout).split())


# Runs that last a few seconds on files of known size: many small chunks of a generated
# file (the display shows after one second). Each chunk costs a command its own time, so
# each has its own chunk size, for about three seconds on a busy two-core machine.
def slow(chunk_size: int) -> tuple[str, str]:
    return ("--chunk-size", str(chunk_size))


ROWS = 400_000
GENERAL = {"BCE_NATIVE": "0"}  # the pure-Python path, slow enough on small chunks to show a bar
PERCENT = re.compile(r"\b\d{1,3}%")
ETA = re.compile(r"eta \d+:\d\d:\d\d")


@pytest.fixture(scope="module")
def long_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """ROWS rows as CSV, gzipped CSV and Parquet (row groups of 50,000)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("long")
    rng = np.random.default_rng(14)
    table = pa.table({"label": rng.integers(0, 2, ROWS), "prob": rng.random(ROWS).round(6)})
    paths = {"csv": folder / "long.csv", "gz": folder / "long.csv.gz"}
    pacsv.write_csv(table, paths["csv"])
    with pa.CompressedOutputStream(str(paths["gz"]), "gzip") as out:
        out.write(paths["csv"].read_bytes())
    paths["parquet"] = folder / "long.parquet"
    pq.write_table(table, paths["parquet"], row_group_size=50_000)
    return paths


def test_a_long_run_on_files_shows_a_bar_with_percentage_and_eta(
    long_inputs: dict[str, Path],
) -> None:
    plain, gz = long_inputs["csv"], long_inputs["gz"]
    # The general path: on 400,000 rows the C kernel's fast path ends before the bar shows
    # (its blocks' progress is tested in test_native_csv.py).
    run = run_bce(
        "score", str(plain), str(gz), *slow(50), stdout_tty=False, stderr_tty=True, env=GENERAL
    )
    assert run.code == 0
    assert PERCENT.search(run.stderr) and ETA.search(run.stderr), run.stderr[-2000:]
    # The total is both files' bytes as stored (the gzipped one's compressed size).
    total = (plain.stat().st_size + gz.stat().st_size) / 1e6
    assert f"/{total:.1f} MB" in run.stderr
    assert re.search(r"\d+\.\d MB/s", run.stderr)
    assert "\x1b" not in run.stdout  # the report is intact, on its own stream
    assert f"{2 * ROWS:,} rows" in run.stdout


def test_parquet_progress_counts_rows_against_the_footers(long_inputs: dict[str, Path]) -> None:
    parquet = str(long_inputs["parquet"])
    run = run_bce("score", parquet, *slow(30), stdout_tty=False, stderr_tty=True)
    assert run.code == 0
    assert PERCENT.search(run.stderr) and ETA.search(run.stderr), run.stderr[-2000:]
    assert re.search(rf"\d\.\d/{ROWS / 1e3:.1f}k rows", run.stderr)
    assert "rows/s" in run.stderr
    assert "\x1b" not in run.stdout and f"{ROWS:,} rows" in run.stdout


def test_inputs_measured_in_different_units_show_a_spinner(long_inputs: dict[str, Path]) -> None:
    # Rows of a Parquet file and bytes of a CSV file do not add up to one total.
    files = ("sample_data/preds.parquet", str(long_inputs["csv"]), "-y", "label", "-p", "prob")
    run = run_bce("score", *files, *slow(25), stdout_tty=False, stderr_tty=True, env=GENERAL)
    assert run.code == 0
    assert "scoring" in run.stderr and " rows " in run.stderr
    assert not PERCENT.search(run.stderr) and "eta" not in run.stderr


def test_standard_input_shows_a_spinner_with_rows_and_no_percentage() -> None:
    reader, writer = os.pipe()

    def feed() -> None:
        with os.fdopen(writer, "w") as stream:
            stream.write("label,prob\n" + "1,0.9\n0,0.2\n" * 500)
            stream.flush()
            time.sleep(1.6)
            stream.write("1,0.8\n" * 100)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    try:
        run = run_bce("score", "-", stdout_tty=False, stderr_tty=True, stdin=reader)
    finally:
        os.close(reader)
        thread.join(timeout=10)
    assert run.code == 0
    assert "scoring" in run.stderr and "1,000 rows" in run.stderr
    assert not PERCENT.search(run.stderr) and "eta" not in run.stderr
    assert "1,100 rows" in " ".join(run.stdout.split())


def test_rows_shows_the_bar_on_stderr_while_rows_go_down_a_pipe(
    long_inputs: dict[str, Path],
) -> None:
    run = run_bce("rows", str(long_inputs["csv"]), *slow(15), stdout_tty=False, stderr_tty=True)
    assert run.code == 0
    assert PERCENT.search(run.stderr) and ETA.search(run.stderr), run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert lines[0] == "label,prob,log_loss" and len(lines) == ROWS + 1
    assert "\x1b" not in run.stdout


def test_rows_to_a_file_show_the_display_though_stdout_is_a_terminal(
    slow_input: Path, tmp_path: Path
) -> None:
    out = tmp_path / "losses.csv"
    run = run_bce("rows", str(slow_input), "-o", str(out), stderr_tty=True)
    assert run.code == 0 and run.stdout == ""
    assert "scoring" in run.stderr and " rows " in run.stderr  # a pipe's size is unknown
    assert run.stderr.endswith(f"Wrote 1,100 rows to {out}.\r\n")
    assert len(out.read_text().splitlines()) == 1 + 1100


def test_rows_printed_on_the_terminal_get_no_display_among_them(slow_input: Path) -> None:
    run = run_bce("rows", str(slow_input), stdout_tty=True, stderr_tty=True)
    assert run.code == 0 and run.stderr == ""
    assert len(visible_lines(run.stdout.strip())) == 1 + 1100


def test_rows_quiet_hides_the_display(slow_input: Path) -> None:
    run = run_bce("rows", str(slow_input), "-q", stdout_tty=False, stderr_tty=True)
    assert run.code == 0 and run.stderr == ""
    assert len(run.stdout.splitlines()) == 1 + 1100
