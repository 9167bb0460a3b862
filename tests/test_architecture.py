"""docs/architecture.md stays true: every module it names exists, every name it cites is
defined in bcecli, and each recipe touches at most three files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
SOURCE = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "bcecli").rglob("*.py"))
CITED = re.findall(r"`([^`]+)`", DOC)


def test_every_module_it_names_exists() -> None:
    paths = sorted({token for token in CITED if token.startswith("bcecli/") and "<" not in token})
    assert len(paths) > 30
    missing = [path for path in paths if not (ROOT / path).exists()]
    assert missing == []


def cited_names() -> list[str]:
    """Python names in backticks: CamelCase, snake_case or called (``each_input()``)."""
    names = set()
    for token in CITED:
        match = re.fullmatch(r"(?:[A-Za-z_]\w*\.)?([A-Za-z_]\w*)(\(\))?", token)
        if match and (match.group(2) or "_" in token or token[0].isupper()):
            names.add(match.group(1))
    return sorted(names)


@pytest.mark.parametrize("name", cited_names())
def test_every_name_it_cites_is_defined(name: str) -> None:
    pattern = rf"(?m)(?:def|class)\s+{name}\b|^\s*{name}\s*[:=]|self\.{name}\s*[:=]"
    assert re.search(pattern, SOURCE), f"{name} is cited in docs/architecture.md but not defined"


def recipes() -> dict[str, list[str]]:
    """Each recipe's title and the files listed under its "Touch:"."""
    section = DOC.split("## Recipes", 1)[1]
    found = {}
    for block in section.split("\n### ")[1:]:
        title, _, body = block.partition("\n")
        touch = body.split("Touch:\n", 1)[1].split("\n\n", 1)[0]
        found[title] = [re.findall(r"`([^`]+)`", line)[0] for line in touch.splitlines()]
    return found


def test_the_four_recipes_each_touch_at_most_three_files() -> None:
    found = recipes()
    assert list(found) == [
        "Add an input format",
        "Add a metric",
        "Add a limit gate",
        "Add a report renderer",
    ]
    for title, files in found.items():
        assert 1 <= len(files) <= 3, title
        for name in files:
            assert name.startswith("bcecli/"), (title, name)
            if "<" not in name:
                assert (ROOT / name).exists(), (title, name)
