"""What users read speaks of the product only: every --help text, the JSON Schema that
`bce schema` prints, and the docstrings shipped in the package cite no document users
never see (the SPEC and its sections), no issue and no test or CI file."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bcecli.cli.main import cli

from conftest import ROOT

# Internal references: the SPEC (by name or by its numbered sections), an issue number,
# the repository's test, CI and docs folders.
INTERNAL = re.compile(
    r"\bSPEC\b|\bsection \d|\bissue[ -]?#?\d|\btests?/|\.ci/|\bdocs/", re.IGNORECASE
)

# The group and each of its commands, found from the group so a new command is covered.
HELP_ARGS = [("--help",), *((name, "--help") for name in sorted(cli.commands))]


def test_every_command_is_covered() -> None:
    assert {args[0] for args in HELP_ARGS[1:]} >= {"score", "rows", "schema"}


@pytest.mark.parametrize("args", HELP_ARGS, ids=" ".join)
def test_help_cites_nothing_internal(bce: Any, args: tuple[str, ...]) -> None:
    run = bce(*args)
    assert run.exit_code == 0
    assert "Usage: bce" in run.stdout
    assert INTERNAL.findall(run.stdout) == []


def test_schema_cites_nothing_internal(bce: Any) -> None:
    run = bce("schema")
    assert run.exit_code == 0
    assert '"$id": "urn:bce:schema:bce.report-1"' in run.stdout
    assert INTERNAL.findall(run.stdout) == []


def test_shipped_sources_never_cite_the_spec() -> None:
    # Docstrings are what help() shows a library user; they may name tests/ for the
    # developer reading the module, but not a document that is not shipped.
    shipped = [
        *sorted((ROOT / "bcecli").rglob("*.py")),
        *sorted((ROOT / "bcecli").rglob("*.json")),
    ]
    assert len(shipped) > 50
    cited = {
        str(path.relative_to(ROOT)): re.findall(r"\bSPEC\b", path.read_text(encoding="utf-8"))
        for path in shipped
    }
    assert {path: hits for path, hits in cited.items() if hits} == {}


def test_the_pattern_finds_what_it_is_for() -> None:
    for text in ("(SPEC section 6)", "see section 4", "issue 12", "tests/test_gate.py"):
        assert INTERNAL.search(text), text
    assert not INTERNAL.search("Print the JSON Schema of the report that --format json writes.")
