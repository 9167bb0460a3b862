"""Fuzz the kernel's parsers: build libFuzzer targets with ASan and UBSan and run them.

    python tools/fuzz.py [SECONDS] [--target decimal|scan]   # default 30, both targets

``decimal`` (tools/fuzz_decimal.c) checks the decimal parser against strtod; ``scan``
(tools/fuzz_scan.c) checks the CSV block scanner against a plain reference. Without
--target both run, each for half the time.

Needs clang (Debian: apt-get install clang). Exits 0 when every run ends without a
crash, a sanitizer report or a mismatch against its reference; 1 when one found one (the
input is left in the work folder, printed at the end); 77 when clang or libFuzzer is
not available.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "bcecli" / "_native"
TOOLS = ROOT / "tools"
SKIP = 77


@dataclass(frozen=True)
class Target:
    harness: Path
    sources: tuple[str, ...]  # kernel files under bcecli/_native
    seeds: tuple[bytes, ...]
    dictionary: tuple[str, ...]
    max_len: int


DECIMAL_SEEDS = [
    "0", "-0", "0.1", "1e-400", "1e400", "1.7976931348623157e308", "2.4703282292062328e-324",
    "4503599627370496.5", "9007199254740993", "0.000000000000000000001234", ".5", "1.e5",
    "123456789012345678901234567890e-10", "0.99999999999999994448884876874217297881841659545898",
    "2.2250738585072011e-308", "+1.5E+10", "1e99999999999999999999999", "7.4109846876186982e-324",
]  # fmt: skip

# A scan input: six config bytes (tools/fuzz_scan.c), then the block.
SCAN_SEEDS = [
    b"\x00\x02\x00\x00\x00\x00" + b"1,0.5\n0,0.25\n",
    b"\x08\x02\x00\x05\x00\x00" + b"0.5,1,2\r\n0.1,0,0\r\n\r\n1e-3,1.0,3.5",
    b"\x05\x05\x01\x07\x01\x00" + b"a;1;-3.5;2e1;x\n\nb;0;0.0;-.5;y\n",
    b"\x02\x03\x02\x11\x00\x00" + b"1\t0.25\t.75\t1.\n0\t0\t1\t0.5\n",
    b"\x1b\x07\x00\x33\x01\x02" + b"1|0.9|1|x|y||z\n0|0.1|0|||w|\n",
    b"\x00\x02\x00\x00\x00\x00" + b'1,"0.5"\n0,0.5\r1,0.5\n',
    b"\x00\x03\x00\x00\x00\x00" + b"1,0.5,x\n1,0.5\n1,0.5,x,y\n",
]

SCAN_DICTIONARY = (
    '","', '";"', '"\\x09"', '"|"', '"\\x0a"', '"\\x0d\\x0a"', '"\\x0d"', '"\\x22"',
    '"0"', '"1"', '"0.5"', '"1e-3"', '"-"', '"+"', '"."', '"e"', '"E+"', '"1.0"',
    '"nan"', '"inf"', '"1e400"', '"0.9999999999999999999999"',
)  # fmt: skip

TARGETS = {
    "decimal": Target(
        TOOLS / "fuzz_decimal.c",
        ("bce_decimal.c",),
        tuple(seed.encode("ascii") for seed in DECIMAL_SEEDS),
        ('"e"', '"E"', '"."', '"+"', '"-"', '"e-"', '"e+"', '"308"', '"324"', '"0000"'),
        400,
    ),
    "scan": Target(
        TOOLS / "fuzz_scan.c",
        ("bce_scan.c", "bce_decimal.c", "bce_math.c"),
        tuple(SCAN_SEEDS),
        SCAN_DICTIONARY,
        4096,
    ),
}


def build(name: str, target: Target, work: Path) -> Path | None:
    clang = shutil.which("clang")
    if clang is None:
        print("no clang: cannot build the libFuzzer target", file=sys.stderr)
        return None
    binary = work / f"fuzz_{name}"
    command = [
        clang,
        "-std=c11",
        "-O1",
        "-g",
        "-ffp-contract=off",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fsanitize=fuzzer,address,undefined",
        "-fno-sanitize-recover=all",
        f"-I{NATIVE}",
        str(target.harness),
        *(str(NATIVE / source) for source in target.sources),
        "-o",
        str(binary),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        if "libclang_rt" in result.stderr or "cannot find" in result.stderr:
            return None  # clang without its fuzzer runtime
        raise SystemExit(1)
    return binary


def run(name: str, seconds: int) -> int:
    """Build and run one target for ``seconds``: 0, 1 or SKIP as the module says."""
    target = TARGETS[name]
    work = Path(tempfile.mkdtemp(prefix=f"bce-fuzz-{name}-"))
    binary = build(name, target, work)
    if binary is None:
        shutil.rmtree(work, ignore_errors=True)
        return SKIP
    corpus = work / "corpus"
    corpus.mkdir()
    for number, seed in enumerate(target.seeds):
        (corpus / f"seed{number}").write_bytes(seed)
    dictionary = work / f"{name}.dict"
    dictionary.write_text("\n".join(target.dictionary) + "\n", encoding="ascii")
    command = [
        str(binary),
        str(corpus),
        f"-max_total_time={seconds}",
        f"-max_len={target.max_len}",
        f"-dict={dictionary}",
        f"-artifact_prefix={work}/",
        "-print_final_stats=1",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    stats = [line for line in result.stderr.splitlines() if line.startswith("stat::")]
    print(f"[{name}] {seconds} s")
    print("\n".join(stats))
    if result.returncode != 0:
        print(result.stderr[-4000:], file=sys.stderr)
        failed = f"fuzzer {name} failed (exit {result.returncode}); artifacts in {work}"
        print(failed, file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Fuzz the kernel's parsers with libFuzzer.")
    parser.add_argument("seconds", nargs="?", type=int, default=30)
    parser.add_argument("--target", choices=sorted(TARGETS), default=None)
    options = parser.parse_args(argv[1:])
    names = [options.target] if options.target else list(TARGETS)
    share = max(1, options.seconds // len(names))
    outcomes = [run(name, share) for name in names]
    if 1 in outcomes:
        return 1
    return SKIP if SKIP in outcomes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
