"""The distribution of each prediction column's per-row losses: fixed log-spaced bins,
kept exactly and merged like every other state, so every engine draws the same picture.

The bins are fixed, whatever the data: ``EDGES`` are the 65 float64 values nearest to
10**(k/8) for k = -48 .. 16 (1e-6 .. 100, eight bins a decade). Bin 0 is the underflow
bin [0, 1e-6), bin i (1 .. 64) is [EDGES[i-1], EDGES[i]), and bin 65 the overflow bin
[100, inf): a probability clipped at eps = 2**-52 loses at most about 36.04; only logits
reach past 100. A loss's bin is the number of edges at or below it, found by comparison
(``searchsorted(EDGES, loss, side="right")``), never by a logarithm, so the C kernel's
fast paths, which are handed these very values, put every row in the same bin. A NaN
loss (none arises from valid rows) would go to the overflow bin on both paths.

Per model and bin, the accumulator keeps the rows and the exact sum of their weights
(without weights, the weight is the row count).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from bcecli.core.batch import Batch, StateConfig
from bcecli.core.entries import LossHistogram
from bcecli.core.exact import ExactSum
from bcecli.core.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from bcecli.core import exactsum

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.intp]
else:
    np = lazy("numpy")
    exactsum = lazy("bcecli.core.exactsum")

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; annotations only, so 3.10 runs without it

# float64 nearest to 10**(k/8), k = -48 .. 16 (tests/test_loss_histogram.py checks each
# against 60 decimal digits). Written out, so every machine of a Dask run bins alike.
# fmt: off
_EDGE_BITS = (
    "0x1.0c6f7a0b5ed8dp-20", "0x1.65f6e520fb379p-20", "0x1.dd5a6e3869738p-20",
    "0x1.3e47c7b496466p-19", "0x1.a86f0875fcf94p-19", "0x1.1afee85b42d19p-18",
    "0x1.7961810874a9fp-18", "0x1.f73ed81c4ad79p-18", "0x1.4f8b588e368f1p-17",
    "0x1.bf749e693a057p-17", "0x1.2a5884e341e83p-16", "0x1.8dd9b9a1bbd80p-16",
    "0x1.09456549be1bdp-15", "0x1.61bea2721385fp-15", "0x1.d7b9e14a91d46p-15",
    "0x1.3a874711aec6cp-14", "0x1.a36e2eb1c432dp-14", "0x1.17a8e301c4436p-13",
    "0x1.74eea61c12623p-13", "0x1.f150280a2ace0p-13", "0x1.4b96be9c2da2cp-12",
    "0x1.ba2e4b0e98677p-12", "0x1.26d42cce9b24cp-11", "0x1.892918d61a787p-11",
    "0x1.0624dd2f1a9fcp-10", "0x1.5d931bc235544p-10", "0x1.d22a4fa316facp-10",
    "0x1.36d219065ac0cp-9", "0x1.9e7c6e43390b7p-9", "0x1.145ceee91f40bp-8",
    "0x1.7089380241edfp-8", "0x1.eb735f0ba1168p-8", "0x1.47ae147ae147bp-7",
    "0x1.b4f7e2b2c2a95p-7", "0x1.235a71c5ee5ccp-6", "0x1.84869f47f170fp-6",
    "0x1.030dc4ea03a72p-5", "0x1.59742aa36710dp-5", "0x1.ccab8602d2697p-5",
    "0x1.33281b6744ae1p-4", "0x1.999999999999ap-4", "0x1.111aedafb9a9dp-3",
    "0x1.6c310e3769f3fp-3", "0x1.e5a84719edcd2p-3", "0x1.43d136248490fp-2",
    "0x1.afd1354c40d50p-2", "0x1.1feb33c1c381ep-1", "0x1.7ff2224115d9ap-1",
    "0x1.0000000000000p+0", "0x1.5561a91ba8144p+0", "0x1.c73d51c54470ep+0",
    "0x1.2f892c7034a03p+1", "0x1.94c583ada5b53p+1", "0x1.0de2c14fa8852p+2",
    "0x1.67e600b234626p+2", "0x1.dfeeaad15b500p+2", "0x1.4000000000000p+3",
    "0x1.aaba136292195p+3", "0x1.1c86531b4ac69p+4", "0x1.7b6b778c41c84p+4",
    "0x1.f9f6e4990f227p+4", "0x1.515b71a392a67p+5", "0x1.c1df80dec17afp+5",
    "0x1.2bf52ac2d9120p+6", "0x1.9000000000000p+6",
)
# fmt: on
EDGES: tuple[float, ...] = tuple(float.fromhex(bits) for bits in _EDGE_BITS)
BINS = len(EDGES) + 1  # the underflow bin, one bin between each two edges, the overflow bin
# The edges as the C kernel takes them: a buffer of float64, the very same values.
EDGES_BUFFER = array("d", EDGES).tobytes()


def bin_ids(losses: FloatArray) -> IntArray:
    """Each loss's bin (NaN: the overflow bin, as numpy sorts NaN last)."""
    edges = np.array(EDGES, dtype=np.float64)
    ids: IntArray = np.searchsorted(edges, losses, side="right").astype(np.intp)
    return ids


