"""Fuzz the decimal parser: build tools/fuzz_decimal.c with libFuzzer, ASan and UBSan, run it.

    python tools/fuzz.py [SECONDS]     # default 30

Needs clang (Debian: apt-get install clang). Exits 0 when the run ends without a crash,
a sanitizer report or a mismatch against strtod; 1 when it found one (the input is left
in the work folder, printed at the end); 77 when clang or libFuzzer is not available.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "bcecli" / "_native"
TARGET = ROOT / "tools" / "fuzz_decimal.c"
SKIP = 77

SEEDS = [
    "0", "-0", "0.1", "1e-400", "1e400", "1.7976931348623157e308", "2.4703282292062328e-324",
    "4503599627370496.5", "9007199254740993", "0.000000000000000000001234", ".5", "1.e5",
    "123456789012345678901234567890e-10", "0.99999999999999994448884876874217297881841659545898",
    "2.2250738585072011e-308", "+1.5E+10", "1e99999999999999999999999", "7.4109846876186982e-324",
]  # fmt: skip

DICTIONARY = ['"e"', '"E"', '"."', '"+"', '"-"', '"e-"', '"e+"', '"308"', '"324"', '"0000"']


def build(work: Path) -> Path | None:
    clang = shutil.which("clang")
    if clang is None:
        print("no clang: cannot build the libFuzzer target", file=sys.stderr)
        return None
    binary = work / "fuzz_decimal"
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
        str(TARGET),
        str(NATIVE / "bce_decimal.c"),
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


def main(argv: list[str]) -> int:
    seconds = int(argv[1]) if len(argv) > 1 else 30
    work = Path(tempfile.mkdtemp(prefix="bce-fuzz-"))
    binary = build(work)
    if binary is None:
        return SKIP
    corpus = work / "corpus"
    corpus.mkdir()
    for number, seed in enumerate(SEEDS):
        (corpus / f"seed{number}").write_text(seed, encoding="ascii")
    dictionary = work / "decimal.dict"
    dictionary.write_text("\n".join(DICTIONARY) + "\n", encoding="ascii")
    command = [
        str(binary),
        str(corpus),
        f"-max_total_time={seconds}",
        "-max_len=400",
        f"-dict={dictionary}",
        f"-artifact_prefix={work}/",
        "-print_final_stats=1",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    stats = [line for line in result.stderr.splitlines() if line.startswith("stat::")]
    print("\n".join(stats))
    if result.returncode != 0:
        print(result.stderr[-4000:], file=sys.stderr)
        print(f"fuzzer failed (exit {result.returncode}); artifacts in {work}", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
