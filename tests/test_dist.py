"""What `make dist` builds, and what a user installs from it.

`python -m build` (what make dist runs) builds the sdist, then the wheel from the
unpacked sdist, so a wheel here also shows that the sdist holds what a build needs. The
wheel is then installed in a fresh virtual environment and scores the sample data from a
folder outside the source tree (tools/smoke.py, cibuildwheel's test-command).
"""

from __future__ import annotations

import email
import email.message
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from bcecli import __version__

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # build, in the test extra, needs tomli before 3.11
    import tomli as tomllib

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SDIST_ROOT = f"bcecli-{__version__}/"
DIST_INFO = f"bcecli-{__version__}.dist-info/"

# Tracked files the sdist leaves out: the repository's own CI set-up.
# NOTES-<branch>.md: a branch's hand-over notes, removed before it is merged.
NOT_IN_SDIST = re.compile(r"\.ci/.*|\.github/.*|(.*/)?\.gitignore|NOTES-[^/]*\.md")
# What must never be shipped, whatever lies in a working tree.
JUNK = re.compile(r"(.*/)?(__pycache__/.*|[^/]*\.py[cod]|\.venv/.*|\.git/.*)|tests/actual/.*")


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path

    def sdist_names(self) -> set[str]:
        with tarfile.open(self.sdist) as archive:
            names = archive.getnames()
        assert all(name.startswith(SDIST_ROOT) or name + "/" == SDIST_ROOT for name in names)
        return {name.removeprefix(SDIST_ROOT) for name in names} - {SDIST_ROOT.rstrip("/")}

    def wheel_names(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as archive:
            return set(archive.namelist())

    def wheel_text(self, name: str) -> str:
        with zipfile.ZipFile(self.wheel) as archive:
            return archive.read(name).decode("utf-8")

    def metadata(self) -> email.message.Message:
        return email.message_from_string(self.wheel_text(DIST_INFO + "METADATA"))


def in_git_checkout() -> bool:
    return shutil.which("git") is not None and (ROOT / ".git").exists()


def git_files(*options: str) -> list[str]:
    done = subprocess.run(
        ["git", "ls-files", "-z", *options], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    return [name for name in done.stdout.decode("utf-8").split("\0") if name]


def clean_source(into: Path) -> Path:
    """The source as a fresh clone has it (tracked files, and new ones git does not
    ignore): setuptools would otherwise also ship whatever a stale bcecli.egg-info in the
    working tree lists, and hide a file the sdist's MANIFEST.in forgets."""
    if not in_git_checkout():
        return ROOT  # an unpacked sdist: it is its own clean source
    for name in git_files("--cached", "--others", "--exclude-standard"):
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    source = clean_source(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # make dist's file names: the sdist and one wheel, both of this version.
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    assert sdist.name == f"bcecli-{__version__}.tar.gz"
    assert wheel.name.startswith(f"bcecli-{__version__}-")
    return Dists(sdist, wheel)


def test_make_dist_builds_from_a_clean_tree() -> None:
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("dist:")))
    recipe = [line.strip() for line in lines[start + 1 : start + 3]]
    assert recipe == ["rm -rf dist bcecli.egg-info", "$(BIN)/python -m build --outdir dist ."]


# --- the sdist ----------------------------------------------------------------------------


def test_sdist_holds_every_tracked_file_but_the_ci_set_up(dists: Dists) -> None:
    if not in_git_checkout():
        pytest.skip("not a git checkout")
    names = dists.sdist_names()
    tracked = git_files()
    wanted = [n for n in tracked if not NOT_IN_SDIST.fullmatch(n) and (ROOT / n).is_file()]
    assert [n for n in wanted if n not in names] == []
    assert len(wanted) > 100


def test_sdist_holds_what_builds_and_tests_need(dists: Dists) -> None:
    names = dists.sdist_names()
    for needed in (
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "Makefile",
        "bcecli/py.typed",
        "bcecli/report/schema/bce.report-1.schema.json",
        "sample_data/preds.csv",  # cibuildwheel's test-sources, from the unpacked sdist
        "tools/smoke.py",
        "tools/dev.py",
        "tests/conftest.py",
    ):
        assert needed in names, needed
    for source in PYPROJECT["tool"]["cibuildwheel"]["test-sources"]:
        assert source in names, source
    assert not any(name.startswith((".ci/", ".github/")) for name in names)
    assert [name for name in names if JUNK.fullmatch(name)] == []


# --- the wheel ----------------------------------------------------------------------------


def test_wheel_holds_the_package_its_data_and_license(dists: Dists) -> None:
    names = dists.wheel_names()
    assert {name.split("/")[0] + "/" for name in names} == {"bcecli/", DIST_INFO}
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "bcecli").rglob("*")
        if path.is_file() and path.suffix in (".py", ".json", ".typed", ".j2", ".css")
    }
    assert sources - names == set()
    assert {"bcecli/py.typed", "bcecli/report/schema/bce.report-1.schema.json"} <= sources
    assert {"bcecli/report/templates/page.html.j2", "bcecli/report/templates/style.css"} <= sources
    assert dists.wheel_text(DIST_INFO + "licenses/LICENSE") == (ROOT / "LICENSE").read_text(
        encoding="utf-8"
    )
    assert [name for name in names if JUNK.fullmatch(name)] == []


