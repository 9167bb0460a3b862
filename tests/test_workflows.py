"""The GitHub workflows and the steps behind `make test`.

Both workflow files are valid (check-jsonschema's vendored schema of GitHub workflows, no
network needed), CI runs make test on Linux, macOS and Windows for every supported
Python, Windows through tools/dev.py as the Makefile does, and a release publishes to
PyPI only from a version tag, with trusted publishing, after the sdist and every wheel
were built and tested.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ruamel.yaml import YAML  # check-jsonschema's YAML parser (YAML 1.2: `on` is a key)

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # build, in the test extra, needs tomli before 3.11
    import tomli as tomllib

WORKFLOWS = ROOT / ".github" / "workflows"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def supported_pythons() -> list[str]:
    """The Python versions the classifiers name (3.10, 3.11, ...), in order."""
    prefix = "Programming Language :: Python :: "
    versions = [
        c.removeprefix(prefix)
        for c in PYPROJECT["project"]["classifiers"]
        if re.fullmatch(re.escape(prefix) + r"3\.\d+", c)
    ]
    return sorted(versions, key=lambda v: tuple(map(int, v.split("."))))


def workflow(name: str) -> dict[str, Any]:
    document: dict[str, Any] = YAML(typ="safe").load((WORKFLOWS / name).read_text("utf-8"))
    return document


def recipe(target: str) -> list[str]:
    """The command lines of a Makefile target's recipe."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    commands = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        commands.append(line.strip())
    return commands


def load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"bce_tools_{name}", ROOT / "tools" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- both workflows ---------------------------------------------------------------------


def test_the_supported_pythons_start_at_requires_python() -> None:
    versions = supported_pythons()
    assert PYPROJECT["project"]["requires-python"] == f">={versions[0]}"
    minors = [int(v.split(".")[1]) for v in versions]
    assert minors == list(range(minors[0], minors[0] + len(minors))), versions


