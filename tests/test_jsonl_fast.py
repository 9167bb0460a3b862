"""JSON Lines blocks read by pyarrow (``bcecli.io.jsonl_arrow``) give exactly what the
line-by-line parse gives: the same typed columns, reports, rows, line numbers and errors.

Each comparison runs twice in one process, with the pyarrow path on and switched off
(``jsonl_arrow.ENABLED``), and counts the blocks pyarrow took, so a path that always
fell back would fail here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bcecli.errors import InputError
from bcecli.io import jsonl_arrow, jsonl_reader
from bcecli.io.jsonl_reader import JsonlReader
from bcecli.io.sources import Source


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each block the pyarrow path was asked for: True where it read it."""
    calls: list[bool] = []
    real = jsonl_arrow.ArrowBlocks.parse

    def counting(self: jsonl_arrow.ArrowBlocks, block: bytes, lines_before: int) -> Any:
        result = real(self, block, lines_before)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(jsonl_arrow.ArrowBlocks, "parse", counting)
    return calls


def described(table: Any) -> list[tuple[str, str, list[str]]]:
    """A table as (name, type, values by repr): -0.0 and 0.0, 1 and 1.0 differ."""
    return [
        (name, str(column.type), [repr(value) for value in column.to_pylist()])
        for name, column in zip(table.column_names, table.columns, strict=True)
    ]