def test_license_is_mit_for_the_bce_developers() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the bce developers\n")
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_metadata_license_classifiers_keywords_and_no_address(dists: Dists) -> None:
    from trove_classifiers import classifiers as known

    metadata = dists.metadata()
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    classifiers = metadata.get_all("Classifier") or []
    assert [c for c in classifiers if c not in known] == []
    for wanted in (
        "Environment :: Console",
        "Operating System :: OS Independent",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Typing :: Typed",
        "Programming Language :: Python :: 3 :: Only",
    ):
        assert wanted in classifiers, wanted
    # The license is the SPDX expression; a license classifier beside it is refused by
    # setuptools (PEP 639).
    assert not any(c.startswith("License ::") for c in classifiers)
    versions = [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]
    assert metadata["Requires-Python"] == f">={versions[0]}"
    assert "log loss" in metadata["Keywords"].split(",")
    # bce has no public repository or home page yet: no address is made up.
    for field in ("Home-page", "Project-URL", "Download-URL"):
        assert metadata.get_all(field) is None, field


# --- cibuildwheel -------------------------------------------------------------------------


def test_cibuildwheel_config_matches_its_schema() -> None:
    pytest.importorskip("cibuildwheel")  # needs Python 3.11
    from importlib.resources import files

    from jsonschema import validators

    resource = files("cibuildwheel") / "resources" / "cibuildwheel.schema.json"
    schema = json.loads(resource.read_text(encoding="utf-8"))
    validator = validators.validator_for(schema)(schema)
    config = PYPROJECT["tool"]["cibuildwheel"]
    assert [error.message for error in validator.iter_errors(config)] == []
    assert list(validator.iter_errors(dict(config, archs=64))) != []


@pytest.mark.parametrize(
    ("platform", "kinds"),
    [("linux", {"manylinux", "musllinux"}), ("macos", {"macosx"}), ("windows", {"win"})],
)
def test_cibuildwheel_builds_the_supported_pythons(platform: str, kinds: set[str]) -> None:
    if importlib.util.find_spec("cibuildwheel") is None:
        pytest.skip("cibuildwheel needs Python 3.11")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    done = subprocess.run(
        [sys.executable, "-m", "cibuildwheel", "--print-build-identifiers", "--platform", platform],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    identifiers = done.stdout.split()
    pattern = re.compile(r"cp3(\d+)-(manylinux|musllinux|macosx|win)_(x86_64|aarch64|arm64|amd64)")
    parsed = [pattern.fullmatch(identifier) for identifier in identifiers]
    assert None not in parsed, identifiers  # CPython only, 64-bit only, not free-threaded
    pythons = sorted({f"3.{m.group(1)}" for m in parsed if m}, key=lambda v: int(v[2:]))
    classifier = "Programming Language :: Python :: "
    supported = [
        c.removeprefix(classifier)
        for c in PYPROJECT["project"]["classifiers"]
        if re.fullmatch(re.escape(classifier) + r"3\.\d+", c)
    ]
    assert pythons == supported
    assert {m.group(2) for m in parsed if m} == kinds
    assert len(identifiers) == len(supported) * len(kinds)


# --- the installed wheel ------------------------------------------------------------------


def test_installed_wheel_scores_the_sample_data(dists: Dists, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "smoke.py"), "--wheel", str(dists.wheel)]
        + ["--venv", str(venv)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # bcecli came from the new environment's site-packages, not from this source tree.
    match = re.search(r"^bce (\S+) from (.+): log loss (\S+) over (\d+) rows", done.stdout, re.M)
    assert match, done.stdout
    assert match.group(1) == __version__
    location = Path(match.group(2)).resolve()
    assert location.is_relative_to(venv.resolve()) and "site-packages" in location.parts
    assert not location.is_relative_to(ROOT.resolve())
    # The sample's log loss, as the README shows it.
    assert float(match.group(3)) == pytest.approx(0.4716502051996439, rel=1e-12)
    assert match.group(4) == "10000"


def test_smoke_check_refuses_a_source_tree(tmp_path: Path) -> None:
    # This test session imports bcecli from the source tree (an editable install), and
    # the smoke check must tell: a wheel test that scored the source would prove nothing.
    import bcecli

    assert Path(bcecli.__file__).resolve().is_relative_to(ROOT)
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "smoke.py"), str(ROOT / "sample_data" / "preds.csv")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "smoke test failed: bcecli was imported from" in done.stderr


def test_smoke_computes_the_log_loss_on_its_own(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bce_tools_smoke", ROOT / "tools" / "smoke.py")
    assert spec is not None and spec.loader is not None
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    csv = tmp_path / "p.csv"
    # p = 0 for a positive is clipped to eps: -log(2.22e-16) = 36.04.
    csv.write_text("label,prob\n1,0.8\n0,0.2\n1,0\n", encoding="utf-8")
    mean, rows = smoke.expected_log_loss(csv)
    from bcecli import score

    assert rows == 3
    assert mean == pytest.approx(score(csv).log_loss, rel=1e-12)
    assert mean == pytest.approx((2 * 0.2231435513142097 + 36.04365338911715) / 3, rel=1e-12)


@pytest.mark.skipif(os.name != "posix", reason="CC names the compiler on POSIX builds")
def test_without_a_compiler_the_sdist_installs_and_runs_on_pure_python(
    dists: Dists, tmp_path: Path
) -> None:
    # The C kernel is optional: where it cannot be compiled the install still succeeds,
    # and bce says so and gives the same numbers on its pure-Python path.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("BCE_STRICT_BUILD", None)
    env["CC"] = "false"  # a compiler that fails on every file
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(dists.sdist)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    bce = venv / "bin" / "bce"
    version = subprocess.run(
        [str(bce), "--version"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    lines = version.stdout.splitlines()
    assert lines[0] == f"bce, version {__version__}"
    assert lines[1].startswith("native kernel: off (not built"), lines
    scored = subprocess.run(
        [str(bce), "score", str(ROOT / "sample_data" / "preds.csv"), "--format", "json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["metrics"]["log_loss"] == 0.4716502051996439
