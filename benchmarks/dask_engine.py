"""Time the Dask engine against the local engine on one machine, and check their reports.

    python benchmarks/dask_engine.py [--rows N] [--runs K] [--data-dir benchmarks/data]

Starts a ``distributed.LocalCluster`` of 2 worker processes with 1 thread each (in a
child process, which prints its address), then times whole ``bce score`` processes in
rounds that alternate the methods after one uncounted warm-up round:

- ``local``: ``python -m bcecli score FILE --format json``;
- ``dask``: the same with ``--engine dask --scheduler ADDRESS`` (a CSV file in byte
  ranges of 64 MiB, a Parquet file by row groups);
- ``dask, one task``: a CSV file again with ``BCE_DASK_SPLIT_BYTES`` past its size,
  which scores it in one task, as the Dask engine did before byte ranges.

Each file is the generated 10M-row CSV and Parquet (``gen_data.py``), scored plain and
with ``-w weight --by segment --calibration 10 --worst 10``. Prints a markdown table of
median wall seconds and the median per-round ratio to the local run, and exits 1 if a
Dask report differs from the local one by a byte. Imports only the standard library
(see run.py's docstring for why).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
BCE = (sys.executable, "-m", "bcecli")
WHOLE = str(1 << 62)  # BCE_DASK_SPLIT_BYTES past any file: one task per CSV file
MORE = ("-w", "weight", "--by", "segment", "--calibration", "10", "--worst", "10")
CLUSTER = """
import sys
from distributed import LocalCluster
with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
    print(c.scheduler_address, flush=True)
    sys.stdin.read()  # until the harness closes it
"""


@dataclass
class Method:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    walls: list[float] = field(default_factory=list)
    outputs: set[str] = field(default_factory=set)


def run(method: Method) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k != "BCE_DASK_SPLIT_BYTES"}
    env.update(method.env)
    start = time.perf_counter()
    done = subprocess.run(method.argv, capture_output=True, env=env, cwd=REPO_DIR, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{method.name} failed: {done.stderr.decode(errors='replace').strip()}")
    return wall, done.stdout.decode()


def compare(file: Path, extra: tuple[str, ...], scheduler: str, runs: int) -> list[Method]:
    score = (*BCE, "score", str(file), *extra, "--format", "json")
    dask = (*score, "--engine", "dask", "--scheduler", scheduler)
    methods = [Method("local", score), Method("dask", dask)]
    if file.suffix == ".csv":
        methods.append(Method("dask, one task", dask, {"BCE_DASK_SPLIT_BYTES": WHOLE}))
    for round_no in range(runs + 1):  # round 0 warms the page cache and the workers
        for method in methods:
            wall, output = run(method)
            method.outputs.add(output)
            if round_no:
                method.walls.append(wall)
        print(f"{file.name} {' '.join(extra)}: round {round_no}/{runs}", file=sys.stderr)
    return methods


def table(rows: list[tuple[str, list[Method]]]) -> tuple[str, bool]:
    lines = [
        "| run | method | wall s (median, min-max) | / local (median, min-max) | report |",
        "| --- | --- | --- | --- | --- |",
    ]
    same = True
    for label, methods in rows:
        local = methods[0]
        for method in methods:
            ratios = [a / b for a, b in zip(method.walls, local.walls)]
            identical = method.outputs == local.outputs and len(local.outputs) == 1
            same = same and identical
            lines.append(
                f"| {label} | {method.name} | {statistics.median(method.walls):.2f} "
                f"({min(method.walls):.2f}-{max(method.walls):.2f}) | "
                f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | "
                f"{'identical' if identical else 'DIFFERS'} |"
            )
    return "\n".join(lines), same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=BENCH_DIR / "data")
    args = parser.parse_args(argv)
    name = f"p{args.rows // 1_000_000}m" if args.rows % 1_000_000 == 0 else f"p{args.rows}"
    csv, parquet = args.data_dir / f"{name}.csv", args.data_dir / f"{name}.parquet"
    if not (csv.exists() and parquet.exists()):
        args.data_dir.mkdir(parents=True, exist_ok=True)
        generate = [sys.executable, str(BENCH_DIR / "gen_data.py"), "--rows", str(args.rows)]
        subprocess.run([*generate, str(csv), str(parquet)], check=True)
    cluster = subprocess.Popen(
        [sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert cluster.stdout is not None
        scheduler = cluster.stdout.readline().strip()
        rows = []
        for file in (csv, parquet):
            for extra in ((), MORE):
                label = f"`{file.name}{' ' + ' '.join(extra) if extra else ''}`"
                rows.append((label, compare(file, extra, scheduler, args.runs)))
    finally:
        assert cluster.stdin is not None
        cluster.stdin.close()
        cluster.wait(timeout=60)
    text, same = table(rows)
    print(text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
