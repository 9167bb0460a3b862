"""The ``bce`` group and ``main()``: the one place that turns outcomes into exit codes.

Errors become one line on stderr and exit 2, a failed gate exits 1, Ctrl-C 130, and a
closed output pipe (``| head``) 141, quietly. Heavy libraries (numpy, pyarrow, pandas,
rich) are imported inside the commands so ``bce --help`` and ``--version`` start fast.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from bcecli._native import status as native_status
from bcecli._version import __version__
from bcecli.cli.options import CONTEXT_SETTINGS, EXIT_CODES_HELP
from bcecli.errors import BceError, ExitCode


class BceGroup(click.Group):
    """click's main turns a closed pipe into exit status 1: answer as SIGPIPE would.

    Output happens in both phases click runs inside its main: parsing (``bce --help``
    and ``--version`` print while the group's context is made) and invoking (every
    command, and a command's own ``--help``, parsed as the group invokes it).
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        with _closed_pipe_exits():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _closed_pipe_exits():
            return super().invoke(ctx)


@contextmanager
def _closed_pipe_exits() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise click.exceptions.Exit(stdout_closed()) from None


@click.group(cls=BceGroup, context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
@click.version_option(
    __version__,
    "-V",
    "--version",
    prog_name="bce",
    message=f"%(prog)s, version %(version)s\nnative kernel: {native_status()}",
)
def cli() -> None:
    """Score binary-classification predictions by their log loss (binary cross-entropy).

    Reads a label column and a probability (or logit) column from CSV, TSV or
    Parquet, computes every row's loss and the exact mean in streaming chunks,
    and prints a table or a JSON report.
    """


def _add_commands() -> None:
    from bcecli.cli.rows import rows
    from bcecli.cli.schema import schema
    from bcecli.cli.score import score

    for command in (score, schema, rows):
        cli.add_command(command)


_add_commands()


def main(argv: Sequence[str] | None = None) -> int:
    """Run bce and return its exit status (tests call this directly)."""
    _buffer_stdout()
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name="bce", standalone_mode=False
        )
    except click.exceptions.Exit as exit_:
        return int(exit_.exit_code)
    except click.ClickException as error:
        error.show()
        return int(ExitCode.INPUT_ERROR)
    except click.Abort:
        # click has already ended the line on stderr; one line is all Ctrl-C gets.
        return int(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        _say("")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return stdout_closed()
    except BceError as error:
        if os.environ.get("BCE_TRACEBACK"):
            raise
        _say(f"Error: {error.message}")
        return int(error.exit_code)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return stdout_closed()
    return int(result or 0)


def stdout_closed() -> int:
    """The reader of standard output went away (``| head``): point stdout at /dev/null so
    the interpreter's final flush cannot complain, and exit as a tool stopped by SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return int(ExitCode.BROKEN_PIPE)


def _buffer_stdout() -> None:
    # Under python -u or PYTHONUNBUFFERED, stdout is a raw FileIO and TextIOWrapper does
    # not retry a short write: when head closes the pipe, the rest of the output is
    # dropped without an EPIPE and bce would exit 0. A BufferedWriter retries, and fails.
    if isinstance(getattr(sys.stdout, "buffer", None), io.FileIO):
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(sys.stdout.buffer),
            encoding=sys.stdout.encoding,
            errors=sys.stdout.errors,
            line_buffering=True,
        )


def _say(message: str) -> None:
    try:
        print(message, file=sys.stderr)
    except (BrokenPipeError, OSError):
        pass
