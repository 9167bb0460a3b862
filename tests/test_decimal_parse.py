"""The C kernel's decimal parser (bce_decimal.c) against Python's float(), bit for bit.

parse_double(field) must give exactly float(field), or None: for anything outside the
shape [+-]?(digits[.digits*]|.digits)([eE][+-]?digits)?, and (rarely) for a number of
more than 19 significant digits whose first 19 do not decide the rounding. For 19 or
fewer significant digits it must always decide.
"""

from __future__ import annotations

import importlib.util
import math
import random
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bcecli._native import kernel

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "bcecli" / "_native"
TOOLS = ROOT / "tools"

needs_kernel = pytest.mark.skipif(kernel is None, reason="the C kernel is not built")

SHAPE = re.compile(rb"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def bits(value: float) -> int:
    return int.from_bytes(struct.pack("<d", value), "little")


def significant_digits(text: str) -> int:
    """Digits from the first nonzero one to the last nonzero one."""
    mantissa = re.split("[eE]", text)[0].lstrip("+-").replace(".", "")
    return len(mantissa.strip("0"))


class Outcome:
    def __init__(self) -> None:
        self.checked = 0
        self.wrong: list[tuple[str, float, float]] = []
        self.undecided: list[str] = []

    def short_undecided(self) -> list[str]:
        """Undecided texts of 19 or fewer significant digits: never allowed."""
        return [text for text in self.undecided if significant_digits(text) <= 19]


def check(texts: Iterable[str]) -> Outcome:
    """Every text (valid for float(), in the parser's shape) through parse_double."""
    assert kernel is not None
    parse = kernel.parse_double
    outcome = Outcome()
    for text in texts:
        got = parse(text.encode("ascii"))
        outcome.checked += 1
        if got is None:
            outcome.undecided.append(text)
            continue
        want = float(text)
        if got != want or math.copysign(1.0, got) != math.copysign(1.0, want):
            outcome.wrong.append((text, got, want))
    return outcome


def assert_all_decided(outcome: Outcome) -> None:
    assert outcome.wrong == []
    assert outcome.undecided == []


def assert_correct(outcome: Outcome, max_undecided_rate: float = 0.01) -> None:
    assert outcome.wrong == []
    assert outcome.short_undecided() == []
    assert len(outcome.undecided) <= max_undecided_rate * outcome.checked


def random_doubles(rng: random.Random, count: int) -> list[float]:
    """Finite doubles with uniformly random bits: every binade, subnormals included."""
    out: list[float] = []
    while len(out) < count:
        value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(value):
            out.append(value)
    return out


def exact_decimal(value: Fraction) -> str:
    """The exact decimal expansion of a dyadic rational (denominator a power of two)."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    k = value.denominator.bit_length() - 1
    assert value.denominator == 1 << k
    digits = str(value.numerator * 5**k).rjust(k + 1, "0")
    return f"{sign}{digits[: len(digits) - k]}.{digits[len(digits) - k :]}" if k else sign + digits


# --- fixed cases -------------------------------------------------------------------------

EDGES = [
    "0", "-0", "+0", "0.0", "-0.0", "00000", "0e999", "-0e999", "0e-99999", "0.e5", ".0",
    "1e-400", "-1e-400", "1e400", "-1e400", "1e310", "1e-350", "1e308", "1e-324",
    "1.7976931348623157e308", "-1.7976931348623157e308", "1.7976931348623158e308",
    "1.7976931348623158079e308", "1.797693134862315807937289714053e308",
    "1.7976931348623159e308", "179769313486231580793728971405303415079934132710037826936173"
    "778980444968292764750946649017977587207096330286416692887910946555547851940402630657488"
    "671505820681908902000708383676273854845817711531764475730270069855571366959622842914819"
    "860834936475292719074168444365510704342711559699508093042880177904174497791.9999999999",
    "2.2250738585072014e-308", "2.2250738585072011e-308", "2.2250738585072009e-308",
    "4.9406564584124654e-324", "5e-324", "2.4703282292062328e-324", "2.4703282292062327e-324",
    "2.47032822920623272088e-324", "7.4109846876186982e-324", "1e-323",
    "0.1", "0.2", "0.3", "0.7", "0.9999999999999999", "0.99999999999999999",
    "0.999999999999999944488848768742172978818416595458984375",
    "0.99999999999999994448884876874217297881841659545898437", "1.0000000000000002",
    "9007199254740992", "9007199254740993", "9007199254740994", "9007199254740995",
    "4503599627370496.5", "4503599627370497.5", "2251799813685248.25", "2251799813685248.75",
    "1125899906842624.125", "1125899906842624.375", "562949953421312.0625",
    "9007199254740993.0000000000000000000000001", "9007199254740992.9999999999999999999",
    "0.000000000000000000001234", "0000000000000000000000000000000000000001.5",
    "1.5000000000000000000000000000000000000000000", "123456789012345678901234567890",
    "1" + "0" * 400 + "e-400", "0." + "0" * 400 + "1e400", "." + "0" * 330 + "1",
    "1e-342", "1e-343", "9.9999999999999999999e-343", "1e308", "9.999999999999999e308",
    "1e+22", "1e23", "8.98846567431158e307", "1e00000000000000000000000000000000000000001",
    "1e-99999999999999999999999999999999", "1e99999999999999999999999999999999",
    "123.456e-3", "1.E5", "-.5e-1", "+1.5E+10", "3.14159265358979323846264338327950288",
]  # fmt: skip


@needs_kernel
def test_edge_cases() -> None:
    outcome = check(EDGES)
    assert outcome.wrong == []
    assert outcome.short_undecided() == []


@needs_kernel
def test_one_minus_two_to_the_minus_53_many_ways() -> None:
    value = Fraction(1) - Fraction(1, 2**53)
    exact = exact_decimal(value)
    texts = [exact, repr(float(value)), "9.99999999999999888977697537484345957636833190918e-1"]
    texts += [f"{float(value):.{n}e}" for n in range(0, 21)]
    texts += [f"{float(value):.{n}f}" for n in range(0, 25)]
    texts += [exact[:n] for n in range(3, len(exact) + 1)]
    assert_correct(check(texts), max_undecided_rate=0.5)


REJECTS = [
    b"", b"+", b"-", b".", b"+.", b"e5", b".e5", b"1e", b"1e+", b"1e-", b"1.2.3", b" 1", b"1 ",
    b"1_0", b"1_000.5", b"0x10", b"inf", b"-inf", b"nan", b"infinity", b"1e5.5", b"--1",
    b"+-1", b"1f", b"1d", b"1,5", "\u0661".encode(), "1\u0661".encode(), b"1\x00", b"\x001",
    b"1\x002", b"\t1", b"1\n", b"e", b"E", b"1ee5", b"1e5e5", b"0b1", b"1.5e+-3",
]  # fmt: skip


@needs_kernel
@pytest.mark.parametrize("field", REJECTS)
def test_rejects(field: bytes) -> None:
    assert kernel is not None
    assert kernel.parse_double(field) is None


# --- generated cases -----------------------------------------------------------------------


@needs_kernel
def test_random_doubles_printed_every_way() -> None:
    rng = random.Random(1)
    values = random_doubles(rng, 100_000)
    texts = [repr(v) for v in values]
    for n in range(0, 21):
        texts += [f"{v:.{n}e}" for v in values[n * 4000 : n * 4000 + 30_000]]
    moderate = [rng.uniform(-1, 1) * 10.0 ** rng.randrange(-30, 30) for _ in range(20_000)]
    for n in range(0, 40, 3):
        texts += [f"{v:.{n}f}" for v in moderate]
    outcome = check(texts)
    assert len(texts) > 500_000
    assert_correct(outcome)


@needs_kernel
def test_probabilities_as_a_csv_writes_them() -> None:
    rng = random.Random(2)
    values = [rng.random() for _ in range(100_000)]
    texts = [repr(v) for v in values] + [f"{v:.2f}" for v in values]
    texts += [f"{v:.6g}" for v in values] + [str(np.float32(v)) for v in values[:20_000]]
    assert_all_decided(check(texts))


def random_digit_text(rng: random.Random, digits: int, exponent: int) -> str:
    """`digits` significant digits, the point somewhere, padding zeros, an exponent."""
    body = str(rng.randrange(10 ** (digits - 1), 10**digits))
    form = rng.randrange(6)
    if form == 0:
        text = f"{body[0]}.{body[1:]}e{exponent}"
    elif form == 1:
        point = rng.randrange(len(body) + 1)
        text = f"{body[:point]}.{body[point:]}E{exponent:+d}"
    elif form == 2:
        text = f"0.{'0' * rng.randrange(30)}{body}e{exponent}"
    elif form == 3:
        text = f"{'0' * rng.randrange(1, 5)}{body}{'0' * rng.randrange(30)}e{exponent}"
    elif form == 4:
        text = f"{body}.{'0' * rng.randrange(30)}e{exponent}"
    else:
        text = f"{body}e{exponent}"
    return ("-" if rng.random() < 0.3 else "") + text


@needs_kernel
def test_random_digit_strings_every_exponent() -> None:
    rng = random.Random(3)
    texts = [
        random_digit_text(rng, rng.randrange(1, 26), rng.randrange(-350, 311))
        for _ in range(300_000)
    ]
    outcome = check(texts)
    assert_correct(outcome)


@needs_kernel
def test_random_digit_strings_near_the_ends_of_the_range() -> None:
    rng = random.Random(4)
    texts = []
    for _ in range(100_000):
        digits = rng.randrange(1, 22)
        if rng.random() < 0.5:
            exponent = rng.randrange(-345, -300) - digits + 1  # subnormals, underflow
        else:
            exponent = rng.randrange(300, 312) - digits + 1  # near DBL_MAX, overflow
        texts.append(random_digit_text(rng, digits, exponent))
    assert_correct(check(texts))


def midpoints(values: Iterable[float]) -> list[Fraction]:
    out = []
    for value in values:
        value = abs(value)
        upper = math.nextafter(value, math.inf)
        if math.isinf(upper):  # halfway from DBL_MAX to the next power of two
            out.append(Fraction(value) + (Fraction(2) ** 1024 - Fraction(value)) / 2)
        else:
            out.append((Fraction(value) + Fraction(upper)) / 2)
    return out


@needs_kernel
def test_exact_halfway_cases_and_their_neighbours() -> None:
    rng = random.Random(5)
    values = random_doubles(rng, 6_000) + [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]
    values += [float(2**e) for e in range(-1074, 1024, 7)]
    texts = []
    for middle in midpoints(values):
        exact = exact_decimal(middle)
        texts.append(exact)
        # one unit in the last printed digit either side
        whole, _, fraction = exact.partition(".")
        for delta in (-1, 1):
            digits = str(int(whole + fraction) + delta).rjust(len(fraction) + 1, "0")
            cut = len(digits) - len(fraction)
            texts.append(f"{digits[:cut]}.{digits[cut:]}" if fraction else digits)
        # and rounded to 17..25 significant digits
        mantissa = f"{int(middle.numerator * 10**40 // middle.denominator)}"
        for n in (17, 18, 19, 20, 25):
            exponent = len(mantissa) - 41
            texts.append(f"{mantissa[0]}.{mantissa[1:n]}e{exponent}")
    outcome = check(texts)
    assert outcome.wrong == []
    assert outcome.short_undecided() == []


@needs_kernel
def test_halfway_cases_of_at_most_19_digits_are_all_decided() -> None:
    """The ties that fit in 19 digits: odd 54-bit integers times 2^k, k in [-4, 11]."""
    rng = random.Random(6)
    texts = []
    for _ in range(60_000):
        odd = rng.randrange(2**53, 2**54) | 1
        k = rng.randrange(-4, 12)
        middle = Fraction(odd) * Fraction(2) ** k
        exact = exact_decimal(middle)
        if significant_digits(exact) <= 19:
            texts.append(exact)
            texts.append(exact.rstrip("0").rstrip(".") + "000")
            digits = exact.replace(".", "").lstrip("0")
            point = len(exact.split(".")[0].lstrip("0"))
            texts.append(f"0.{digits}e{point}")
    assert len(texts) > 100_000
    assert_all_decided(check(texts))


@needs_kernel
@pytest.mark.parametrize("digits", [17, 18, 19, 20])
def test_undecided_rate(digits: int) -> None:
    """Never for <= 19 digits; for 20, the rare w / w+1 disagreement (rate printed)."""
    rng = random.Random(digits)
    texts = [random_digit_text(rng, digits, rng.randrange(-330, 300)) for _ in range(50_000)]
    outcome = check(texts)
    rate = len(outcome.undecided) / outcome.checked
    print(f"{digits} digits: {len(outcome.undecided)} / {outcome.checked} undecided ({rate:.4%})")
    assert outcome.wrong == []
    if digits <= 19:
        assert outcome.undecided == []
    else:
        assert rate < 0.01


# --- Hypothesis ----------------------------------------------------------------------------


def float_or_none(field: bytes) -> float | None:
    try:
        return float(field)
    except ValueError:
        return None


@needs_kernel
@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=40) | st.text(alphabet="0123456789+-.eE_ x", max_size=30).map(str.encode))
def test_arbitrary_bytes(field: bytes) -> None:
    assert kernel is not None
    got = kernel.parse_double(field)
    if SHAPE.fullmatch(field):
        want = float(field)
        if got is None:
            assert significant_digits(field.decode()) > 19
        else:
            assert bits(got) == bits(want)
    else:
        assert got is None


@needs_kernel
@settings(max_examples=3000, deadline=None)
@given(st.from_regex(SHAPE, fullmatch=True))
def test_texts_of_the_shape(field: bytes) -> None:
    assert kernel is not None
    got = kernel.parse_double(field)
    want = float(field)
    if got is None:
        assert significant_digits(field.decode()) > 19
    else:
        assert bits(got) == bits(want)


@needs_kernel
@settings(max_examples=3000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(0, 25))
def test_floats_printed(value: float, digits: int) -> None:
    assert_correct(check([repr(value), f"{value:.{digits}e}"]), max_undecided_rate=0.5)


# --- the table, the scalar multiply, the sanitizers -----------------------------------------


def load_generator() -> object:
    spec = importlib.util.spec_from_file_location("bce_gen_pow5", TOOLS / "gen_pow5_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_table_is_the_generators_output() -> None:
    generator = load_generator()
    text = generator.render()  # type: ignore[attr-defined]
    assert (NATIVE / "bce_pow5.h").read_text(encoding="utf-8") == text


def test_table_entries_bracket_the_powers_of_five() -> None:
    generator = load_generator()
    for q in list(range(-342, -300)) + list(range(-30, 60)) + list(range(290, 309)):
        table, exponent = generator.power(q)  # type: ignore[attr-defined]
        exact = Fraction(5) ** q / Fraction(2) ** exponent
        assert table <= exact < table + 1
        assert 2**127 <= table < 2**128


DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bce_decimal.c"
/* Each line of stdin is a field, copied into a buffer of exactly its length (so the
 * sanitizer sees any read past it); prints the bits in hex, or "none". */
int main(void) {
    static char line[100000];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\n");
        char *field = malloc(n ? n : 1);
        memcpy(field, line, n);
        double value;
        uint64_t b;
        if (bce_parse_double(field, n, &value)) {
            memcpy(&b, &value, sizeof b);
            printf("%016llx\n", (unsigned long long)b);
        } else {
            puts("none");
        }
        free(field);
    }
    return 0;
}
"""


def compile_driver(tmp_path: Path, flags: list[str]) -> Path:
    compiler = shutil.which("gcc") or shutil.which("clang") or shutil.which("cc")
    if compiler is None or sys.platform == "win32":
        pytest.skip("no C compiler")
    source = tmp_path / "driver.c"
    source.write_text(DRIVER, encoding="utf-8")
    program = tmp_path / "driver"
    strict = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-ffp-contract=off"]
    command = [compiler, *strict, *flags, f"-I{NATIVE}", str(source), "-o", str(program)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 and "-fsanitize" in " ".join(flags):
        if "sanitize" in result.stderr or "asan" in result.stderr:
            pytest.skip(f"no sanitizer runtime: {result.stderr[:200]}")
    assert result.returncode == 0, result.stderr
    return program


MIDPOINTS_IN_DRIVER = 1000  # exact ties of many digits: mostly undecided, rightly


def driver_texts() -> list[str]:
    rng = random.Random(7)
    values = random_doubles(rng, 8_000)
    texts = [repr(v) for v in values] + [f"{v:.{len(repr(v)) % 21}e}" for v in values]
    for _ in range(16_000):
        texts.append(random_digit_text(rng, rng.randrange(1, 26), rng.randrange(-350, 311)))
    texts += [exact_decimal(m) for m in midpoints(values[:MIDPOINTS_IN_DRIVER])]
    texts += EDGES + [field.decode("utf-8") for field in REJECTS if b"\n" not in field]
    return [t for t in texts if "\n" not in t and "\x00" not in t]


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(["-O2", "-DBCE_NO_INT128"], id="scalar-multiply"),
        pytest.param(["-O2"], id="int128"),
        pytest.param(
            ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"],
            id="sanitized-int128",
        ),
        pytest.param(
            [
                "-O1",
                "-g",
                "-DBCE_NO_INT128",
                "-fsanitize=address,undefined",
                "-fno-sanitize-recover=all",
            ],
            id="sanitized-scalar",
        ),  # fmt: skip
    ],
)
def test_standalone_build(tmp_path: Path, flags: list[str]) -> None:
    """bce_decimal.c on its own, strict C11, each multiply path, under the sanitizers."""
    program = compile_driver(tmp_path, flags)
    texts = driver_texts()
    result = subprocess.run(
        [str(program)], input="\n".join(texts) + "\n", capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == len(texts)
    undecided = 0
    for text, line in zip(texts, lines):
        if line == "none":
            valid = SHAPE.fullmatch(text.encode("utf-8")) is not None
            assert not valid or significant_digits(text) > 19, text
            undecided += valid
        else:
            assert int(line, 16) == bits(float(text)), text
    assert undecided <= 0.01 * len(texts) + MIDPOINTS_IN_DRIVER


def test_fuzzer_briefly() -> None:
    """tools/fuzz.py: libFuzzer with ASan and UBSan against strtod, for a few seconds."""
    if shutil.which("clang") is None:
        pytest.skip("no clang: the fuzzer needs libFuzzer")
    result = subprocess.run(
        [sys.executable, str(TOOLS / "fuzz.py"), "10", "--target", "decimal"],
        capture_output=True,
        text=True,
    )
    if result.returncode == 77:
        pytest.skip(result.stderr[-500:])
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
