"""``--engine dask``: score partitions on an existing Dask cluster and merge their states.

A partition is one row group of a Parquet file, one byte range of an uncompressed CSV
file (about 64 MiB: ``bcecli.io.ranges``), or one whole compressed CSV file. Each is
scored on a worker by the same code as the local engine into a partial ``ScoreState``,
shipped as its plain ``to_state()`` dict, and the states merge in a tree reduction that
keeps input order. Exact sums make the merge order irrelevant to every number, and the
order kept makes the first error in input order win, so the report (or the error) is
the one the local engine gives.

A byte range numbers its rows from 1: the ranges of one file merge first, in order,
each one's ``--worst`` rows shifted by the rows before it. If any range of a file fails
(an invalid row, a quote open across a line end), that file is scored again in one task
from its start, so the error is the one, word for word, a local pass stops at.

dask and distributed are imported inside functions: they are an optional extra.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bcecli.engines import SCHEDULER_VARIABLE
from bcecli.errors import (
    BaselineError,
    BceError,
    ColumnError,
    InputError,
    InvalidRowError,
    UsageError,
)

if TYPE_CHECKING:
    from bcecli.core.state import ScoreState
    from bcecli.io.columns import Columns
    from bcecli.io.convert import LabelRule
    from bcecli.io.parquet_reader import ParquetReader
    from bcecli.io.ranges import ByteRange
    from bcecli.io.readers import Reader
    from bcecli.io.sources import Source
    from bcecli.scoring.inputs import ScoreResult
    from bcecli.scoring.settings import Settings

INSTALL_HINT = "pip install 'dask[distributed]'"  # the dask extra, however bce was installed
SPLIT_EVERY = 8  # states merged per reduction task
CONNECT_TIMEOUT = 10  # seconds to reach the scheduler, and again for the client to connect
TIMEOUT_VARIABLE = "BCE_DASK_CONNECT_TIMEOUT"  # seconds, in place of CONNECT_TIMEOUT

# A partition's result, as it travels between workers: {"state": ScoreState.to_state()}
# or {"error": payload}. Plain data: the scheduler and workers hold it without bce's
# classes, and a state never depends on how a class pickles.
Result = dict[str, Any]


def dask_available() -> bool:
    from importlib.util import find_spec

    return find_spec("dask") is not None and find_spec("distributed") is not None


@dataclass(frozen=True)
class Partition:
    """What one task scores: a whole CSV file, a byte range of one, or one row group of
    a Parquet file."""

    input_index: int
    source: Source
    file_index: int = -1  # Parquet: which file of the source (a dataset has many)
    group: int = -1  # Parquet: which row group of that file
    first_row: int = 1  # the file's row number of the partition's first row
    byte_range: ByteRange | None = None  # CSV: the lines of the file that start in it


def score_on_dask(
    sources: Sequence[Source],
    settings: Settings,
    *,
    scheduler: str,
    on_progress: Callable[[int], None] | None = None,
    split_bytes: int | None = None,
) -> ScoreResult:
    """Score ``sources`` as one population on the cluster at ``scheduler``.

    An uncompressed CSV file is scored in byte ranges of about ``split_bytes`` (default
    ``$BCE_DASK_SPLIT_BYTES``, else 64 MiB), one task each.
    """
    from bcecli.io.ranges import split_bytes_setting

    split = split_bytes_setting(split_bytes)
    if any(source.is_stdin for source in sources):
        raise UsageError(
            "--engine dask reads files and object-store URLs, not standard input; "
            "pass FILE arguments, or score standard input with the local engine."
        )
    client = _connect(scheduler)
    try:
        return _score(client, list(sources), settings, on_progress, split)
    finally:
        client.close()


def _connect(scheduler: str) -> Any:
    """A client of the scheduler at ``scheduler``; UsageError (exit 2) within about
    twice the connect timeout if no Dask scheduler answers there, whatever does."""
    timeout = _connect_timeout()
    _probe(scheduler, timeout)
    try:
        return _client_class()(scheduler, timeout=timeout, set_as_default=False)
    except Exception as error:  # any failure to connect is the address's, not a bug's
        raise _unreachable(scheduler, _reason(error)) from None


@functools.cache
def _client_class() -> type:
    """distributed's Client, made to let go at once of a connection that failed.

    A client whose start failed with anything but an OSError (a TLS address without TLS
    settings, a server that answered nonsense) is left half open: when it is collected,
    it waits twice the timeout to close and prints a traceback. This one is marked
    closed and its event loop stopped as the error leaves the constructor.
    """
    from distributed import Client

    class QuietClient(Client):
        def start(self, **kwargs: Any) -> None:
            try:
                super().start(**kwargs)  # type: ignore[no-untyped-call]
            except BaseException:
                self.status = "closed"
                self._loop_runner.stop()  # type: ignore[no-untyped-call]
                raise

    return QuietClient


def _connect_timeout() -> float:
    value = os.environ.get(TIMEOUT_VARIABLE)
    if value is None:
        return CONNECT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= 3600:
        raise UsageError(f"{TIMEOUT_VARIABLE} must be a number of seconds, not {value!r}.")
    return seconds


def _unreachable(scheduler: str, why: str, *, other_server: bool = False) -> UsageError:
    hint = (
        " (a scheduler listens on port 8786 unless told otherwise; 8787 is its dashboard)"
        if other_server
        else ", and that the scheduler is running"
    )
    return UsageError(
        f"Cannot reach the Dask scheduler at {scheduler}: {why}. "
        f"Check --scheduler or {SCHEDULER_VARIABLE}{hint}."
    )


def _probe(scheduler: str, timeout: float) -> None:
    """Check, within about ``timeout`` seconds, that a Dask scheduler answers at a tcp://
    address, before distributed's client talks to it.

    The client trusts whatever answers: it reads an 8-byte length from it and allocates
    that many bytes (random bytes asked for exabytes), and it waits for the handshake
    without a time limit (an HTTP server never sends one). Here the raw socket comes
    first: the server, which speaks first, must send a plausible length; then
    distributed's comm layer asks it, under the deadline, what kind of server it is.
    The probe runs on a daemon thread, so not even a stuck name lookup can hold bce.
    """
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    try:
        scheme, location = parse_address(scheduler)
        get_backend(scheme)
        if scheme != "tcp":
            return  # TLS and the other transports cannot be read raw: the client's timeout holds
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as error:
        raise UsageError(
            f"{scheduler} is not a Dask scheduler address ({_reason(error)}); pass "
            f"--scheduler tcp://HOST:PORT or set {SCHEDULER_VARIABLE}."
        ) from None
    outcome: list[tuple[str, bool]] = []  # (why not, another kind of server?); empty: no verdict

    def check() -> None:
        try:
            outcome.append(_check_scheduler(scheduler, host, port, timeout))
        except BaseException as error:  # a thread must not die with a traceback
            outcome.append((_reason(error), False))

    thread = threading.Thread(target=check, name="bce-dask-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1)
    if not outcome:
        raise _unreachable(scheduler, f"no answer within {timeout:g} s")
    why, other_server = outcome[0]
    if why:
        raise _unreachable(scheduler, why, other_server=other_server)


_HANDSHAKE_LIMIT = 1 << 20  # bytes; a scheduler's greeting is about a hundred


def _check_scheduler(address: str, host: str, port: int, timeout: float) -> tuple[str, bool]:
    """("", False) if a Dask scheduler answers at ``address`` within ``timeout`` seconds;
    otherwise why not, and whether another kind of server answered."""
    import asyncio
    import socket
    import struct

    deadline = time.monotonic() + timeout
    within = f"within {timeout:g} s"

    def left() -> float:
        return max(deadline - time.monotonic(), 0.001)

    try:
        connection = socket.create_connection((host, port), timeout=left())
    except socket.gaierror:
        return f"unknown host {host!r}", False
    except ConnectionRefusedError:
        return "nothing listens there (connection refused)", False
    except TimeoutError:
        return f"no connection {within}", False
    except OSError as error:
        return error.strerror or _reason(error), False
    with connection:
        greeting = b""
        try:
            while len(greeting) < 8:
                connection.settimeout(left())
                received = connection.recv(8 - len(greeting))
                if not received:
                    return "the server there closed the connection without a Dask handshake", True
                greeting += received
        except TimeoutError:
            return f"the server there sent no Dask handshake {within}", True
        except OSError as error:
            return f"the server there broke the connection ({_reason(error)})", True
    # The frames' total length, in distributed's byte order (native, as it packs it).
    (length,) = struct.unpack("Q", greeting)
    if not 0 < length <= _HANDSHAKE_LIMIT:
        return "the server there does not speak Dask's protocol", True
    try:
        kind = asyncio.run(asyncio.wait_for(_server_kind(address, left()), left()))
    except (asyncio.TimeoutError, TimeoutError):
        return f"the server there did not say what it is {within}", True
    except Exception as error:
        return f"the server there does not answer as a Dask scheduler ({_reason(error)})", True
    if kind not in (None, "Scheduler"):
        return f"that is a Dask {kind.lower()}, not the scheduler", True
    return "", False


async def _server_kind(address: str, timeout: float) -> str | None:
    """What a Dask server says it is ("Scheduler", "Worker", "Nanny"), if it says."""
    from distributed.comm.core import connect

    comm = await connect(address, timeout=timeout)  # type: ignore[no-untyped-call]
    try:
        await comm.write({"op": "identity", "reply": True})
        reply = await comm.read()
    finally:
        await comm.close()
    kind = reply.get("type") if isinstance(reply, dict) else None
    return kind if isinstance(kind, str) else None


def _score(
    client: Any,
    sources: list[Source],
    settings: Settings,
    on_progress: Callable[[int], None] | None,
    split_bytes: int,
) -> ScoreResult:
    from bcecli.core.batch import InputRef
    from bcecli.scoring.inputs import finish

    columns, leaves, scored = _plan(client, sources, settings, split_bytes)
    counts = _track(client, scored, on_progress) if on_progress is not None else []
    root = _reduce(client, leaves)
    try:
        result: Result = root if isinstance(root, dict) else root.result()
    except BceError:
        raise
    except Exception as error:  # a worker died, or the cluster went away
        raise BceError(
            f"The Dask cluster failed while scoring ({type(error).__name__}: "
            f"{_reason(error)}); see the worker logs."
        ) from None
    del counts  # progress is over
    if "error" in result:
        raise _rebuild_error(result["error"])
    assert columns is not None
    state = _state_from(result["state"])
    for index, source in enumerate(sources):  # inputs no partition read: zero rows
        state.open_input(InputRef(index, source.path, source.format))
    return finish(settings, columns, state)


# -- planning (on this machine) ----------------------------------------------------

Leaf = Any  # a Future of a Result, or a Result known here (an error found while planning)


def _plan(
    client: Any, sources: list[Source], settings: Settings, split_bytes: int
) -> tuple[Columns | None, list[Leaf], list[Any]]:
    """(columns, the leaves to merge in input order, the futures of every partition's
    result, whose rows the progress display counts).

    Headers and schemas are read here, in order, as the local engine reads them; an
    error found while planning becomes the last leaf, at its place in input order,
    and nothing after it is scored. A CSV file's byte ranges merge into one leaf.
    """
    from bcecli.io.parquet_reader import ParquetReader
    from bcecli.io.ranges import line_layout, plan_ranges
    from bcecli.io.readers import open_reader
    from bcecli.scoring.inputs import each_input

    columns: Columns | None = None
    stop: Result | None = None
    # Per input: (its index, its Parquet reader on the cluster and futures of its files'
    # row-group sizes, or for CSV None and its byte ranges: none for one whole task).
    opened: list[tuple[int, Any, list[Any] | None, list[ByteRange]]] = []
    opening = (open_reader(source, no_header=settings.no_header) for source in sources)
    inputs = each_input(opening, settings)
    try:
        # Headers are read (and each reader closed) in input order, as locally.
        for one in inputs:
            columns, reader = one.columns, one.reader
            layout = line_layout(reader)
            reader.close()  # workers open their own: only its file list travels
            if isinstance(reader, ParquetReader):
                # Each worker gets the reader (its file list and names) once, not per task.
                shared = client.scatter(reader, hash=False)
                sizes = client.map(
                    _row_group_sizes,
                    range(len(reader.files)),
                    reader=shared,
                    columns=columns.needed,
                    pure=False,
                )
                opened.append((one.ref.index, shared, sizes, []))
            else:
                ranges = []
                if layout is not None:
                    ranges = plan_ranges(layout, reader.column_names, split_bytes)
                opened.append((one.ref.index, None, None, ranges if len(ranges) > 1 else []))
    except BceError as error:
        stop = _error_result(error)
    finally:
        inputs.close()
    if columns is None:
        assert stop is not None
        return None, [stop], []

    partitions: list[Partition] = []
    readers: list[Any] = []  # per partition: its Parquet reader on the cluster, or None
    # Per CSV file read in ranges: (its first partition, how many, the whole file's).
    split_files: list[tuple[int, int, Partition]] = []
    for input_index, shared, sizes, ranges in opened:
        source = sources[input_index]
        if sizes is None:
            if ranges:
                split_files.append((len(partitions), len(ranges), Partition(input_index, source)))
            pieces: list[ByteRange | None] = [*ranges] if ranges else [None]
            for byte_range in pieces:
                partitions.append(Partition(input_index, source, byte_range=byte_range))
                readers.append(None)
            continue
        for file_index, outcome in enumerate(client.gather(sizes)):
            if "error" in outcome:  # this file comes before anything found later
                stop = outcome
                break
            first_row = 1
            for group, rows in enumerate(outcome["sizes"]):
                partitions.append(Partition(input_index, source, file_index, group, first_row))
                readers.append(shared)
                first_row += rows
        else:
            continue
        break

    rules: list[LabelRule] = []
    if partitions:
        rules = _starting_rules(client, partitions, readers, columns, settings)
    scored: list[Any] = []
    if partitions:
        scored = client.map(
            _score_partition,
            partitions,
            readers,
            rules,
            settings=settings,
            columns=columns,
            pure=False,
        )
    leaves: list[Leaf] = list(scored)
    for first, count, whole in reversed(split_files):  # later files first: indices hold
        root = _reduce(client, scored[first : first + count], _merge_ranges)
        leaves[first : first + count] = [
            client.submit(
                _finish_file,
                root,
                whole,
                rules[first],
                settings=settings,
                columns=columns,
                pure=False,
            )
        ]
    if stop is not None:
        leaves.append(stop)
    if not leaves:  # files without row groups: nothing to score, as locally
        from bcecli.core.state import ScoreState

        empty = ScoreState(settings.state_config(columns))
        leaves.append({"state": empty.to_state()})
    return columns, leaves, scored


def _starting_rules(
    client: Any,
    partitions: list[Partition],
    readers: list[Any],
    columns: Columns,
    settings: Settings,
) -> list[LabelRule]:
    """The label rule each partition starts from, as one pass in row order learns it.

    The rule (0/1 or true/false, or --pos-label's negative class) comes from the
    first label that settles it: a partition starts from the rule its predecessors
    settled, or learns its own. The first partition usually settles it; only when it
    does not are the others read (each up to its first settling label).
    """
    undecided: LabelRule = (None, None)

    def firsts(parts: list[Partition], shared: list[Any]) -> list[LabelRule]:
        found: list[LabelRule] = client.gather(
            client.map(_first_rule, parts, shared, settings=settings, columns=columns, pure=False)
        )
        return found

    found = firsts(partitions[:1], readers[:1])
    if found[0] == undecided and len(partitions) > 1:
        found += firsts(partitions[1:], readers[1:])
    return _rules_in_order(found, len(partitions))


def _rules_in_order(found: list[LabelRule], count: int) -> list[LabelRule]:
    """Each of ``count`` partitions' starting rule, from the rules the first ones settle
    on their own (``found``): the first settled before it, else undecided."""
    undecided: LabelRule = (None, None)
    rules: list[LabelRule] = []
    known = undecided
    for index in range(count):
        rules.append(known)
        if known == undecided and index < len(found):
            known = found[index]
    return rules


def _reduce(client: Any, leaves: list[Leaf], merge: Callable[..., Result] | None = None) -> Leaf:
    """Merge leaves in a tree, SPLIT_EVERY at a time, keeping their order."""
    merge = merge or _merge_results
    level = list(leaves)
    while len(level) > 1:
        level = [
            client.submit(merge, *level[start : start + SPLIT_EVERY], pure=False)
            for start in range(0, len(level), SPLIT_EVERY)
        ]
    return level[0]


def _track(client: Any, futures: list[Any], on_progress: Callable[[int], None]) -> list[Any]:
    """Advance the progress display as partitions finish: a tiny task per partition
    reports its rows read, so states need not travel here. Keep the returned futures
    until the pass ends (a released future's task is forgotten)."""

    def advance(count: Any) -> None:
        try:
            if count.status == "finished":
                on_progress(count.result())
        except Exception:  # the pass ended (or failed) first: nothing left to show
            pass

    counts: list[Any] = client.map(_rows_read, futures, pure=False)
    for count in counts:
        count.add_done_callback(advance)
    return counts


# -- tasks (on the workers) --------------------------------------------------------


def _row_group_sizes(file_index: int, *, reader: ParquetReader, columns: list[str]) -> Result:
    try:
        return {"sizes": reader.row_group_sizes(file_index, columns)}
    except BceError as error:
        return _error_result(error)


def _open_text(part: Partition, settings: Settings) -> Reader:
    """The reader of a CSV partition: the whole file, or its byte range."""
    from bcecli.io.ranges import open_range
    from bcecli.io.readers import open_reader

    if part.byte_range is not None:
        return open_range(part.source, part.byte_range)
    return open_reader(part.source, no_header=settings.no_header)


def _partition_chunks(
    part: Partition,
    reader: ParquetReader | None,
    columns: Columns,
    settings: Settings,
    needed: list[str],
) -> tuple[Any, Any]:
    """(reader to close or None, chunks) of one partition, as the local engine reads them."""
    from bcecli.scoring.inputs import column_types

    float_columns, text_columns = column_types(columns)
    if reader is not None:
        chunks = reader.row_group_chunks(
            part.file_index, part.group, part.first_row, needed, settings.chunk_size
        )
        return None, chunks
    csv = _open_text(part, settings)
    float_columns = [name for name in float_columns if name in needed]
    text_columns = tuple(name for name in text_columns if name in needed)
    return csv, csv.chunks(needed, settings.chunk_size, float_columns, text_columns)


def _score_partition(
    part: Partition,
    reader: ParquetReader | None,
    rule: LabelRule,
    *,
    settings: Settings,
    columns: Columns,
) -> Result:
    from bcecli.core.batch import InputRef
    from bcecli.core.state import ScoreState
    from bcecli.engines.local import score_input
    from bcecli.scoring.batches import ChunkValidator
    from bcecli.scoring.inputs import OpenInput
    from bcecli.scoring.passes import score_chunks

    state = ScoreState(settings.state_config(columns))
    ref = InputRef(part.input_index, part.source.path, part.source.format)
    validator = ChunkValidator(columns, settings)
    validator.labels.kind, validator.labels.negative = rule
    opened: Reader | None = None
    try:
        # One thread per task: the cluster's workers are the parallelism.
        if reader is None:  # CSV: the local engine's pass, its C kernel's fast path too
            opened = _open_text(part, settings)
            text = OpenInput(ref, opened, columns)
            score_input(text, state, validator=validator, settings=settings, workers=1)
        else:
            chunks = reader.row_group_chunks(
                part.file_index, part.group, part.first_row, columns.needed, settings.chunk_size
            )
            score_chunks(chunks, state, validator=validator, ref=ref, settings=settings, workers=1)
    except BceError as error:
        return _error_result(error)
    finally:
        if opened is not None:
            opened.close()
    result: Result = {"state": state.to_state()}
    if part.byte_range is not None:
        result["numbered"] = _numbers_used(opened, state)
    return result


def _numbers_used(reader: Reader | None, state: ScoreState) -> int:
    """How many row numbers a byte range used: its reader's count (JSON Lines numbers
    rows by line, blank ones too), else its rows, valid and skipped (CSV)."""
    count = getattr(reader, "numbers_used", None)
    if count is not None:
        return int(count())
    return sum(stats.rows + stats.skipped for stats in state.input_stats())


def _first_rule(
    part: Partition, reader: ParquetReader | None, *, settings: Settings, columns: Columns
) -> LabelRule:
    """The label rule this partition settles on its own ((None, None): none, or an error
    the scoring pass will report in its place)."""
    from bcecli.io.convert import LabelMapper
    from bcecli.scoring.inputs import close_iterator

    mapper = LabelMapper(settings.pos_label)
    opened = chunks = None
    try:
        opened, chunks = _partition_chunks(part, reader, columns, settings, [columns.label])
        for chunk in chunks:
            mapper.learn(chunk.table.column(0))
            if mapper.settled:
                break
    except BceError:
        return None, None
    finally:
        close_iterator(chunks)  # stop its reading threads now, on this thread
        if opened is not None:
            opened.close()
    return mapper.kind, mapper.negative


def _rows_read(result: Result) -> int:
    if "state" not in result:
        return 0
    counts = result["state"]["inputs"]["inputs"]
    return sum(int(stats["rows"]) + int(stats["skipped"]) for _, stats in counts)


def _merge_ranges(*results: Result) -> Result:
    """Merge the states of consecutive byte ranges of one file in order, each one's rows
    renumbered to follow the rows of those before it; the first error wins."""
    return _merged(results, ranges=True)


def _finish_file(
    result: Result, whole: Partition, rule: LabelRule, *, settings: Settings, columns: Columns
) -> Result:
    """A file's ranges merged, or, if one failed, the file scored again in one pass from
    its start: the error a local pass stops at, in its words, whichever range it was in
    and however the file was cut (a quote open across a cut included)."""
    if "error" not in result:
        return result
    return _score_partition(whole, None, rule, settings=settings, columns=columns)


def _merge_results(*results: Result) -> Result:
    """Merge partial states in order; the first error in order wins, as locally."""
    return _merged(results, ranges=False)


def _merged(results: tuple[Result, ...], *, ranges: bool) -> Result:
    """Results merged in order, the first error winning. Byte ranges of one file carry
    the row numbers each used (``numbered``): each one's --worst rows are shifted by
    those of the ranges before it, and the merged result carries their sum."""
    merged: ScoreState | None = None
    numbered = 0  # the row numbers the ranges merged so far used
    for result in results:
        if "error" in result:
            return result
        state = _state_from(result["state"])
        if merged is None:
            merged = state
        else:
            if ranges and state.worst is not None:
                state.worst.renumber(numbered)
            merged.merge(state)
        if ranges:
            numbered += int(result["numbered"])
    assert merged is not None
    if ranges:
        return {"state": merged.to_state(), "numbered": numbered}
    return {"state": merged.to_state()}


def _state_from(data: dict[str, Any]) -> ScoreState:
    """A partial state back from its plain data; one of another bce version is refused."""
    from bcecli.core.state import ScoreState, StateVersionError

    try:
        return ScoreState.from_state(data)
    except StateVersionError as error:
        raise UsageError(str(error)) from None


# -- errors as data ---------------------------------------------------------------

# Errors travel as plain data: an InvalidRowError does not survive pickling (its
# constructor takes four arguments), and a plain dict needs no bce on the scheduler.
_ERROR_CLASSES: dict[str, type[BceError]] = {
    cls.__name__: cls for cls in (BceError, UsageError, InputError, ColumnError, BaselineError)
}


def _error_result(error: BceError) -> Result:
    if isinstance(error, InvalidRowError):
        return {
            "error": {
                "class": "InvalidRowError",
                "path": error.path,
                "row": error.row,
                "column": error.column,
                "problem": error.problem,
            }
        }
    return {"error": {"class": type(error).__name__, "message": error.message}}


def _rebuild_error(payload: dict[str, Any]) -> BceError:
    if payload["class"] == "InvalidRowError":
        return InvalidRowError(
            payload["path"], int(payload["row"]), payload["column"], payload["problem"]
        )
    cls = _ERROR_CLASSES.get(payload["class"], InputError)
    return cls(payload["message"])


def _reason(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