def read(
    path: Path,
    columns: Sequence[str],
    floats: Sequence[str] = (),
    texts: Sequence[str] = (),
    *,
    fast: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """The reader's chunks as (first row, columns), or the error it raised."""
    with monkeypatch.context() as patch:
        patch.setattr(jsonl_arrow, "ENABLED", fast)
        try:
            reader = JsonlReader(Source(str(path), "jsonl"))
        except InputError as error:
            return str(error)
        try:
            return [
                (chunk.first_row, described(chunk.table))
                for chunk in reader.chunks(list(columns), 1 << 20, floats, texts)
            ]
        except InputError as error:
            return str(error)
        finally:
            reader.close()


def both_ways(
    monkeypatch: pytest.MonkeyPatch, path: Path, columns: Sequence[str], *types: Sequence[str]
) -> Any:
    fast = read(path, columns, *types, fast=True, monkeypatch=monkeypatch)
    slow = read(path, columns, *types, fast=False, monkeypatch=monkeypatch)
    assert fast == slow
    return fast


# -- numbers: every spelling, as each kind of column -----------------------------------

NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(0, 1).map(lambda x: f"{x:.17e}"),
    st.floats(0, 1).map(lambda x: f"{x:.20f}"),
    st.from_regex(r"-?(0|[1-9][0-9]{0,21})(\.[0-9]{1,21})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.integers(-(2**70), 2**70).map(str),
    st.integers(2**53 - 3, 2**53 + 3).map(str),
    st.sampled_from(["0", "-0", "1", "1.0", "0.0", "-0.0", "1e0", "1E+2", "9223372036854775807"]),
    st.sampled_from(["-9223372036854775808", "9223372036854775808", "999999999999999999"]),
    st.sampled_from(["1000000000000000000", "0.1", "0.10", "1e-320", "2.2250738585072011e-308"]),
)
VALUES = st.one_of(
    NUMBERS,
    NUMBERS.map(json.dumps),  # a number in a string
    st.sampled_from(["true", "false", "null", '"true"', '"1"', '" 0.5 "', '"x"', '"é\\n"']),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    numbers=st.lists(NUMBERS, min_size=1, max_size=12),
    kind=st.sampled_from(["float", "text", "infer"]),
)
def test_numbers_are_the_numbers_their_digits_give(
    numbers: list[str], kind: str, tmp_path_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path_factory.mktemp("n") / "x.jsonl"
    path.write_text("".join(f'{{"v": {number}, "w": 1}}\n' for number in numbers))
    types = {"float": (["v"], []), "text": ([], ["v"]), "infer": ([], [])}[kind]
    both_ways(monkeypatch, path, ["v"], *types)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    blocks=st.lists(st.lists(VALUES, min_size=1, max_size=6), min_size=1, max_size=4),
    kind=st.sampled_from(["float", "text", "infer"]),
)
def test_types_may_differ_between_blocks(
    blocks: list[list[str]],
    kind: str,
    tmp_path_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each list a block of its own (a block is at least a line): what pyarrow learnt
    from one block must not change what the next gives."""
    monkeypatch.setattr(jsonl_reader, "BLOCK_BYTES", 1)
    path = tmp_path_factory.mktemp("b") / "x.jsonl"
    path.write_text("".join(f'{{"v": {value}}}\n' for block in blocks for value in block))
    types = {"float": (["v"], []), "text": ([], ["v"]), "infer": ([], [])}[kind]
    both_ways(monkeypatch, path, ["v"], *types)


def test_a_column_of_numbers_is_read_by_pyarrow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: list[bool]
) -> None:
    path = tmp_path / "x.jsonl"
    lines = ["0.1", "1e-5", "12345678901234567890", "0.30000000000000004", "-0.0", "1"]
    path.write_text("".join(f'{{"p": {value}, "y": 1}}\n' for value in lines))
    chunks = both_ways(monkeypatch, path, ["p", "y"], ["p"])
    assert chunks[0][1][0][2] == [
        "0.1",
        "1e-05",
        "1.2345678901234567e+19",
        "0.30000000000000004",
        "-0.0",
        "1.0",
    ]
    assert taken == [True]


# -- whole files: reports, rows and errors ----------------------------------------------

KEYS = {
    "label": ['"label"', '"l\\u0061bel"'],
    "prob": ['"prob"', '"pr\\u006fb"'],
}
LABELS = ["0", "1", "1.0", "0.0", "true", "false", '"1"', '"0"', "null", '"yes"', "2"]
SEGMENTS = ['"a"', '"b\\"q"', '"\\u00e9t\\u00e9"', '"tab\\tin"', "7", "null", '"a,b"']


@st.composite
def jsonl_files(draw: st.DrawFn) -> tuple[str, bool]:
    """A file, and whether it is plain: one type per field (spellings, escaped keys,
    blank lines and unicode keys vary), which pyarrow must read whole. The others mix
    types in a field, repeat keys, write -0 and invalid values."""
    plain = draw(st.booleans())
    labels = ["0", "1"] if plain else LABELS
    probs = [st.floats(0.001, 0.999).map(repr), st.floats(0.001, 0.999).map(lambda x: f"{x:.19e}")]
    if not plain:
        probs.append(st.floats(0.001, 0.999).map(lambda x: json.dumps(repr(x))))
        probs.append(st.sampled_from(["0", "1", "0.5", "null", "true", "1.5"]))
    segments = SEGMENTS[:4] if plain else SEGMENTS
    ids = ["{number}"] if plain else ["{number}", '"r{number}"', "-0"]
    # Passed through by bce rows as the text they were: a list, or a float (its digits
    # are not in pyarrow's column), goes line by line.
    extras = ['"ключ": 1'] if plain else ['"ключ": 1', '"n": [1, {"a": null}]', '"big": 1.5e300']
    lines = []
    for number in range(draw(st.integers(1, 30))):
        prob = draw(st.one_of(probs))
        fields = [
            f"{draw(st.sampled_from(KEYS['label']))}: {draw(st.sampled_from(labels))}",
            f"{draw(st.sampled_from(KEYS['prob']))}: {prob}",
            f'"id": {draw(st.sampled_from(ids)).format(number=number)}',
            f'"seg": {draw(st.sampled_from(segments))}',
            f'"scores": {{"churn": {draw(st.floats(0.01, 0.99).map(repr))}, "x": "y"}}',
            draw(st.sampled_from(extras)),
        ]
        if not plain and draw(st.integers(0, 9)) == 0:
            fields.append(f'"prob": {prob}')  # a key twice: the last one holds
        lines.append("{" + ", ".join(draw(st.permutations(fields))) + "}")
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "\t\r"])))
    return "\n".join(lines) + "\n", plain


def run_both(bce: Any, monkeypatch: pytest.MonkeyPatch, *args: Any) -> tuple[Any, Any]:
    fast = bce(*args)
    with monkeypatch.context() as patch:
        patch.setattr(jsonl_arrow, "ENABLED", False)
        slow = bce(*args)
    return fast, slow


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(file=jsonl_files(), block=st.integers(1, 600))
def test_reports_and_rows_are_the_line_by_line_ones(
    file: tuple[str, bool],
    block: int,
    bce: Any,
    tmp_path_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    taken: list[bool],
) -> None:
    text, plain = file
    monkeypatch.setattr(jsonl_reader, "BLOCK_BYTES", block)
    path = tmp_path_factory.mktemp("f") / "x.jsonl"
    path.write_text(text, encoding="utf-8")
    score = ("score", path, "-p", "prob", "-p", "scores.churn", "--by", "seg", "--keep", "id")
    taken.clear()
    fast, slow = run_both(bce, monkeypatch, *score, "--worst", "3", "--format", "json")
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)
    assert all(taken) if plain else True, taken
    rows = ("rows", path, "-p", "prob", "-p", "scores.churn", "--on-invalid", "skip")
    fast, slow = run_both(bce, monkeypatch, *rows)
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout, slow.stderr)
    assert taken and (all(taken) if plain else True), taken


# -- what pyarrow takes, and what it leaves to the line-by-line parse -------------------

PLAIN = '{"label": 1, "prob": 0.25, "seg": "a"}'


def lines_of(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


TAKEN = {
    "plain": lines_of(PLAIN, '{"label": 0, "prob": 0.75, "seg": "b"}'),
    "blank lines": lines_of("", PLAIN, "  ", "\t", PLAIN, "", "", PLAIN),
    "nested": lines_of(
        '{"label": 1, "s": {"p": 0.25, "q": [1]}, "seg": "a"}', '{"label": 0, "s": null}'
    ),
    "unicode and escaped keys": lines_of(
        '{"l\\u0061bel": 1, "prob": 0.5, "seg": "\\u00e9", "ключ": 2}'
    ),
    "escaped strings": lines_of('{"label": "1", "prob": "0.5", "seg": "a\\"b\\\\c\\n"}'),
    "big integers": lines_of(
        '{"label": 123456789012345678901, "prob": 9007199254740993, "seg": 9007199254740993}',
        '{"label": 1234567890123456789, "prob": -9223372036854775808, "seg": 1}',
    ),
    "duplicate keys elsewhere": lines_of('{"label": 1, "prob": 0.5, "x": 1, "x": 2, "seg": "a"}'),
    "no final line end": '{"label": 1, "prob": 0.5, "seg": "a"}',
}
LEFT = {
    "duplicate wanted key": lines_of('{"label": 1, "prob": 0.5, "prob": 0.25, "seg": "a"}'),
    "two objects on a line": lines_of(PLAIN, '{"label": 1, "prob": 0.5} {"seg": "b"}'),
    "an object over two lines": lines_of('{"label": 1, "prob":', '0.5, "seg": "a"}'),
    "Inf elsewhere": lines_of('{"label": 1, "prob": 0.5, "seg": "a", "x": Inf}'),
    "-NaN elsewhere": lines_of('{"label": 1, "prob": 0.5, "seg": "a", "x": -NaN}'),
    "NaN": lines_of('{"label": 1, "prob": NaN, "seg": "a"}'),
    "a lone surrogate": lines_of('{"label": 1, "prob": 0.5, "seg": "\\ud800"}'),
    "deep nesting": lines_of(
        '{"label": 1, "prob": 0.5, "seg": "a", "x": ' + "[" * 3000 + "]" * 3000 + "}"
    ),
    "an array line": lines_of(PLAIN, "[1, 2]"),
    "a bare value": lines_of(PLAIN, "5"),
    "not JSON": lines_of(PLAIN, '{"label": 1, "prob": 0.5,}'),
    "a form feed line": lines_of(PLAIN, "\x0c", PLAIN),
    "a float as text": lines_of('{"label": 1, "prob": 0.5, "seg": 0.10}'),
    "a -0 as text": lines_of('{"label": 1, "prob": 0.5, "seg": -0}'),
    "an array value": lines_of('{"label": 1, "prob": 0.5, "seg": [1, {"a": 2}]}'),
    "types mixed in a block": lines_of(PLAIN, '{"label": 1, "prob": "0.5", "seg": "a"}'),
    "not UTF-8": PLAIN + '\n{"label": 1, "prob": 0.5, "seg": "\xe9"}\n',
}


@pytest.mark.parametrize("name", sorted(TAKEN))
def test_pyarrow_takes(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: list[bool]
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(TAKEN[name], encoding="utf-8")
    reader = JsonlReader(Source(str(path), "jsonl"))
    columns = [name for name in reader.column_names if name in ("label", "prob", "s.p", "seg")]
    reader.close()
    both_ways(monkeypatch, path, columns, ["prob", "s.p"], ["seg"])
    assert taken and all(taken), taken


@pytest.mark.parametrize("name", sorted(LEFT))
def test_pyarrow_leaves_to_the_line_by_line_parse(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: list[bool]
) -> None:
    path = tmp_path / "x.jsonl"
    encoding = "latin-1" if name == "not UTF-8" else "utf-8"
    path.write_text(LEFT[name], encoding=encoding, newline="")
    both_ways(monkeypatch, path, ["label", "prob", "seg"], ["prob"], ["seg"])
    assert False in taken or not taken, taken


def test_a_bad_line_after_good_blocks_is_named_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: list[bool]
) -> None:
    """Past the first lines, which are read to find the columns."""
    monkeypatch.setattr(jsonl_reader, "BLOCK_BYTES", 4096)
    path = tmp_path / "x.jsonl"
    path.write_text(lines_of(*[PLAIN] * 2000, "", '{"label": 1, "prob": 0.5, "seg": tru}', PLAIN))
    error = both_ways(monkeypatch, path, ["label", "prob", "seg"], ["prob"], ["seg"])
    assert "line 2002 is not JSON" in error
    assert taken.count(True) >= 10
