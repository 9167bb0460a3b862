"""Docs that run (issue 14): every example in README.md and docs/*.md is executed on the
shipped sample data, and what it prints is compared with what the page shows.

What runs:

- Every ```console block. A line starting with ``$ `` is a command (a line ending in ``\\``
  goes on to the next); the lines up to the next command are what it prints. Each command
  runs as ``bash -c COMMAND`` in a temp copy of the repository root that holds
  ``sample_data/`` (so a file it writes lands there), one after the other, with the ``bce``
  under test first on PATH, and with ``COLUMNS=80``, ``NO_COLOR=1`` and ``TERM=dumb``:
  tables are 80 columns wide and without colour, as a pipe sees them. What a command prints
  is its stdout followed by its stderr. Both are compared, so no warning slips in unseen.
- Every ```python block. Its statements run in order, in one namespace, from the temp copy.
  An expression with a ``# -> VALUE`` comment (on its last line, or alone on the next line)
  must have ``repr()`` equal to VALUE; other comments are prose.
- A block whose commands use ``jq`` is skipped, saying so, where jq is not installed.
- ```sh blocks list commands to type, without output (the set-up commands, installs); they
  are not run, and may hold no ``$ `` prompt. ```yaml blocks are the CI recipes: their bce
  steps are run by the tests at the end of this file.

A block that needs an outside service says so in an HTML comment on the line before its
fence, and runs against a local stand-in:

- ``<!-- docs-test: s3 -->``: ``s3://models/...`` is moto's S3 server on 127.0.0.1, found
  through the standard AWS variables (``AWS_ENDPOINT_URL``, test keys). It holds the sample
  data: ``churn/preds.parquet``, ``churn/preds.csv``, ``churn/preds.csv.gz``, and the
  Parquet dataset ``churn/daily/`` (the Parquet file cut into three days).
- ``<!-- docs-test: dask -->``: a distributed ``LocalCluster`` (two worker threads) stands
  in for the documented scheduler ``tcp://10.0.0.5:8786``.
- ``<!-- docs-test: s3 no-credentials -->``: as ``s3``, with no AWS key anywhere (no
  variables, an empty HOME, no config files) and moto checking signatures.
- ``<!-- docs-test: skip (REASON) -->``: not run; the reason is required.

Normalisations, only of what must vary from one machine or release to the next:

- the version of bce, wherever bce prints it (``bce, version X``, a JSON report's
  ``"bce_version": "X"``, or this release's version anywhere), on both sides: any version
  matches;
- the temp copy's path, printed as the relative path from the repository root that it
  stands for;
- the scheduler address of a ``dask`` block: ``tcp://10.0.0.5:8786`` becomes the
  LocalCluster's in the command, and the LocalCluster's becomes it again in the output.

No example prints a time (bce's progress bar is drawn only on a terminal), so no timing is
normalised.

When an example differs the test fails with a diff. If bce's new output is right (a
deliberate change), rewrite the outputs in place, then review the diff like code::

    make docs    # BCE_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_docs_run.py
    git diff README.md docs/
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sysconfig
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bcecli

from conftest import ROOT, SAMPLE, clear_filesystems, moto_s3, validate_report

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
UPDATE = os.environ.get("BCE_UPDATE_DOCS") == "1"
UPDATE_HINT = (
    "If the new output is right, rewrite the examples in place with `make docs` "
    "(BCE_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_docs_run.py) and review "
    "`git diff README.md docs/` before committing."
)

FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(r"^<!-- docs-test: (.+?) -->$")
SKIP = re.compile(r"^skip \((.+)\)$")
SERVICES = {"s3", "dask", "no-credentials"}
RUN = {"console", "python"}
NOT_RUN = {"sh", "yaml", ""}

DOC_SCHEDULER = "tcp://10.0.0.5:8786"
BUCKET = "models"
TERMINAL = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
# Variables that change what bce prints, or where it connects, whatever the example says.
DROPPED = (
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "BCE_TRACEBACK",
    "BCE_DASK_CONNECT_TIMEOUT",
    "DASK_SCHEDULER_ADDRESS",
    "LINES",
)


@dataclass(frozen=True)
class Block:
    page: Path
    index: int  # the n-th fenced block of the page, from 0
    line: int  # the line of its opening fence, from 1
    lang: str
    lines: tuple[str, ...]
    marker: str | None  # the docs-test comment before the fence, if any

    @property
    def name(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"

    @property
    def skip_reason(self) -> str | None:
        match = SKIP.match(self.marker or "")
        return match.group(1) if match else None

    @property
    def services(self) -> set[str]:
        if self.marker is None or self.skip_reason is not None:
            return set()
        return set(self.marker.split())


def parse_blocks(text: str, page: Path) -> list[Block]:
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and lines[i] != "```":
            i += 1
        if i == len(lines):
            raise AssertionError(f"{page.name}:{start + 1}: a code block is never closed")
        before = next((line for line in reversed(lines[:start]) if line.strip()), "")
        marker = MARKER.match(before)
        blocks.append(
            Block(
                page=page,
                index=len(blocks),
                line=start + 1,
                lang=fence.group(1),
                lines=tuple(lines[start + 1 : i]),
                marker=marker.group(1) if marker else None,
            )
        )
        i += 1
    return blocks


def page_blocks(page: Path) -> list[Block]:
    return parse_blocks(page.read_text(encoding="utf-8"), page)


ALL_BLOCKS = [block for page in PAGES for block in page_blocks(page)]
EXAMPLES = [block for block in ALL_BLOCKS if block.lang in RUN]


# --- Normalising ------------------------------------------------------------------------

VERSION_IN_CONTEXT = re.compile(r'(bce, version |"bce_version": ?")[^\s"]+')


def scrub_version(text: str) -> str:
    text = VERSION_IN_CONTEXT.sub(r"\1<VERSION>", text)
    return re.sub(r"(?<![\w.])" + re.escape(bcecli.__version__) + r"(?!\.?\w)", "<VERSION>", text)


def relative_to_copy(text: str, copy: Path) -> str:
    for root in {str(copy.resolve()), str(copy)}:
        text = text.replace(root + os.sep, "").replace(root, ".")
    return text


# --- The stand-ins for outside services ---------------------------------------------------


def daily_dataset(folder: Path) -> dict[str, Path]:
    """The sample's Parquet file cut into three days, as objects under churn/daily/."""
    import pyarrow.parquet as pq

    table = pq.read_table(SAMPLE / "preds.parquet")
    cuts = [0, 3334, 6667, table.num_rows]
    files = {}
    for day, (start, stop) in enumerate(zip(cuts, cuts[1:]), start=1):
        path = folder / f"2024-06-0{day}.parquet"
        pq.write_table(table.slice(start, stop - start), path, row_group_size=2048)
        files[f"churn/daily/{path.name}"] = path
    return files


