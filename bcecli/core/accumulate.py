"""Mergeable, exact running sums for the metrics of one population.

A chunk of valid rows becomes a ``GroupSums`` per group; sums of chunks (or of
partitions scored elsewhere) merge by exact addition, so the order of merging,
like the order of rows, never shows in the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bcecli._native import kernel
from bcecli.core.exact import ExactSum
from bcecli.core.lazy import lazy
from bcecli.core.loss import (
    DEFAULT_EPS,
    clipped_mask,
    loss_from_logit,
    loss_from_prob,
    sigmoid,
)
from bcecli.core.metrics import DIFF_TERMS, MODEL_TERMS
from bcecli.core.terms import RowTerms

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from bcecli.core import exactsum

    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]
    IntArray = npt.NDArray[np.intp]
else:
    np = lazy("numpy")
    exactsum = lazy("bcecli.core.exactsum")


SUM_NAMES = (*MODEL_TERMS, *DIFF_TERMS)


@dataclass
class ModelSums:
    """The exact sums of one prediction column, by name (``MODEL_TERMS``, ``DIFF_TERMS``),
    and how many of its rows were clipped."""

    sums: dict[str, ExactSum] = field(
        default_factory=lambda: {name: ExactSum() for name in SUM_NAMES}
    )
    clipped: int = 0

    def __getitem__(self, name: str) -> ExactSum:
        return self.sums[name]

    def merge(self, other: ModelSums) -> None:
        for name in SUM_NAMES:
            self.sums[name].add(other.sums[name])
        self.clipped += other.clipped

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {name: self.sums[name].to_state() for name in SUM_NAMES}
        state["clipped"] = self.clipped
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ModelSums:
        sums = {name: ExactSum.from_state(state[name]) for name in SUM_NAMES}
        return cls(sums=sums, clipped=int(state["clipped"]))


@dataclass
class GroupSums:
    """Everything the metrics of one population (or one group) are made of."""

    n_models: int = 1
    rows: int = 0
    weight: ExactSum = field(default_factory=ExactSum)
    weight_sq: ExactSum = field(default_factory=ExactSum)
    positives: ExactSum = field(default_factory=ExactSum)
    models: list[ModelSums] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.models:
            self.models = [ModelSums() for _ in range(self.n_models)]

    def merge(self, other: GroupSums) -> None:
        self.rows += other.rows
        self.weight.add(other.weight)
        self.weight_sq.add(other.weight_sq)
        self.positives.add(other.positives)
        for mine, theirs in zip(self.models, other.models):
            mine.merge(theirs)

    def to_state(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "weight": self.weight.to_state(),
            "weight_sq": self.weight_sq.to_state(),
            "positives": self.positives.to_state(),
            "models": [model.to_state() for model in self.models],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GroupSums:
        models = [ModelSums.from_state(m) for m in state["models"]]
        return cls(
            n_models=len(models),
            rows=int(state["rows"]),
            weight=ExactSum.from_state(state["weight"]),
            weight_sq=ExactSum.from_state(state["weight_sq"]),
            positives=ExactSum.from_state(state["positives"]),
            models=models,
        )


@dataclass
class ChunkLosses:
    """The per-row values of one chunk of valid rows, shared by every consumer."""

    y: BoolArray
    probs: list[FloatArray]  # p used per model (sigmoid(z) for logits)
    losses: list[FloatArray]
    weight: FloatArray | None
    logit: bool = False  # predictions were logits: nothing is clipped
    eps: float = DEFAULT_EPS  # probabilities were clipped to [eps, 1 - eps]

    def clipped(self, index: int) -> BoolArray | None:
        """Which rows of prediction column ``index`` clipping moved (None for logits)."""
        return None if self.logit else clipped_mask(self.probs[index], self.eps)


def compute_losses(
    y: BoolArray,
    predictions: list[FloatArray],
    weight: FloatArray | None = None,
    *,
    logit: bool = False,
    eps: float = DEFAULT_EPS,
) -> ChunkLosses:
    """Per-row losses of every prediction column for one chunk of valid rows.

    Through the C kernel when it is built; otherwise numpy, with the same operations
    and bce's own elementary functions, so both give the same bits.
    """
    y = np.ascontiguousarray(y, dtype=np.bool_)
    probs: list[FloatArray] = []
    losses: list[FloatArray] = []
    for values in predictions:
        values = np.ascontiguousarray(values, dtype=np.float64)
        if kernel is not None:
            loss = np.empty(len(values))
            prob = np.empty(len(values)) if logit else None
            kernel.losses(y, values, loss, prob, logit, eps)
            losses.append(loss)
            probs.append(values if prob is None else prob)
        elif logit:
            losses.append(loss_from_logit(y, values))
            probs.append(sigmoid(values))
        else:
            losses.append(loss_from_prob(y, values, eps))
            probs.append(values)
    if weight is not None:
        weight = np.ascontiguousarray(weight, dtype=np.float64)
    return ChunkLosses(y=y, probs=probs, losses=losses, weight=weight, logit=logit, eps=eps)


# Above this many exact sums per chunk (groups times sums per group), the kernel's
# dense per-group accumulators would cost more memory than the numpy path's bins.
_KERNEL_SUMS_LIMIT = 1 << 13


def chunk_sums(
    chunk: ChunkLosses, group_ids: IntArray | None = None, n_groups: int = 1
) -> list[GroupSums]:
    """Exact sums of one chunk, per group id (None: one group)."""
    # Squares of huge losses or weights may overflow: the exact sums keep such
    # terms apart as non-finite and the metrics built on them become null.
    n_sums = n_groups * (3 + len(SUM_NAMES) * len(chunk.losses))
    if kernel is not None and n_sums <= _KERNEL_SUMS_LIMIT:
        return _kernel_sums(chunk, group_ids, n_groups)
    with np.errstate(over="ignore", invalid="ignore"):
        return _chunk_sums(chunk, group_ids, n_groups)


def _kernel_sums(chunk: ChunkLosses, group_ids: IntArray | None, n_groups: int) -> list[GroupSums]:
    """``chunk_sums`` by the C kernel: the same per-row terms, added exactly in C."""
    assert kernel is not None
    ids = None if group_ids is None else np.ascontiguousarray(group_ids, dtype=np.intp)
    return sums_from_kernel(
        kernel.group_sums(
            chunk.y, chunk.probs, chunk.losses, chunk.weight, ids, n_groups, chunk.logit, chunk.eps
        )
    )


def sums_from_kernel(raw: list[Any]) -> list[GroupSums]:
    """The C kernel's per-group sums (plain tuples, see ``group_to_python`` in module.c)."""
    groups = []
    for rows, positive_rows, weight, weight_sq, positives, models in raw:
        group = GroupSums(n_models=len(models), rows=rows)
        if weight is None:
            group.weight = ExactSum.from_int(rows)
            group.weight_sq = ExactSum.from_int(rows)
            group.positives = ExactSum.from_int(positive_rows)
        else:
            group.weight = ExactSum(*weight)
            group.weight_sq = ExactSum(*weight_sq)
            group.positives = ExactSum(*positives)
        for model, (clipped, states) in zip(group.models, models):
            # The kernel's sums come in SUM_NAMES order (bce_sums.h).
            model.sums = {name: ExactSum(*state) for name, state in zip(SUM_NAMES, states)}
            model.clipped = clipped
        groups.append(group)
    return groups


