"""The C kernel's extra checks, run by ``tools/dev.py test`` where a C compiler is (POSIX):

    python tools/native_checks.py strict     # compile with -Wall -Wextra -Werror
    python tools/native_checks.py sanitize   # the kernel tests under ASan and UBSan
    python tools/native_checks.py pure       # the core tests on the pure-Python path

``sanitize`` builds a copy of the package with AddressSanitizer and
UndefinedBehaviorSanitizer in a temporary folder, and runs the kernel's tests against it
(the sanitizers' runtime preloaded, as the Python binary itself is not instrumented).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The tests that drive the kernel directly, run again under the sanitizers.
KERNEL_TESTS = (
    "tests/test_native_csv.py",
    "tests/test_native_groups.py",
    "tests/test_native_parquet.py",
    "tests/test_native_kernel.py",
    "tests/test_elementary.py",
    "tests/test_decimal_parse.py",
    "tests/test_scan_fuzz.py",
    "tests/test_loss_histogram.py",
)
# The core's tests, run once more with BCE_NATIVE=0: the pure-Python path alone.
CORE_TESTS = (
    "tests/test_loss.py",
    "tests/test_metrics.py",
    "tests/test_exactsum.py",
    "tests/test_state.py",
    "tests/test_elementary.py",
    "tests/test_reports.py",
    "tests/test_golden.py",
    "tests/test_invalid_rows.py",
    "tests/test_label_rule.py",
    "tests/test_loss_histogram.py",
)


def _build(target: Path, env: dict[str, str]) -> int:
    """Build the kernel of the package copy in ``target`` in place."""
    return subprocess.call(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace", "--force"],
        cwd=target,
        env=env,
    )


def _copy(target: Path) -> None:
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(
        ROOT / "bcecli",
        target / "bcecli",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"),
    )


def strict() -> int:
    # The install this runs in built its kernel too (a failed build there only warns).
    loaded = "import bcecli._native as n, sys; print(n.status()); sys.exit(n.kernel is None)"
    if subprocess.call([sys.executable, "-c", loaded], cwd=ROOT):
        return 1
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder)
        _copy(target)
        return _build(target, {**os.environ, "BCE_STRICT_BUILD": "1"})


def _runtime(name: str) -> str:
    compiler = sysconfig.get_config_var("CC") or "cc"
    found = subprocess.run(
        [compiler.split()[0], f"-print-file-name={name}"], capture_output=True, text=True
    ).stdout.strip()
    return found


def sanitize() -> int:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder)
        _copy(target)
        status = _build(target, {**os.environ, "BCE_SANITIZE": "1"})
        if status:
            return status
        preload = " ".join(_runtime(name) for name in ("libasan.so", "libubsan.so"))
        env = {
            **os.environ,
            "PYTHONPATH": str(target),
            "LD_PRELOAD": preload,
            # CPython's own allocations are not all freed at exit: leaks are not the point.
            "ASAN_OPTIONS": "detect_leaks=0:halt_on_error=1",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        }
        tests = [str(ROOT / test) for test in KERNEL_TESTS if (ROOT / test).exists()]
        # The copy, not the checkout's editable install, must be what the tests import.
        check = (
            "import bcecli._native as n, sys; "
            f"sys.exit(n.kernel is None or not n.kernel.__file__.startswith({folder!r}))"
        )
        # Run from the copy: `python -m` puts the working folder first on the path.
        if subprocess.call([sys.executable, "-c", check], env=env, cwd=target):
            print("the sanitized kernel did not load", file=sys.stderr)
            return 1
        return subprocess.call(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(ROOT),
                # The fuzzers are sanitized builds of their own (clang's runtime, not gcc's).
                "-k",
                "not fuzzer",
                *tests,
            ],
            cwd=target,
            env=env,
        )


def pure() -> int:
    tests = [test for test in CORE_TESTS if (ROOT / test).exists()]
    env = {**os.environ, "BCE_NATIVE": "0"}
    return subprocess.call([sys.executable, "-m", "pytest", *tests], cwd=ROOT, env=env)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {"strict": strict, "sanitize": sanitize, "pure": pure}
    if len(args) != 1 or args[0] not in commands:
        print("usage: python tools/native_checks.py strict | sanitize | pure", file=sys.stderr)
        return 2
    return commands[args[0]]()


if __name__ == "__main__":
    sys.exit(main())
