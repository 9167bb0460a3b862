"""Issue 8, the partial state: ``ScoreState.to_state()`` survives JSON, and partial states
merged in any order and any grouping give the single pass's report, bit for bit."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from bcecli.core.batch import InputRef
from bcecli.core.state import ScoreState, StateVersionError
from bcecli.engines.local import score_readers
from bcecli.io.columns import Columns, ColumnSpec, resolve_columns
from bcecli.io.readers import open_reader
from bcecli.io.sources import make_sources
from bcecli.report.model import build_report
from bcecli.scoring.batches import ChunkValidator
from bcecli.scoring.inputs import ScoreResult, column_types
from bcecli.scoring.passes import score_chunk
from bcecli.scoring.settings import Settings

from conftest import CORPUS, SAMPLE

FULL = ColumnSpec(prob=("prob", "model_b"), weight="weight", by=("segment",), keep=("id",))


def single_pass(paths: list[str], settings: Settings) -> dict[str, Any]:
    readers = [open_reader(source) for source in make_sources(paths)]
    document: dict[str, Any] = build_report(score_readers(readers, settings)).to_dict()
    return document


def chunk_states(paths: list[str], settings: Settings) -> tuple[Columns, list[ScoreState]]:
    """One partial state per chunk, each carrying its own input's counts."""
    readers = [open_reader(source) for source in make_sources(paths)]
    columns = resolve_columns(settings.columns, readers[0].column_names, paths[0])
    validator = ChunkValidator(columns, settings)
    states = []
    for index, reader in enumerate(readers):
        ref = InputRef(index, reader.source.path, reader.source.format)
        float_columns, text_columns = column_types(columns)
        for chunk in reader.chunks(
            columns.needed, settings.chunk_size, float_columns, text_columns
        ):
            outcome = score_chunk(chunk, validator=validator, ref=ref, settings=settings)
            assert outcome.state is not None
            states.append(outcome.state)
        reader.close()
    return columns, states


def through_json(state: ScoreState) -> ScoreState:
    return ScoreState.from_state(json.loads(json.dumps(state.to_state())))


def merged_report(
    states: list[ScoreState], columns: Columns, settings: Settings, rng: random.Random
) -> dict[str, Any]:
    """Merge in a random order and a random tree shape, each state through JSON first."""
    pending = [through_json(state) for state in states]
    rng.shuffle(pending)
    while len(pending) > 1:
        i = rng.randrange(len(pending) - 1)
        left, right = pending[i], pending.pop(i + 1)
        left.merge(right)
        pending[i] = through_json(left)
    root = pending[0]
    result = ScoreResult(settings, columns, root.input_stats(), root)
    document: dict[str, Any] = build_report(result).to_dict()
    return document


CASES = {
    "csv and parquet, everything": (
        [str(SAMPLE / "preds.csv"), str(SAMPLE / "preds.parquet")],
        Settings(columns=FULL, chunk_size=777, calibration=10, worst=25),
    ),
    "skipped rows": (
        [str(CORPUS / "bad_prob.csv"), str(CORPUS / "nan_prob.csv"), str(CORPUS / "perfect.csv")],
        Settings(on_invalid="skip", chunk_size=3, calibration=4, worst=6),
    ),
    "hive dataset": (
        [str(CORPUS / "parquet_dataset")],
        Settings(columns=ColumnSpec(by=("segment",)), chunk_size=7, calibration=5, worst=100),
    ),
    "logits": (
        [str(CORPUS / "logits.csv")],
        Settings(columns=ColumnSpec(logit="logit"), chunk_size=4, worst=5),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_states_merged_in_any_order_give_the_single_pass_report(case: str) -> None:
    paths, settings = CASES[case]
    expected = single_pass(paths, settings)
    columns, states = chunk_states(paths, settings)
    assert len(states) > 2
    for seed in range(5):
        assert merged_report(states, columns, settings, random.Random(seed)) == expected


def test_worst_rows_tied_across_dataset_files_merge_in_any_order(tmp_path: Path) -> None:
    # Two files of one dataset with the same rows: every row ties with its twin on
    # loss, input and row number, and only the file path tells them apart.
    for segment in ("a", "c"):
        folder = tmp_path / f"segment={segment}"
        folder.mkdir()
        source = CORPUS / "parquet_dataset" / "segment=a" / "part-0.parquet"
        (folder / "part-0.parquet").write_bytes(source.read_bytes())
    paths = [str(tmp_path)]
    settings = Settings(chunk_size=9, worst=15)
    expected = single_pass(paths, settings)
    assert len({row["path"] for row in expected["worst"]}) == 2
    columns, states = chunk_states(paths, settings)
    for seed in range(5):
        assert merged_report(states, columns, settings, random.Random(seed)) == expected


def test_state_is_plain_json_data() -> None:
    paths, settings = CASES["csv and parquet, everything"]
    columns, states = chunk_states(paths, settings)
    root = ScoreState(settings.state_config(columns))
    for state in states:
        root.merge(state)
    state = root.to_state()

    def plain(value: Any) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(item) for item in value)
        return value is None or isinstance(value, (bool, int, float, str))

    assert plain(json.loads(json.dumps(state)))
    assert set(state) >= {"total", "groups", "calibration", "worst", "inputs"}
    # A state read back is the same state: writing it again gives the same text.
    again = ScoreState.from_state(json.loads(json.dumps(state))).to_state()
    assert json.dumps(again) == json.dumps(state)


def test_a_state_of_another_version_is_refused() -> None:
    state = ScoreState(Settings().state_config(Columns(label="y", predictions=("p",)))).to_state()
    state["version"] = 99
    with pytest.raises(StateVersionError, match="version 99"):
        ScoreState.from_state(state)