@pytest.fixture(scope="module")
def s3_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 with the bucket the docs name, holding the sample data;
    bce (here and in every command's process) finds it through the AWS variables only."""
    uploads = {
        "churn/preds.parquet": SAMPLE / "preds.parquet",
        "churn/preds.csv": SAMPLE / "preds.csv",
        "churn/preds.csv.gz": SAMPLE / "preds.csv.gz",
        **daily_dataset(tmp_path_factory.mktemp("daily")),
    }
    with moto_s3(BUCKET, uploads) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """A two-worker LocalCluster that bce's processes reach over TCP. Its workers are threads
    of this process, so they read the moto bucket through this process's AWS variables."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=":0",  # a free port: 8787 may be another cluster's
    ) as cluster:
        yield cluster.scheduler_address


@dataclass
class Setting:
    """Where and how one block runs."""

    copy: Path
    env: dict[str, str]
    scheduler: str | None

    def command(self, text: str) -> str:
        return text.replace(DOC_SCHEDULER, self.scheduler) if self.scheduler else text

    def output(self, text: str) -> str:
        text = relative_to_copy(text, self.copy)
        return text.replace(self.scheduler, DOC_SCHEDULER) if self.scheduler else text


def setting_for(
    block: Block, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Setting:
    if block.skip_reason is not None:
        pytest.skip(block.skip_reason)
    if block.marker is not None:
        unknown = block.services - SERVICES
        assert not unknown, f"{block.name}: unknown docs-test marker {block.marker!r}"
        assert "no-credentials" not in block.services or "s3" in block.services, block.name
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copytree(SAMPLE, copy / "sample_data", ignore=shutil.ignore_patterns("__pycache__"))
    if "s3" in block.services:
        request.getfixturevalue("s3_models")
    scheduler = request.getfixturevalue("dask_scheduler") if "dask" in block.services else None
    if "no-credentials" in block.services:
        import moto.settings

        home = tmp_path / "home"
        home.mkdir()
        monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "none"))
        clear_filesystems()
        request.addfinalizer(clear_filesystems)
    scripts = sysconfig.get_path("scripts")
    assert Path(scripts, "bce").exists(), f"no bce command in {scripts}: install bce first"
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.update(TERMINAL, PATH=scripts + os.pathsep + os.environ.get("PATH", ""))
    return Setting(copy, env, scheduler)


# --- Console blocks -----------------------------------------------------------------------


@dataclass
class Command:
    lines: list[str]  # as written, "$ " included
    expected: list[str]

    @property
    def text(self) -> str:
        return "\n".join(line.removeprefix("$ ") for line in self.lines)


def parse_console(block: Block) -> list[Command]:
    commands: list[Command] = []
    continued = False
    for line in block.lines:
        if continued:
            commands[-1].lines.append(line)
        elif line.startswith("$ "):
            commands.append(Command([line], []))
        else:
            assert commands, f"{block.name}: a console block starts with a `$ ` command"
            commands[-1].expected.append(line)
            continue
        continued = line.endswith("\\")
    return commands


def run_console(block: Block, setting: Setting) -> list[str]:
    """The block as it should read: each command followed by what it printed."""
    if shutil.which("jq", path=setting.env["PATH"]) is None and any(
        re.search(r"\bjq\b", command.text) for command in parse_console(block)
    ):
        pytest.skip("jq is not installed, and this example uses it")
    actual: list[str] = []
    for command in parse_console(block):
        done = subprocess.run(
            ["bash", "-c", setting.command(command.text)],
            cwd=setting.copy,
            env=setting.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        printed = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
        actual += command.lines + setting.output(printed).splitlines()
    return actual


# --- Python blocks ------------------------------------------------------------------------


@dataclass
class Check:
    line: int  # the line of the `# -> VALUE` comment in the block, from 0
    column: int  # where `# -> ` starts on it
    expected: str
    actual: str
    source: str


@dataclass(frozen=True)
class Expectation:
    column: int  # where `# -> ` starts on its line
    alone: bool  # nothing but the comment on its line
    value: str


def expectations(source: str) -> dict[int, Expectation]:
    """The `# -> VALUE` comments, by line (from 1)."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.string.startswith("# -> "):
            row, column = token.start
            alone = not token.line[:column].strip()
            found[row] = Expectation(column, alone, token.string.removeprefix("# -> "))
    return found


def run_python(block: Block, setting: Setting, monkeypatch: pytest.MonkeyPatch) -> list[Check]:
    source = setting.command("\n".join(block.lines)) + "\n"
    comments = expectations(source)
    module = ast.parse(source, filename=block.name)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    monkeypatch.chdir(setting.copy)
    checks: list[Check] = []
    claimed: set[int] = set()
    for statement in module.body:
        end = statement.end_lineno or statement.lineno
        row = next(
            (r for r in (end, end + 1) if r in comments and (r == end or comments[r].alone)),
            None,
        )
        if row is None or not isinstance(statement, ast.Expr):
            exec(compile(ast.Module([statement], []), block.name, "exec"), namespace)
            continue
        claimed.add(row)
        value = eval(compile(ast.Expression(statement.value), block.name, "eval"), namespace)
        checks.append(
            Check(
                line=row - 1,
                column=comments[row].column,
                expected=comments[row].value,
                actual=setting.output(repr(value)),
                source=ast.get_source_segment(source, statement) or "",
            )
        )
    stray = sorted(set(comments) - claimed)
    assert not stray, f"{block.name}: `# -> ` comments on lines {stray} follow no expression"
    return checks


# --- Comparing and updating ---------------------------------------------------------------


def rewrite(block: Block, new_lines: list[str]) -> None:
    """Put the block's new lines in place of its old ones in the page."""
    text = block.page.read_text(encoding="utf-8")
    current = parse_blocks(text, block.page)[block.index]
    assert current.lang == block.lang, f"{block.name}: the page changed under the test"
    lines = text.split("\n")
    lines[current.line : current.line + len(current.lines)] = new_lines
    block.page.write_text("\n".join(lines), encoding="utf-8")


def verify(
    block: Block, setting: Setting, monkeypatch: pytest.MonkeyPatch, update: bool
) -> str | None:
    """None if the example prints what the page shows; else why not, with a diff. With
    ``update``, the page is rewritten to show what the example prints instead."""
    if block.lang == "console":
        actual = run_console(block, setting)
        expected = list(block.lines)
        if scrub_version("\n".join(actual)) == scrub_version("\n".join(expected)):
            return None
        if update:
            rewrite(block, actual)
            return None
        diff = "\n".join(
            difflib.unified_diff(
                expected, actual, f"{block.name} (the page)", "what it prints", lineterm=""
            )
        )
        return f"{block.name}: the example's output differs.\n{UPDATE_HINT}\n{diff}"
    checks = run_python(block, setting, monkeypatch)
    wrong = [c for c in checks if scrub_version(c.actual) != scrub_version(c.expected)]
    if not wrong:
        return None
    if update:
        lines = list(block.lines)
        for check in wrong:
            assert "\n" not in check.actual, f"{block.name}: show a one-line result after `# -> `"
            lines[check.line] = lines[check.line][: check.column] + "# -> " + check.actual
        rewrite(block, lines)
        return None
    listing = "\n".join(
        f"  line {block.line + 1 + check.line}: {check.source}\n"
        f"    the page: {check.expected}\n    repr():   {check.actual}"
        for check in wrong
    )
    return f"{block.name}: results differ from the `# -> ` comments.\n{UPDATE_HINT}\n{listing}"


@pytest.mark.parametrize("block", EXAMPLES, ids=[block.name for block in EXAMPLES])
def test_the_example_prints_what_the_page_shows(
    block: Block,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    block = page_blocks(block.page)[block.index]  # as it is now: an update may have moved it
    setting = setting_for(block, request, tmp_path, monkeypatch)
    failure = verify(block, setting, monkeypatch, UPDATE)
    if failure:
        pytest.fail(failure, pytrace=False)


# --- Every block runs, or says why not ----------------------------------------------------


def test_every_block_runs_or_says_why_not() -> None:
    assert {block.page.name for block in EXAMPLES} >= {"README.md", "scale.md"}
    for block in ALL_BLOCKS:
        assert block.lang in RUN | NOT_RUN, f"{block.name}: a ```{block.lang} block is not run"
        text = "\n".join(block.lines)
        if block.lang not in RUN:
            assert block.marker is None, f"{block.name}: only examples take a docs-test marker"
            assert not re.search(r"^\$ ", text, re.M), (
                f"{block.name}: `$ ` prompts make an example; fence it as ```console to run it"
            )
            continue
        if block.lang == "console":
            assert parse_console(block), f"{block.name}: a console block without a command"
        if block.skip_reason is not None:
            continue
        assert block.marker is None or block.services <= SERVICES, block.name
        # Without its stand-in, an example would reach for the real cloud or cluster.
        assert "s3" in block.services or "s3://" not in text, f"{block.name}: mark it s3"
        assert "dask" in block.services or DOC_SCHEDULER not in text, f"{block.name}: mark it dask"


def test_markers_are_read_from_the_line_before_the_fence() -> None:
    page = ROOT / "page.md"
    text = (
        "<!-- docs-test: skip (needs a GPU) -->\n```console\n$ nvidia-smi\n```\n\n"
        "<!-- docs-test: s3 dask -->\n\n```python\nx = 1\n```\n"
        "<!-- docs-test: s3 -->\nprose between\n```sh\nmake run\n```\n"
    )
    first, second, third = parse_blocks(text, page)
    assert (first.lang, first.line, first.lines) == ("console", 2, ("$ nvidia-smi",))
    assert (first.skip_reason, first.services) == ("needs a GPU", set())
    assert (second.lang, second.skip_reason, second.services) == ("python", None, {"s3", "dask"})
    assert (third.lang, third.marker, third.index) == ("sh", None, 2)


# --- The machinery, on pages of its own -----------------------------------------------------


def scratch_page(tmp_path: Path, body: str, name: str = "page.md") -> Block:
    page = tmp_path / name
    page.write_text(f"# A page\n\n{body}\nThe end.\n", encoding="utf-8")
    (block,) = page_blocks(page)
    return block


def scratch_setting(tmp_path: Path, scheduler: str | None = None) -> Setting:
    copy = tmp_path / "repo"
    copy.mkdir(exist_ok=True)
    env = {**os.environ, **TERMINAL}
    env["PATH"] = sysconfig.get_path("scripts") + os.pathsep + env.get("PATH", "")
    return Setting(copy, env, scheduler)


def test_commands_continue_after_a_backslash() -> None:
    block = Block(ROOT / "x.md", 0, 1, "console", ("$ echo a \\", "  b", "a b", "$ true"), None)
    first, second = parse_console(block)
    assert (first.text, first.expected) == ("echo a \\\n  b", ["a b"])
    assert (second.text, second.expected) == ("true", [])


def test_a_wrong_output_fails_with_a_diff_and_the_update_rewrites_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = scratch_page(tmp_path, "```console\n$ printf 'a\\nb\\n'\na\nc\n$ true\n```\n")
    setting = scratch_setting(tmp_path)
    failure = verify(block, setting, monkeypatch, update=False)
    assert failure is not None
    assert f"{block.name}: the example's output differs." in failure
    assert "\n-c\n+b\n" in failure and "make docs" in failure
    assert verify(block, setting, monkeypatch, update=True) is None
    assert block.page.read_text(encoding="utf-8") == (
        "# A page\n\n```console\n$ printf 'a\\nb\\n'\na\nb\n$ true\n```\n\nThe end.\n"
    )
    assert verify(page_blocks(block.page)[0], setting, monkeypatch, update=False) is None


def test_stderr_is_compared_after_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setting = scratch_setting(tmp_path)
    both = scratch_page(tmp_path, "```console\n$ echo err >&2; echo out\nout\nerr\n```\n")
    assert verify(both, setting, monkeypatch, update=False) is None
    quiet = scratch_page(tmp_path, "```console\n$ echo warning >&2\n```\n", "quiet.md")
    failure = verify(quiet, setting, monkeypatch, update=False)
    assert failure is not None and "\n+warning" in failure


def test_commands_run_in_the_copy_on_an_80_column_pipe_without_colour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    block = scratch_page(
        tmp_path,
        '```console\n$ echo "$COLUMNS $NO_COLOR $TERM"; ls; command -v bce\n'
        f"80 1 dumb\nsample_data\n{sysconfig.get_path('scripts')}/bce\n```\n",
    )
    setting = setting_for(block, request, tmp_path, monkeypatch)
    assert verify(block, setting, monkeypatch, update=False) is None


def test_python_results_are_checked_and_updated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "```python\nx = 2\nx + 1  # -> 4\n[x, x]\n# -> [2, 2]\nprint()  # prose\n```\n"
    block = scratch_page(tmp_path, body)
    setting = scratch_setting(tmp_path)
    failure = verify(block, setting, monkeypatch, update=False)
    assert failure is not None
    assert "line 5: x + 1\n    the page: 4\n    repr():   3" in failure
    assert "[x, x]" not in failure
    assert verify(block, setting, monkeypatch, update=True) is None
    assert "x + 1  # -> 3\n[x, x]\n# -> [2, 2]\n" in block.page.read_text(encoding="utf-8")


def test_a_result_comment_must_follow_an_expression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = scratch_page(tmp_path, "```python\nx = 2  # -> 2\n```\n")
    with pytest.raises(AssertionError, match=r"lines \[1\] follow no expression"):
        verify(block, scratch_setting(tmp_path), monkeypatch, update=False)


def test_any_version_of_bce_matches() -> None:
    ours = bcecli.__version__
    assert scrub_version(f"bce, version {ours}") == scrub_version("bce, version 9.8.7")
    assert scrub_version(f'"bce_version": "{ours}"') == scrub_version('"bce_version": "0.0.1"')
    assert scrub_version(f"made by bce {ours}.") == "made by bce <VERSION>."
    for other in (f"1{ours}", f"{ours}.5", f"{ours}a", "0.4717"):  # numbers, not the version
        assert scrub_version(other) == other


def test_the_copys_path_prints_as_the_repository_path(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    assert relative_to_copy(f"Error: {copy}/sample_data/x.csv: no such file", copy) == (
        "Error: sample_data/x.csv: no such file"
    )
    assert relative_to_copy(f"in {copy}", copy) == "in ."


def test_the_documented_scheduler_stands_for_the_local_one(tmp_path: Path) -> None:
    setting = scratch_setting(tmp_path, scheduler="tcp://127.0.0.1:40123")
    assert setting.command(f"bce --scheduler {DOC_SCHEDULER}") == (
        "bce --scheduler tcp://127.0.0.1:40123"
    )
    assert setting.output("at tcp://127.0.0.1:40123.") == f"at {DOC_SCHEDULER}."


# --- The CI recipes' bce steps, as written ---------------------------------------------------
# The README's two recipes (```yaml) are run as far as they can be off CI: the install step
# is checked to install from the checkout, the prediction step is stood in for by the
# sample's Parquet file (preds.parquet, with label, prob and segment columns), the baseline
# is the report of a first run, and the bce steps run in bash as the CI would run them.


def recipe(first_line: str) -> Any:
    yaml = pytest.importorskip("yaml")
    (block,) = [b for b in page_blocks(ROOT / "README.md") if b.lines[:1] == (first_line,)]
    return yaml.safe_load("\n".join(block.lines))


def ci_run(script: str, folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    full_env["PATH"] = sysconfig.get_path("scripts") + os.pathsep + os.environ.get("PATH", "")
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=folder,
        env={**full_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def gate_names(report: Path, by: str | None = None) -> list[str]:
    document = json.loads(report.read_text(encoding="utf-8"))
    validate_report(document)
    assert [group["key"] for group in document["groups"]][:1] == ([{by: "web"}] if by else [])
    return [check["name"] for check in document["gate"]["checks"]]


def test_the_github_actions_recipe_installs_from_the_checkout_and_gates(tmp_path: Path) -> None:
    workflow_first_line = "# .github/workflows/model-quality.yml"
    workflow = recipe(workflow_first_line)
    steps = {step.get("name"): step for step in workflow["jobs"]["bce"]["steps"]}
    assert steps["Install"]["run"].partition("#")[0].strip() == "pip install ."
    script = steps["Score and gate"]["run"]
    # The prediction step's comment names the columns the scoring step uses.
    assert "--by segment" in script
    assert "a label, a probability and a segment column" in workflow_comments(workflow_first_line)
    shutil.copy(SAMPLE / "preds.parquet", tmp_path / "preds.parquet")
    summary = tmp_path / "summary.md"

    push = ci_run(script, tmp_path, GITHUB_STEP_SUMMARY=str(summary))  # main: no baseline yet
    assert (push.returncode, push.stderr) == (0, "")
    assert gate_names(tmp_path / "bce-report.json", "segment") == ["max_ne"]
    assert "### Gate: passed" in summary.read_text(encoding="utf-8")
    assert (tmp_path / "bce-junit.xml").read_text(encoding="utf-8").startswith("<?xml")

    (tmp_path / "baseline").mkdir()  # a pull request: main's report, downloaded
    (tmp_path / "bce-report.json").rename(tmp_path / "baseline" / "bce-report.json")
    pull = ci_run(script, tmp_path, GITHUB_STEP_SUMMARY=str(summary))
    assert (pull.returncode, pull.stderr) == (0, "")
    assert gate_names(tmp_path / "bce-report.json", "segment") == ["max_ne", "max_increase"]
    assert summary.read_text(encoding="utf-8").count("### Gate: passed") == 2


def workflow_comments(first_line: str) -> str:
    """The recipe's whole-line comments, as one line of prose."""
    (block,) = [b for b in page_blocks(ROOT / "README.md") if b.lines[:1] == (first_line,)]
    lines = [line.strip() for line in block.lines]
    return " ".join(line.removeprefix("# ") for line in lines if line.startswith("# "))


def test_the_gitlab_recipe_installs_from_the_checkout_and_gates(tmp_path: Path) -> None:
    script = recipe("model-quality:")["model-quality"]["script"]
    assert script[0].partition("#")[0].strip() == "pip install ."
    assert script[1].startswith("python predict.py --out preds.parquet")
    # After the download (GitLab's API, not run here): the baseline, if any, and the gate.
    gate = "\n".join(line for line in script if "BASELINE" in line)
    assert gate.count("\n") == 1 and "bce score preds.parquet" in gate
    shutil.copy(SAMPLE / "preds.parquet", tmp_path / "preds.parquet")

    first = ci_run(gate, tmp_path)  # no baseline.json: the download failed, or none yet
    assert (first.returncode, first.stderr) == (0, "")
    assert gate_names(tmp_path / "bce-report.json") == ["max_ne"]
    assert "<testcase" in (tmp_path / "bce-junit.xml").read_text(encoding="utf-8")

    (tmp_path / "bce-report.json").rename(tmp_path / "baseline.json")
    second = ci_run(gate, tmp_path)
    assert (second.returncode, second.stderr) == (0, "")
    assert gate_names(tmp_path / "bce-report.json") == ["max_ne", "max_increase"]


# --- The two set-up commands the README starts with ------------------------------------------


def test_the_readme_starts_with_the_two_set_up_commands() -> None:
    first = page_blocks(ROOT / "README.md")[0]
    assert first.line == 3 and first.lang == "sh"
    assert [line.split("#")[0].strip() for line in first.lines] == ["make run", "make test"]
    assert "run-time dependencies only" in first.lines[0]
    assert "test tools" in first.lines[1]


def dry_run(target: str, folder: Path) -> list[str]:
    """The commands `make TARGET` would run in a fresh clone (no .venv yet)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_installs_what_bce_needs_at_run_time_and_make_test_the_test_extra(
    tmp_path: Path,
) -> None:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    run = dry_run("run", tmp_path)
    assert run == [
        "python3 tools/dev.py venv",
        "touch .venv/bin/bce",
        ".venv/bin/bce score sample_data/preds.csv",
    ]
    test = dry_run("test", tmp_path)
    assert test[:2] == run[:2]  # the same venv, then the test extra on top
    assert ".venv/bin/python tools/dev.py test-extra" in test
    # What those steps install: bce alone for `make run`, the test extra for the tests.
    spec = importlib.util.spec_from_file_location("dev", ROOT / "tools" / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    installs = [step[-1] for step in dev.INSTALL if "--upgrade" not in step]
    assert installs == ["."]
    assert [step[-1] for step in dev.TEST_EXTRA] == [".[test]"]
