"""Check an installed bce, as a user gets it from a wheel. Standard library only.

    python tools/smoke.py sample_data/preds.csv    # check the bce installed for this Python
    python tools/smoke.py --wheel dist/bcecli-0.1.0-py3-none-any.whl [--venv DIR]

The first form is cibuildwheel's test-command: run with the Python of the environment the
wheel was installed in, from a folder that holds only this script and the CSV. It checks
that bcecli is imported from that environment and not from a source tree, that
`bce score CSV --format json` reports the log loss this script computes on its own from
the same CSV (label and prob columns, in plain Python), that `bce schema` prints the
packaged JSON Schema, and that the package's typing marker is installed.

The second form does what cibuildwheel does around it: a fresh virtual environment (in
DIR, or a temporary folder), the wheel installed there with its dependencies, this script
and the sample CSV copied to an empty temporary folder, and the first form run from there
with that environment's Python. The release workflow tests a pure-Python wheel with it on
every OS, and tests/test_dist.py a wheel built from the sdist.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample_data" / "preds.csv"
REL_TOL = 1e-12  # bce's mean is correctly rounded; a plain-Python mean of the same losses


class SmokeFailure(Exception):
    pass


def expected_log_loss(csv_path: Path) -> tuple[float, int]:
    """The mean log loss of the label and prob columns, and the row count, in plain Python
    (p clipped to [eps, 1 - eps] with eps the float64 machine epsilon, bce's default)."""
    eps = sys.float_info.epsilon
    losses = []
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            p = min(max(float(row["prob"]), eps), 1.0 - eps)
            losses.append(-math.log(p) if float(row["label"]) == 1.0 else -math.log1p(-p))
    return math.fsum(losses) / len(losses), len(losses)


def bce_command() -> Path:
    """The bce console script installed beside this Python (venv/bin or venv\\Scripts)."""
    name = "bce.exe" if sys.platform == "win32" else "bce"
    command = Path(sys.executable).parent / name
    if not command.is_file():
        raise SmokeFailure(f"no {name} beside {sys.executable}: is bcecli installed here?")
    return command


def run_bce(*args: str) -> str:
    done = subprocess.run(
        [str(bce_command()), *args], capture_output=True, text=True, encoding="utf-8", check=False
    )
    if done.returncode != 0:
        raise SmokeFailure(f"bce {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def check_installed(csv_path: Path) -> str:
    """Check the installed bce; return one line saying what was checked."""
    import bcecli

    location = Path(bcecli.__file__).resolve().parent
    prefix = Path(sys.prefix).resolve()
    if sys.prefix == sys.base_prefix:
        raise SmokeFailure(f"{sys.executable} is not a virtual environment's Python")
    if not location.is_relative_to(prefix) or "site-packages" not in location.parts:
        raise SmokeFailure(f"bcecli was imported from {location}, not from {prefix}")

    report = json.loads(run_bce("score", str(csv_path), "--format", "json"))
    expected, rows = expected_log_loss(csv_path)
    log_loss = report["metrics"]["log_loss"]
    if report["bce_version"] != bcecli.__version__:
        raise SmokeFailure(f"bce {report['bce_version']} ran, bcecli {bcecli.__version__} imports")
    if report["metrics"]["rows"] != rows or not math.isclose(log_loss, expected, rel_tol=REL_TOL):
        raise SmokeFailure(
            f"bce scored {report['metrics']['rows']} rows, log loss {log_loss!r}; "
            f"computed here: {rows} rows, log loss {expected!r}"
        )

    schema = json.loads(run_bce("schema"))
    if schema.get("$id") != "urn:bce:schema:bce.report-1":
        raise SmokeFailure("bce schema did not print the report's JSON Schema")
    if not files("bcecli").joinpath("py.typed").is_file():
        raise SmokeFailure("bcecli/py.typed is not installed")
    return (
        f"bce {bcecli.__version__} from {location}: log loss {log_loss!r} over {rows} rows "
        f"of {csv_path.name}, as computed here; bce schema and py.typed installed"
    )


def check_wheel(wheel: Path, venv_dir: Path | None) -> int:
    """Install ``wheel`` in a fresh virtual environment and run the check from there."""
    with tempfile.TemporaryDirectory(prefix="bce-smoke-") as temp:
        env_dir = venv_dir if venv_dir is not None else Path(temp) / "venv"
        if env_dir.exists():
            print(f"smoke test: {env_dir} exists; give a new folder", file=sys.stderr)
            return 2
        venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt").create(env_dir)
        bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
        python = bin_dir / ("python.exe" if sys.platform == "win32" else "python")
        # Nothing may point the new environment back at a source tree.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        install = [str(python), "-m", "pip", "install", "--quiet", str(wheel.resolve())]
        status = subprocess.call(install, env=env)
        if status != 0:
            return status
        # The layout cibuildwheel's test-sources make: this script and the CSV, nothing else.
        cwd = Path(temp) / "cwd"
        (cwd / "tools").mkdir(parents=True)
        (cwd / "sample_data").mkdir()
        shutil.copy(Path(__file__), cwd / "tools" / "smoke.py")
        shutil.copy(SAMPLE, cwd / "sample_data" / "preds.csv")
        check = [
            str(python),
            str(Path("tools") / "smoke.py"),
            str(Path("sample_data", "preds.csv")),
        ]
        return subprocess.call(check, cwd=cwd, env=env)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check an installed bce.")
    parser.add_argument("csv", nargs="?", type=Path, help="the sample CSV to score")
    parser.add_argument("--wheel", type=Path, help="install this wheel in a new venv first")
    parser.add_argument("--venv", type=Path, help="where to make that venv (default: temporary)")
    args = parser.parse_args(argv)
    if args.wheel is not None:
        return check_wheel(args.wheel, args.venv)
    if args.csv is None:
        parser.error("give the sample CSV, or --wheel")
    try:
        print(check_installed(args.csv), flush=True)
    except SmokeFailure as failure:
        print(f"smoke test failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