def _chunk_sums(chunk: ChunkLosses, group_ids: IntArray | None, n_groups: int) -> list[GroupSums]:
    y = chunk.y
    w = chunk.weight
    n_models = len(chunk.losses)
    groups = [GroupSums(n_models=n_models) for _ in range(n_groups)]

    def sums(values: FloatArray) -> list[ExactSum]:
        return exactsum.grouped_exact_sums(values, group_ids, n_groups)

    def counts(mask: BoolArray | None) -> list[int]:
        if group_ids is None:
            return [int(len(y) if mask is None else np.count_nonzero(mask))]
        ids = group_ids if mask is None else group_ids[mask]
        return [int(c) for c in np.bincount(ids, minlength=n_groups)]

    rows = counts(None)
    for group, n in zip(groups, rows):
        group.rows = n
    if w is None:
        for group, n, n_positive in zip(groups, rows, counts(y)):
            group.weight = ExactSum.from_int(n)
            group.weight_sq = ExactSum.from_int(n)
            group.positives = ExactSum.from_int(n_positive)
    else:
        for group, total, total_sq, pos in zip(
            groups, sums(w), sums(w * w), sums(np.where(y, w, 0.0))
        ):
            group.weight, group.weight_sq, group.positives = total, total_sq, pos

    target = y.astype(np.float64)
    first_loss = chunk.losses[0]
    for index, (p, loss) in enumerate(zip(chunk.probs, chunk.losses)):
        clip = chunk.clipped(index)
        clip_counts = [0] * n_groups if clip is None else counts(clip)
        terms = RowTerms(p=p, target=target, loss=loss, first_loss=first_loss, w=w)
        table = MODEL_TERMS if index == 0 else {**MODEL_TERMS, **DIFF_TERMS}
        columns = {name: term(terms) for name, term in table.items()}
        # Without weights several terms are the same array: sum each array once.
        by_array: dict[int, list[ExactSum]] = {}
        for values in columns.values():
            if id(values) not in by_array:
                by_array[id(values)] = sums(values)
        for gid, group in enumerate(groups):
            model = group.models[index]
            for name, values in columns.items():
                model.sums[name] = by_array[id(values)][gid].copy()
            model.clipped = clip_counts[gid]
    return groups