@pytest.mark.parametrize(
    "schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"]
)
def test_workflows_are_valid(schema: str) -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "release.yml"]
    done = check_jsonschema(schema, *files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_sees_a_mistake(tmp_path: Path) -> None:
    broken = (WORKFLOWS / "ci.yml").read_text("utf-8").replace("runs-on:", "run-on:")
    (tmp_path / "ci.yml").write_text(broken, encoding="utf-8")
    done = check_jsonschema("vendor.github-workflows", tmp_path / "ci.yml")
    assert done.returncode == 1, done.stdout + done.stderr


# --- ci.yml -------------------------------------------------------------------------------


def test_ci_runs_make_test_on_every_os_and_supported_python() -> None:
    ci = workflow("ci.yml")
    assert ci["on"] == {"push": {"branches": ["main"]}, "pull_request": None}
    (job,) = ci["jobs"].values()
    assert job["strategy"]["fail-fast"] is False
    assert job["strategy"]["matrix"] == {
        "os": ["ubuntu-latest", "macos-latest", "windows-latest"],
        "python": supported_pythons(),
    }
    runs: dict[str | None, list[str]] = {}
    for step in job["steps"]:
        if "run" in step:
            runs.setdefault(step.get("if"), []).append(step["run"])
    # Linux and macOS: make test. Windows: the steps make test runs, from tools/dev.py.
    assert runs["runner.os != 'Windows'"] == ["make test PYTHON=python"]
    assert runs["runner.os == 'Windows'"] == [
        "python tools/dev.py venv",
        r".venv\Scripts\python tools/dev.py test-extra",
        r".venv\Scripts\python tools/dev.py test",
    ]
    assert recipe("$(BIN)/bce")[0] == "$(PYTHON) tools/dev.py venv"
    assert recipe("$(TEST_EXTRA)")[0] == "$(BIN)/python tools/dev.py test-extra"
    assert recipe("test") == ["$(BIN)/python tools/dev.py test"]
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci_run[-1] == "make test"


# --- release.yml ----------------------------------------------------------------------------


def test_release_publishes_from_a_version_tag_with_trusted_publishing() -> None:
    release = workflow("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    assert release["permissions"] == {"contents": "read"}
    jobs = release["jobs"]
    publish = jobs["publish"]
    assert publish["environment"]["name"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    # No other job may mint a token for PyPI.
    assert [name for name, job in jobs.items() if "id-token" in job.get("permissions", {})] == [
        "publish"
    ]
    assert set(publish["needs"]) == set(jobs) - {"publish"}
    # Only once the sdist and whichever wheels apply (pure, or cibuildwheel's) succeeded.
    condition = " ".join(publish["if"].split())
    for clause in (
        "${{ !cancelled()",
        "needs.sdist.result == 'success'",
        "(needs.pure-wheel.result == 'success' && needs.wheels.result == 'skipped')",
        "(needs.wheels.result == 'success' && needs.pure-wheel.result == 'skipped')",
    ):
        assert clause in condition, clause
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert uses[-1] == "pypa/gh-action-pypi-publish@release/v1"
    assert "url" not in publish["environment"]  # bce has no public address yet


def test_release_publishes_every_artifact_it_built() -> None:
    jobs = workflow("release.yml")["jobs"]
    uploaded = [
        step["with"]["name"]
        for job in jobs.values()
        for step in job["steps"]
        if step.get("uses", "").startswith("actions/upload-artifact@")
    ]
    assert uploaded == ["dist-sdist", "dist-wheels-${{ matrix.os }}"]
    (download,) = [s for s in jobs["publish"]["steps"] if "download-artifact" in s.get("uses", "")]
    assert download["with"] == {"pattern": "dist-*", "path": "dist", "merge-multiple": True}


def test_release_builds_as_make_dist_does_and_tests_each_wheel() -> None:
    jobs = workflow("release.yml")["jobs"]
    build = "\n".join(step.get("run", "") for step in jobs["sdist"]["steps"])
    (make_dist,) = [c for c in recipe("dist") if "build" in c]
    assert make_dist == "$(BIN)/python -m build --outdir dist ."
    assert "python -m build --outdir dist ." in build
    # A pure wheel is tested on every OS and supported Python by the smoke test...
    pure = jobs["pure-wheel"]
    assert pure["if"] == "needs.sdist.outputs.pure == 'true'"
    assert pure["strategy"]["matrix"]["python"] == supported_pythons()
    assert set(pure["strategy"]["matrix"]["os"]) == {
        "ubuntu-latest",
        "macos-latest",
        "windows-latest",
    }
    assert pure["steps"][-1]["run"] == "python tools/smoke.py --wheel dist/*.whl"
    # ... platform wheels by cibuildwheel from the sdist, whose test-command is the same.
    wheels = jobs["wheels"]
    assert wheels["if"] == "needs.sdist.outputs.pure == 'false'"
    (cibw,) = [s for s in wheels["steps"] if s.get("uses", "").startswith("pypa/cibuildwheel@")]
    assert cibw["with"]["package-dir"] == "${{ steps.sdist.outputs.path }}"
    config = PYPROJECT["tool"]["cibuildwheel"]
    assert config["test-command"] == "python tools/smoke.py sample_data/preds.csv"
    assert config["test-sources"] == ["tools/smoke.py", "sample_data/preds.csv"]


# --- tools/dev.py ---------------------------------------------------------------------------


def test_dev_runs_steps_in_order_and_stops_at_the_first_failure(tmp_path: Path) -> None:
    dev = load_tool("dev")
    first, third = tmp_path / "first", tmp_path / "third"
    steps = [
        ("-c", f"open({str(first)!r}, 'w').close()"),
        ("-c", "import sys; sys.exit(3)"),
        ("-c", f"open({str(third)!r}, 'w').close()"),
    ]
    assert dev.run_steps(sys.executable, steps) == 3
    assert first.exists() and not third.exists()
    assert dev.run_steps(sys.executable, steps[:1]) == 0


def test_dev_checks_are_make_tests() -> None:
    dev = load_tool("dev")
    assert [check[:2] for check in dev.CHECKS] == [
        ("-m", "ruff"),
        ("-m", "ruff"),
        ("-m", "mypy"),
        ("-m", "pytest"),
        ("tools/native_checks.py", "pure"),
        ("tools/check_elementary.py", "1000000"),
    ]
    assert [check[:2] for check in dev.LINUX_CHECKS] == [
        ("tools/native_checks.py", "strict"),
        ("tools/native_checks.py", "sanitize"),
    ]
    assert all(
        (ROOT / check[0]).is_file() for check in dev.CHECKS + dev.LINUX_CHECKS if check[0] != "-m"
    )
    assert all((ROOT / path).is_dir() for path in dev.LINTED)
    assert dev.main(["nonsense"]) == 2


def test_dev_finds_the_venv_python_on_each_os() -> None:
    dev = load_tool("dev")
    venv = Path("somewhere")
    assert dev.venv_python(venv, "win32") == venv / "Scripts" / "python.exe"
    assert dev.venv_python(venv, "linux") == venv / "bin" / "python"
    assert dev.venv_python(venv, "darwin") == venv / "bin" / "python"
    if sys.prefix != sys.base_prefix:  # the tests run in make test's venv
        assert dev.venv_python(Path(sys.prefix)).is_file()
