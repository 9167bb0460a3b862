"""Which input columns hold the label, the predictions, the weight and the groups."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from bcecli.errors import ColumnError, UsageError, shown_path

LABEL_NAMES = ("label", "y", "y_true", "target", "truth", "actual", "class")
PROB_NAMES = (
    "prob",
    "probability",
    "p",
    "y_pred",
    "y_prob",
    "pred",
    "prediction",
    "score",
)


@dataclass(frozen=True)
class ColumnSpec:
    """What the user asked for: names (or 1-based positions with --no-header), or None."""

    label: str | None = None
    prob: tuple[str, ...] = ()
    logit: str | None = None
    weight: str | None = None
    by: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class Columns:
    """Resolved column names, as they appear in the input."""

    label: str
    predictions: tuple[str, ...]
    logit: bool = False
    weight: str | None = None
    by: tuple[str, ...] = ()
    keep: tuple[str, ...] = field(default=())

    @property
    def needed(self) -> list[str]:
        """Every column to read, each once, in a stable order."""
        names = [self.label, *self.predictions]
        if self.weight:
            names.append(self.weight)
        names.extend(self.by)
        names.extend(self.keep)
        return list(dict.fromkeys(names))


def resolve_columns(spec: ColumnSpec, available: Sequence[str], source: str) -> Columns:
    """Match the user's column names (or the well-known ones) to the input's columns."""
    if spec.prob and spec.logit:
        raise UsageError("Pass either --prob or --logit, not both.")
    label = (
        _find(spec.label, available, source, "--label")
        if spec.label
        else _detect(LABEL_NAMES, available, source, "label", "--label/-y")
    )
    if spec.logit:
        predictions: tuple[str, ...] = (_find(spec.logit, available, source, "--logit"),)
    elif spec.prob:
        predictions = tuple(_find(name, available, source, "--prob") for name in spec.prob)
    else:
        predictions = (_detect(PROB_NAMES, available, source, "probability", "--prob/-p"),)
    weight = _find(spec.weight, available, source, "--weight") if spec.weight else None
    by = tuple(_find(name, available, source, "--by") for name in spec.by)
    keep = tuple(_find(name, available, source, "--keep") for name in spec.keep)
    # A repeated name could mean either column: refuse it rather than pick one.
    kind = "logit" if spec.logit else "probability"
    roles = [
        (label, "the label column"),
        *[(name, f"the {kind} column") for name in predictions],
    ]
    if weight:
        roles.append((weight, "the weight column"))
    roles += [(name, "a --by column") for name in by] + [(name, "a --keep column") for name in keep]
    for name, role in roles:
        _check_unique(name, available, source, role)
    if label in predictions:
        raise UsageError(f"Column {label!r} cannot be both the label and a prediction.")
    if len(set(predictions)) != len(predictions):
        raise UsageError("The same prediction column is named twice.")
    return Columns(
        label=label,
        predictions=predictions,
        logit=bool(spec.logit),
        weight=weight,
        by=by,
        keep=keep,
    )


def _find(name: str, available: Sequence[str], source: str, option: str) -> str:
    if name in available:
        return name
    folded = list(
        dict.fromkeys(column for column in available if column.casefold() == name.casefold())
    )
    if len(folded) == 1:
        return folded[0]
    message = f"{shown_path(source)} has no column {name!r} (for {option})."
    close = difflib.get_close_matches(name, list(available), n=1, cutoff=0.6)
    if close:
        message += f" Did you mean {close[0]!r}?"
    else:
        message += f" Its columns are: {_listing(available)}."
    raise ColumnError(message)


def _detect(
    known: Sequence[str], available: Sequence[str], source: str, what: str, option: str
) -> str:
    wanted = {name.casefold() for name in known}
    found = list(
        dict.fromkeys(column for column in available if column.strip().casefold() in wanted)
    )
    if len(found) == 1:
        return found[0]
    if not found:
        raise ColumnError(
            f"{shown_path(source)} has no {what} column with a well-known name; its columns "
            f"are: {_listing(available)}. {_delimiter_hint(available) or f'Name it with {option}.'}"
        )
    raise ColumnError(
        f"{shown_path(source)} has several {what}-like columns ({_listing(found)}). "
        f"Name the one to use with {option}."
    )


def _check_unique(name: str, available: Sequence[str], source: str, role: str) -> None:
    if available.count(name) > 1:
        raise ColumnError(
            f"{shown_path(source)} has {repeats(name, available)}, so bce cannot tell which "
            f"one is {role}; rename one of them."
        )


def repeats(name: str, available: Sequence[str]) -> str:
    """``2 columns named 'prob' (columns 2 and 3)``: a repeated name and where it is."""
    positions = [str(i) for i, column in enumerate(available, start=1) if column == name]
    where = ", ".join(positions[:-1]) + " and " + positions[-1]
    return f"{len(positions)} columns named {name!r} (columns {where})"


def _delimiter_hint(names: Sequence[str]) -> str | None:
    """Column names holding another delimiter mean the file was split on the wrong one."""
    for delimiter, said, value in (
        ("\t", "a tab", "tab"),
        (";", "';'", "';'"),
        ("|", "'|'", "'|'"),
    ):
        if any(delimiter in name for name in names):
            return f"Is the delimiter {said}? Pass -d {value}."
    return None


def _listing(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown or "(none)"
