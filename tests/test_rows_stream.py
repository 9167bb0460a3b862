"""`bce rows` as a real process in pipes: rows as lines arrive, `| head`, bounded memory."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from conftest import ROOT


def bce_command(*args: object) -> list[str]:
    return [sys.executable, "-m", "bcecli", *[str(a) for a in args]]


def bce_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "BCE_TRACEBACK")}


def write_big_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """A generated id,label,prob,segment CSV, written a million rows at a time."""
    rng = np.random.default_rng(seed)
    segments = pa.array(["web", "email", "ads"])
    options = pacsv.WriteOptions(quoting_style="none")
    with pacsv.CSVWriter(
        str(path),
        pa.schema(
            [
                ("id", pa.int64()),
                ("label", pa.int64()),
                ("prob", pa.float64()),
                ("segment", pa.string()),
            ]
        ),
        write_options=options,
    ) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            writer.write_table(
                pa.table(
                    {
                        "id": pa.array(np.arange(start, start + n)),
                        "label": pa.array(rng.integers(0, 2, n)),
                        "prob": pa.array(rng.random(n)),
                        "segment": segments.take(pa.array(rng.integers(0, 3, n))),
                    }
                )
            )
    return path


class LineReader:
    """Reads lines from a pipe with a deadline, never blocking past it."""

    def __init__(self, stream: object) -> None:
        self.fd = stream.fileno()  # type: ignore[attr-defined]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)
        self.buffer = b""

    def lines(self, count: int, timeout: float) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while self.buffer.count(b"\n") < count:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                break
            data = os.read(self.fd, 65536)
            if not data:
                break
            self.buffer += data
        got = self.buffer.split(b"\n")
        complete = got[: min(count, len(got) - 1)]
        self.buffer = b"\n".join(got[len(complete) :])
        return complete


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_rows_on_stdin_come_out_as_their_lines_arrive(fmt: str) -> None:
    process = subprocess.Popen(
        bce_command("rows", "-", "--output-format", fmt),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=bce_env(),
        cwd=ROOT,
    )
    assert process.stdin is not None and process.stdout is not None
    reader = LineReader(process.stdout)
    header = 1 if fmt == "csv" else 0
    try:
        process.stdin.write(b"label,prob\n1,0.9\n0,0.2\n1,0.5\n")
        process.stdin.flush()
        # The interpreter is still starting: allow for it on a busy machine.
        first = reader.lines(header + 3, timeout=15)
        assert len(first) == header + 3, f"only {first!r} before the input ended"
        process.stdin.write(b"0,0.4\n1,0.7\n")
        process.stdin.flush()
        # Now the process is running: these rows must follow their lines quickly.
        second = reader.lines(2, timeout=3)
        assert len(second) == 2, f"only {second!r} within 3 s of their lines"
    finally:
        try:
            rest, stderr = process.communicate(timeout=30)  # closes stdin: end of input
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, stderr
    assert reader.buffer + rest == b""
    if fmt == "csv":
        assert first[0] == b"label,prob,log_loss"
        assert first[1].startswith(b"1,0.9,0.1053605156578")
    else:
        assert first[0].startswith(b'{"label":1,"prob":0.9,"log_loss":0.1053605156578')
    assert second[1].startswith(b"1,0.7," if fmt == "csv" else b'{"label":1,"prob":0.7,')


def test_rows_into_head_ends_quietly_with_141(tmp_path: Path) -> None:
    data = write_big_csv(tmp_path / "big.csv", 200_000)
    process = subprocess.Popen(
        bce_command("rows", data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=bce_env(),
        cwd=ROOT,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(3)]
    process.stdout.close()  # as head does after its lines
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert lines[0] == b"id,label,prob,segment,log_loss\n"
    assert lines[1].startswith(b"0,")
    assert process.returncode == 141
    assert stderr == b""


def peak_rss_kib(*args: object) -> int:
    """Run bce with stdout to /dev/null and return its peak resident set size in KiB."""
    process = subprocess.Popen(
        bce_command(*args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=bce_env(),
        cwd=ROOT,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.returncode == 0, stderr
    return int(usage.ru_maxrss)  # KiB on Linux


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is KiB on Linux")
def test_rows_peak_memory_does_not_grow_with_the_input(tmp_path: Path) -> None:
    small = write_big_csv(tmp_path / "small.csv", 200_000)
    large = write_big_csv(tmp_path / "large.csv", 2_000_000)
    for output in ([], ["-o", tmp_path / "out.parquet"]):
        baseline = peak_rss_kib("rows", small, *output)
        grown = peak_rss_kib("rows", large, *output)
        assert grown - baseline < 30 * 1024, (output, baseline, grown)


def test_rows_interrupted_leaves_no_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    process = subprocess.Popen(
        bce_command("rows", "-", "-o", out),
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=bce_env(),
        cwd=ROOT,
    )
    assert process.stdin is not None
    process.stdin.write(b"label,prob\n1,0.9\n")
    process.stdin.flush()
    # The temporary file appears once bce runs; it then waits for more input.
    deadline = time.monotonic() + 15
    while not os.listdir(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.listdir(tmp_path), "bce did not start writing"
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert b"Traceback" not in stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["sample_data/preds.csv"],
        ["sample_data/preds.csv", "--output-format", "ndjson", "-p", "prob", "-p", "model_b"],
        ["tests/corpus/bad_prob.csv", "--on-invalid", "skip", "-q", "-o", "{tmp}/out.parquet"],
        ["tests/corpus/bad_prob.csv", "--on-invalid", "skip", "-q", "-o", "{tmp}/out.ndjson.gz"],
    ],
)
def test_rows_never_imports_pandas(tmp_path: Path, args: list[str]) -> None:
    # pyarrow imports pandas when it converts Python or numpy values (0.3 s at startup,
    # and a Ctrl-C during that import is lost), so bce builds Arrow arrays from buffers.
    script = (
        "import sys\n"
        "from bcecli.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "sys.stdout.flush()\n"
        "sys.exit(90 if 'pandas' in sys.modules else code)\n"
    )
    argv = ["rows", *[arg.replace("{tmp}", str(tmp_path)) for arg in args]]
    result = subprocess.run(
        [sys.executable, "-c", script, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=bce_env(),
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode != 90, "bce rows imported pandas"
    assert result.returncode == 0, result.stderr
