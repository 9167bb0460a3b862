"""The steps behind `make test`, in Python so they run alike on Linux, macOS and Windows.

    python tools/dev.py venv                   # create .venv, install bce (editable)
    .venv/bin/python tools/dev.py test-extra   # add the test tools on top
    .venv/bin/python tools/dev.py test         # lint, format check, type-check, all tests

The Makefile runs these (``make run`` only the first). Windows has no make, and a
virtual environment there keeps its programs in .venv\\Scripts rather than .venv/bin, so
the CI's Windows job runs the same commands itself, the last two with .venv\\Scripts\\python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"

# What ruff lints and formats.
LINTED = ("bcecli", "tests", "benchmarks", "tools")

# Each check, as the arguments of the Python that runs `test`; the first to fail stops.
CHECKS: tuple[tuple[str, ...], ...] = (
    ("-m", "ruff", "check", *LINTED),
    ("-m", "ruff", "format", "--check", *LINTED),
    ("-m", "mypy"),
    ("-m", "pytest"),
    # The C kernel's: the core's tests on the pure-Python path alone (BCE_NATIVE=0), and
    # bce's own exp, log and log1p on a million values each, against decimal at 50 digits.
    ("tools/native_checks.py", "pure"),
    ("tools/check_elementary.py", "1000000"),
)
# On Linux, where gcc builds the kernel: warnings as errors, and the kernel's tests once
# more under AddressSanitizer and UndefinedBehaviorSanitizer (preloaded the way Linux
# allows; macOS and Windows build the kernel in their CI jobs' installs all the same).
LINUX_CHECKS: tuple[tuple[str, ...], ...] = (
    ("tools/native_checks.py", "strict"),
    ("tools/native_checks.py", "sanitize"),
)

# How `venv` installs bce into the new environment (what it needs at run time only), and
# how `test-extra` adds the test tools, as arguments of the environment's Python.
INSTALL: tuple[tuple[str, ...], ...] = (
    ("-m", "pip", "install", "--quiet", "--upgrade", "pip"),
    ("-m", "pip", "install", "--quiet", "-e", "."),
)
TEST_EXTRA: tuple[tuple[str, ...], ...] = (("-m", "pip", "install", "--quiet", "-e", ".[test]"),)


def venv_python(venv_dir: Path = VENV, platform: str = sys.platform) -> Path:
    """The Python of a virtual environment made on ``platform``."""
    if platform == "win32":
        return venv_dir / "Scripts" / "python.exe"
    return venv_dir / "bin" / "python"


def run_steps(python: Path | str, steps: Sequence[Sequence[str]]) -> int:
    """Run each step with ``python`` from the project's root, printing it first, as make
    does; stop at the first that fails and return its exit status (0 when all pass)."""
    for step in steps:
        print("$ python " + " ".join(step), flush=True)
        status = subprocess.call([str(python), *step], cwd=ROOT)
        if status != 0:
            return status
    return 0


def make_venv() -> int:
    # As `python -m venv` makes it: links to the Python, except on Windows.
    venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt").create(VENV)
    return run_steps(venv_python(), INSTALL)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["venv"]:
        return make_venv()
    if args == ["test-extra"]:
        return run_steps(sys.executable, TEST_EXTRA)
    if args == ["test"]:
        return run_steps(
            sys.executable, CHECKS + (LINUX_CHECKS if sys.platform.startswith("linux") else ())
        )
    print("usage: python tools/dev.py venv | test-extra | test", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