@dataclass
class ModelHistogram:
    """One prediction column's bins: rows and the exact sum of weights per bin."""

    rows: list[int] = field(default_factory=lambda: [0] * BINS)
    weight: list[ExactSum] = field(default_factory=lambda: [ExactSum() for _ in range(BINS)])

    def add(self, losses: FloatArray, w: FloatArray | None) -> None:
        ids = bin_ids(losses)
        counts = np.bincount(ids, minlength=BINS).tolist()
        self.add_bins(counts, None if w is None else exactsum.grouped_exact_sums(w, ids, BINS))

    def add_bins(self, rows: list[int], weight: list[ExactSum] | None) -> None:
        """Add per-bin rows and weights binned elsewhere (the C kernel's fast paths);
        ``weight`` None: unweighted, the weights are the rows."""
        for index in range(BINS):
            self.rows[index] += rows[index]
            if weight is not None:
                self.weight[index].add(weight[index])
            elif rows[index]:
                self.weight[index].add(ExactSum.from_int(rows[index]))

    def merge(self, other: ModelHistogram) -> None:
        self.add_bins(other.rows, other.weight)

    def to_state(self) -> dict[str, Any]:
        return {
            "rows": list(self.rows),
            "weight": [total.to_state() for total in self.weight],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ModelHistogram:
        rows = [int(count) for count in state["rows"]]
        weight = [ExactSum.from_state(item) for item in state["weight"]]
        if len(rows) != BINS or len(weight) != BINS:
            raise ValueError(f"a loss histogram has {BINS} bins, not {len(rows)}")
        return cls(rows=rows, weight=weight)


@dataclass
class LossHistogramSums:
    """Per prediction column, the histogram of its per-row losses (always on)."""

    name: ClassVar[str] = "loss_histogram"

    models: list[ModelHistogram]

    @classmethod
    def create(cls, config: StateConfig) -> Self | None:
        return cls([ModelHistogram() for _ in range(config.n_models)])

    def update(self, batch: Batch) -> None:
        if batch.rows:
            values = batch.values
            for model, losses in zip(self.models, values.losses):
                model.add(losses, values.weight)

    def add_bins(self, bins: list[tuple[list[int], list[ExactSum] | None]]) -> None:
        """Add per model (rows, weights) per bin, binned by the C kernel."""
        for model, (rows, weight) in zip(self.models, bins, strict=True):
            model.add_bins(rows, weight)

    @classmethod
    def from_kernel(cls, raw: list[tuple[list[int], list[tuple[int, float]] | None]]) -> Self:
        """The kernel's histogram (``hist_to_python`` in bcecli/_native/module.c): per
        model, rows per bin and the weights as ExactSum states, or None unweighted."""
        result = cls([ModelHistogram() for _ in raw])
        result.add_bins(
            [
                (rows, None if weight is None else [ExactSum(*item) for item in weight])
                for rows, weight in raw
            ]
        )
        return result

    def merge(self, other: Self) -> None:
        for mine, theirs in zip(self.models, other.models, strict=True):
            mine.merge(theirs)

    def to_state(self) -> dict[str, Any]:
        return {"models": [model.to_state() for model in self.models]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        return cls([ModelHistogram.from_state(item) for item in state["models"]])

    def table(self, names: list[str]) -> list[LossHistogram]:
        """The report's entries, one per column: the finite edges, and per bin (one more
        than the edges: [0, edges[0]) first, [edges[-1], inf) last) rows and weight."""
        return [
            {
                "column": name,
                "edges": list(EDGES),
                "rows": list(model.rows),
                "weight": [float(total) for total in model.weight],
            }
            for name, model in zip(names, self.models, strict=True)
        ]
