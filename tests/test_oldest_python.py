"""bce runs on the oldest Python that requires-python admits, not only on the one at hand.

The CI runs the whole suite on every supported Python; these checks say it here too,
from the source: no syntax newer than the oldest Python, and no name imported at run
time from typing that it lacks (typing.Self, new in 3.11, made `import bcecli` fail on
3.10). A name needed only for annotations is imported under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import ROOT

REQUIRES = re.search(
    r'^requires-python = ">=3\.(\d+)"$',
    (ROOT / "pyproject.toml").read_text(encoding="utf-8"),
    re.M,
)
assert REQUIRES is not None
OLDEST = (3, int(REQUIRES.group(1)))

# Names typing gained after 3.10, by the version that added them.
TYPING_SINCE = {
    (3, 11): {
        "LiteralString",
        "Never",
        "NotRequired",
        "Required",
        "Self",
        "TypeVarTuple",
        "Unpack",
        "assert_never",
        "assert_type",
        "clear_overloads",
        "dataclass_transform",
        "get_overloads",
        "reveal_type",
    },
    (3, 12): {"TypeAliasType", "override"},
    (3, 13): {"NoDefault", "ReadOnly", "TypeIs", "get_protocol_members", "is_protocol"},
}
MISSING = set().union(*(names for version, names in TYPING_SINCE.items() if version > OLDEST))

SOURCES = sorted((ROOT / "bcecli").rglob("*.py"))


def runtime_typing_imports(tree: ast.Module) -> set[str]:
    """Names imported from typing outside ``if TYPE_CHECKING:`` blocks."""
    checking_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            checking_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "typing"
        if id(node) not in checking_only
        for alias in node.names
    }


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_source_runs_on_the_oldest_python(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=OLDEST)  # a SyntaxError on newer syntax
    assert sorted(runtime_typing_imports(tree) & MISSING) == []


def test_the_check_sees_a_runtime_import_of_self() -> None:
    tree = ast.parse("from typing import Any, Self\n")
    assert runtime_typing_imports(tree) & MISSING == {"Self"}
    guarded = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from typing import Self\n"
    )
    assert runtime_typing_imports(guarded) & MISSING == set()
    with pytest.raises(SyntaxError):
        ast.parse("try:\n    pass\nexcept* ValueError:\n    pass\n", feature_version=OLDEST)
