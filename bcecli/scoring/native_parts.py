"""A block the C kernel scanned, added to a scoring state: the population's sums and the
counts, the loss histogram, and what ``--by``, ``--calibration`` and ``--worst`` keep of
its rows.

The kernel returns plain data (see ``py_scan_csv`` in ``bcecli/_native/module.c``): per
group exact sums and, with ``--by``, each group's key; per bin rows and exact sums; per
model the loss histogram's rows and exact weights per bin; the block's K worst rows,
numbered from 0 within the block. They are added here in row order, so the state is the
one the general path builds from the same rows.
"""

from __future__ import annotations

import math
from typing import Any

from bcecli.core.accumulate import GroupSums, sums_from_kernel
from bcecli.core.batch import InputRef
from bcecli.core.exact import ExactSum
from bcecli.core.groups import GroupedSums
from bcecli.core.loss_histogram import LossHistogramSums
from bcecli.core.state import ScoreState
from bcecli.core.worst import WorstRow

# The kernel's bounds (bce_scan.h): past them the fast path is not taken.
MAX_BY = 16
MAX_BINS = 1024
MAX_BIN_CELLS = 4096  # --calibration's bins times the prediction columns
MAX_WORST = 65536


def add_scanned(state: ScoreState, ref: InputRef, path: str, rows_before: int, result: Any) -> int:
    """Add a block's scan (``kernel.scan_csv``'s result) to ``state``; its rows."""
    rows, raw_groups, keys, bins, worst, histogram = result
    if not rows:
        return 0
    sums = sums_from_kernel(raw_groups)
    if keys is None:
        total = sums[0]
    else:
        grouped = state.parts[GroupedSums.name]
        assert isinstance(grouped, GroupedSums)
        total = GroupSums(n_models=grouped.n_models)
        for key, group in zip(keys, sums):
            total.merge(group)
            grouped.add(key, group)
    state.add_sums(ref, total, LossHistogramSums.from_kernel(histogram))
    calibration = state.calibration
    if bins is not None and calibration is not None:
        bin_rows, positive_rows, weight, prob, positives = bins
        calibration.add_bins(
            bin_rows,
            [ExactSum.from_int(count) for count in bin_rows]
            if weight is None
            else [ExactSum(*item) for item in weight],
            [ExactSum(*item) for item in prob],
            [ExactSum.from_int(count) for count in positive_rows]
            if positives is None
            else [ExactSum(*item) for item in positives],
        )
    kept = state.worst
    if worst is not None and kept is not None:
        # WorstRows.floor() without numpy: the smallest loss that can still enter.
        floor = kept.rows[-1].log_loss if len(kept.rows) >= kept.k else -math.inf
        candidates = []
        for loss, offset, label, prob_value in worst:
            if loss < floor:
                continue
            row = rows_before + offset + 1
            candidates.append(
                WorstRow(
                    sort_key=(-loss, ref.index, path, row),
                    path=path,
                    row=row,
                    label=label,
                    prob=prob_value,
                    log_loss=loss,
                )
            )
        kept.add(candidates)
    return int(rows)
