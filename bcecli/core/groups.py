"""The accumulator of exact sums per ``--by`` group, keyed by the groups' values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from bcecli.core.accumulate import GroupSums
from bcecli.core.batch import Batch, GroupKey, StateConfig

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; annotations only, so 3.10 runs without it


class GroupedSums:
    """Sums per group key; memory grows with the number of groups, not of rows."""

    name: ClassVar[str] = "groups"

    def __init__(self, n_models: int, by: tuple[str, ...]) -> None:
        self.n_models = n_models
        self.by = by
        self.groups: dict[GroupKey, GroupSums] = {}

    @classmethod
    def create(cls, config: StateConfig) -> Self | None:
        return cls(config.n_models, config.by) if config.by else None

    def update(self, batch: Batch) -> None:
        if not batch.rows:
            return
        for key, part in zip(batch.group_keys, batch.group_sums):
            self._group(key).merge(part)

    def merge(self, other: Self) -> None:
        for key, group in other.groups.items():
            self._group(key).merge(group)

    def add(self, key: GroupKey, sums: GroupSums) -> None:
        """Add one group's rows scored elsewhere (the C kernel's CSV fast path)."""
        self._group(key).merge(sums)

    def _group(self, key: GroupKey) -> GroupSums:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = GroupSums(n_models=self.n_models)
        return group

    def to_state(self) -> dict[str, Any]:
        # Keys must hold JSON-able values to survive JSON (a list of pairs, since a
        # key is a tuple).
        return {
            "n_models": self.n_models,
            "by": list(self.by),
            "groups": [[list(key), group.to_state()] for key, group in self.groups.items()],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        result = cls(int(state["n_models"]), tuple(state["by"]))
        result.groups = {tuple(key): GroupSums.from_state(group) for key, group in state["groups"]}
        return result
