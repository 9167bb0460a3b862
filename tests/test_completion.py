"""Issue 14: shell completion through click's protocol, as bash, zsh and fish ask for it:
bce runs with ``_BCE_COMPLETE=bash_complete`` and the words typed, and answers one
``type,value`` line per candidate."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bcecli.report.renderers import RENDERERS

from conftest import ROOT


def complete(line: str, cwd: Path = ROOT, shell: str = "bash") -> list[str]:
    """The candidates bce offers for the last word of ``line`` (a new word after a
    space): ``type,value`` lines for bash and fish, ``type``, ``value``, ``help`` for zsh.
    bash and zsh say which word is being completed by its index, fish by its text."""
    words = line.split()
    typed = "" if line.endswith(" ") else words[-1]
    current = str(len(words) - (typed != "")) if shell != "fish" else typed
    env = {k: v for k, v in os.environ.items() if not k.startswith("_BCE")}
    env.update({"_BCE_COMPLETE": f"{shell}_complete", "COMP_WORDS": line, "COMP_CWORD": current})
    done = subprocess.run(
        [sys.executable, "-m", "bcecli"],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    return [line for line in done.stdout.decode().splitlines() if line]


def test_file_arguments_complete_folders_and_the_files_in_a_lone_one() -> None:
    offered = complete("bce score sam")
    # The folder, and what it holds, so the shell stops at the slash.
    assert offered[0] == "plain,sample_data/"
    assert "plain,sample_data/preds.csv" in offered
    assert "plain,sample_data/preds.parquet" in offered
    assert "plain,sample_data/preds.csv.gz" in offered
    assert "plain,sample_data/make_sample_data.py" not in offered  # not an input
    assert complete("bce rows sample_data/preds.p") == ["plain,sample_data/preds.parquet"]


def test_only_inputs_bce_reads_are_offered(tmp_path: Path) -> None:
    names = [
        "a.csv",
        "b.PARQUET",
        "c.tsv",
        "d.txt",
        "e.csv.gz",
        "f.tsv.zst",
        "g.pq",
        "h.json",
        "i.jsonl",
        "j.parquet.gz",
        "notes.md",
        ".hidden.csv",
    ]
    for name in names:
        (tmp_path / name).write_text("label,prob\n1,0.5\n")
    (tmp_path / "dataset").mkdir()
    (tmp_path / ".cache").mkdir()
    offered = complete("bce score ", cwd=tmp_path)
    assert offered == [
        f"plain,{name}"
        for name in ["a.csv", "b.PARQUET", "c.tsv", "d.txt", "dataset/", "e.csv.gz"]
        + ["f.tsv.zst", "g.pq", "h.json", "i.jsonl"]
    ]
    # Hidden names when a dot is typed; an absolute path is completed as typed.
    assert complete("bce score .", cwd=tmp_path) == ["plain,.cache/", "plain,.hidden.csv"]
    assert complete(f"bce score {tmp_path}/a") == [f"plain,{tmp_path}/a.csv"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_sources_the_script_and_fills_its_candidates() -> None:
    """The README's set-up, in a real bash: the script it sources asks bce, and the
    candidates land in COMPREPLY."""
    script = (
        'eval "$(_BCE_COMPLETE=bash_source bce)"\n'
        "COMP_WORDS=(bce score sam); COMP_CWORD=2\n"
        "_bce_completion bce\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("_BCE")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == [
        "sample_data/",
        "sample_data/bad.csv",
        "sample_data/no_header.csv",
        "sample_data/preds.csv",
        "sample_data/preds.csv.gz",
        "sample_data/preds.parquet",
    ]


def test_standard_input_and_urls_are_not_completed() -> None:
    assert complete("bce score s3://bucket/pre") == []
    assert complete("bce score nothing-here") == []


def test_zsh_and_fish_get_the_same_candidates() -> None:
    expected = ["sample_data/preds.csv", "sample_data/preds.csv.gz"]
    assert complete("bce score sample_data/preds.c", shell="zsh") == [
        line for path in expected for line in ("plain", path, "_")
    ]
    fish = complete("bce score sample_data/preds.c", shell="fish")
    assert fish == [f"plain,{path}" for path in expected]


def test_choices_complete() -> None:
    assert complete("bce score x.csv --format ") == [f"plain,{r.name}" for r in RENDERERS]
    assert complete("bce score x.csv --engine ") == ["plain,local", "plain,dask"]
    assert complete("bce rows x.csv --output-format n") == ["plain,ndjson"]
    assert complete("bce score x.csv --on-invalid ") == ["plain,error", "plain,skip"]


def test_output_and_report_paths_complete_as_paths() -> None:
    # "file": the shell completes any path itself (an output need not exist yet).
    assert complete("bce rows x.csv -o lo") == ["file,lo"]
    assert complete("bce score x.csv --report-json re") == ["file,re"]
    assert complete("bce score x.csv --junit-xml ju") == ["file,ju"]
    assert complete("bce score x.csv --baseline ma") == ["file,ma"]


def test_a_baseline_is_still_checked_by_bce_with_its_own_message(tmp_path: Path) -> None:
    # Typed as a path for completion only: click checks nothing, bce says what is wrong.
    done = subprocess.run(
        [sys.executable, "-m", "bcecli", "score", "sample_data/preds.csv"]
        + ["--baseline", str(tmp_path), "--max-increase", "0.01"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.decode() == f"Error: Baseline {tmp_path} is a folder, not a JSON report.\n"
