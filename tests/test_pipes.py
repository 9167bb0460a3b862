"""Pipes and signals, with real processes: | head, Ctrl-C, and a terminal on standard input."""

from __future__ import annotations

import array
import fcntl
import os
import pty
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest

BCE = [sys.executable, "-m", "bcecli"]


def _env(unbuffered: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "BCE_TRACEBACK")}
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return env


def _ids_csv(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(0)
    lines = [f"{i},{int(rng.random() < 0.3)},{rng.random():.6f}" for i in range(rows)]
    path.write_text("id,label,prob\n" + "\n".join(lines) + "\n")
    return path


# Outputs far larger than a pipe's 64 KiB buffer, so bce is still writing when head
# has gone: a report that fits would be written in full, and exit 0 rightly.
@pytest.fixture(scope="module")
def ids_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1500 rows, each its own group: --by id makes a JSON report of about 1.5 MB."""
    return _ids_csv(tmp_path_factory.mktemp("pipes") / "ids.csv", 1500)


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30,000 rows: bce rows writes about 900 KB."""
    return _ids_csv(tmp_path_factory.mktemp("pipes") / "big.csv", 30_000)


def _head_c_10(args: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """Like `bce ... | head -c 10`: read 10 bytes, then close the pipe."""
    with subprocess.Popen(
        [*BCE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        head = process.stdout.read(10)
        process.stdout.close()
        stderr = process.stderr.read()
        return process.wait(timeout=60), head, stderr


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_score_into_head_exits_141_quietly(ids_csv: Path, unbuffered: bool) -> None:
    args = ["score", str(ids_csv), "--by", "id", "--format", "json"]
    status, head, stderr = _head_c_10(args, _env(unbuffered))
    assert len(head) == 10
    assert stderr == b""
    assert status == 141


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_rows_into_head_exits_141_quietly(big_csv: Path, unbuffered: bool) -> None:
    status, head, stderr = _head_c_10(["rows", str(big_csv)], _env(unbuffered))
    assert head == b"id,label,p"
    assert stderr == b""
    assert status == 141


def test_shell_pipeline_status(big_csv: Path) -> None:
    # The way a user sees it: ${PIPESTATUS[0]} of `bce rows FILE | head -c 10`.
    script = (
        f'"{sys.executable}" -m bcecli rows "{big_csv}" | head -c 10; echo " ${{PIPESTATUS[0]}}"'
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, env=_env(False), timeout=60, check=False
    )
    assert done.stdout == b"id,label,p 141\n"
    assert done.stderr == b""


def _pipe_is_drained(fd: int) -> bool:
    pending = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, pending)
    return pending[0] == 0


def test_ctrl_c_exits_130_without_a_traceback() -> None:
    with subprocess.Popen(
        [*BCE, "score", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(False),
    ) as process:
        assert process.stdin is not None
        process.stdin.write(b"label,prob\n1,0.5\n0,0.25\n")
        process.stdin.flush()
        # Once bce has taken the lines it is past its imports and waiting for more
        # input (a slow producer that keeps the pipe open): now press Ctrl-C.
        deadline = time.monotonic() + 30
        while not _pipe_is_drained(process.stdin.fileno()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if line.strip()]) <= 1
    assert stdout == b""


def test_terminal_on_standard_input_is_told_what_is_happening() -> None:
    controller, terminal = pty.openpty()
    try:
        with subprocess.Popen(
            [*BCE, "score", "--format", "json"],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(False),
        ) as process:
            os.close(terminal)
            os.write(controller, b"label,prob\n1,0.9\n0,0.2\n")
            os.write(controller, b"\x04")  # Ctrl-D at the start of a line: end of input
            stdout, stderr = process.communicate(timeout=60)
    finally:
        os.close(controller)
    assert process.returncode == 0, stderr
    assert stderr == b"waiting for standard input...\n"
    assert b'"rows": 2' in stdout


def test_ctrl_c_while_importing_exits_130_quietly() -> None:
    # Deterministic stand-in for a Ctrl-C in the first tenth of a second: the
    # interrupt arrives while bce's own modules import click.
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'click':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from bcecli.__main__ import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 130
    assert done.stderr == b""


def _into_closed_pipe(args: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Like `bce ... | head -1` where head has already gone: the reading end of the
    pipe is closed before bce writes, so even a short text meets a closed pipe (a
    real head may read a text that fits in the pipe's buffer before bce notices)."""
    read_end, write_end = os.pipe()
    with subprocess.Popen([*BCE, *args], stdout=write_end, stderr=subprocess.PIPE, env=env) as p:
        os.close(write_end)
        os.close(read_end)
        assert p.stderr is not None
        stderr = p.stderr.read()
        return p.wait(timeout=60), stderr


@pytest.mark.parametrize(
    "args",
    [["--help"], ["-h"], ["--version"], ["score", "--help"], ["rows", "--help"], ["schema"]],
    ids=lambda args: " ".join(args),
)
@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_help_version_and_schema_into_a_closed_pipe_exit_141_quietly(
    args: list[str], unbuffered: bool
) -> None:
    status, stderr = _into_closed_pipe(args, _env(unbuffered))
    assert stderr == b""
    assert status == 141
