"""Exit codes and the errors a user can cause, each with a message that says what to do.

Library code raises these; only the CLI turns them into stderr lines and exit codes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """bce's exit statuses, as grep and diff use them (each command's --help lists its own)."""

    OK = 0
    GATE_FAILED = 1
    INPUT_ERROR = 2
    INTERRUPTED = 130
    BROKEN_PIPE = 141


def shown_path(path: str) -> str:
    """How a message names an input: ``-`` reads better as "standard input"."""
    return "standard input" if path == "-" else path


class BceError(Exception):
    """Base of every error a user can cause: the message is what the CLI prints."""

    exit_code = ExitCode.INPUT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(BceError):
    """Options that do not fit together or hold an impossible value."""


class InputError(BceError):
    """A file that is missing, unreadable, empty or not what its name says."""


class ColumnError(InputError):
    """A column that is absent, ambiguous or of the wrong type."""


class InvalidRowError(InputError):
    """A row with a missing or out-of-range value, under ``--on-invalid error``."""

    def __init__(self, path: str, row: int, column: str, problem: str) -> None:
        self.path = path
        self.row = row
        self.column = column
        self.problem = problem
        super().__init__(
            f"{shown_path(path)} row {row}: {problem}. Fix that row, or pass "
            "--on-invalid skip to leave invalid rows out."
        )


class BaselineError(BceError):
    """A baseline report that cannot be compared with this run."""
