"""Many tokens from one key: one per user, from CSV (a header row) or JSON Lines, on every core.

Each row holds the per-user values of the target (QSEoW: ``user-id``, ``user-directory``,
``name``, ``email``, ``groups``, ``attributes``; Qlik Cloud: ``subject``, ``name``, ``email``,
``email-verified``, ``groups``), named as the inputs are (``user_id`` and ``User-Id`` work too);
every other setting is shared and comes from the usual inputs. A row's values win over the
shared ones. A list (groups, attributes) is one value per line in a CSV cell, as in a variable,
or a JSON array (attributes: a JSON object) in JSON Lines.

The result is JSON Lines, one ``{"user", "token", "expires_at"}`` per row in input order. Each
worker process loads the key once; every Qlik Cloud token gets its own ``jti``. A bad row
stops the run, named by its line number (never by its values), or is skipped and counted.
This module reads no environment, file or clock and prints nothing: the caller passes the
text stream, ``now`` and a progress callback.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import gc
import json
import json.encoder
import os
import signal
import struct
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from qsjwt.base.errors import (
    InputError,
    KeyMaterialError,
    QsjwtError,
    StoppedError,
    WorkerDiedError,
    WorkerStartError,
    ref,
)
from qsjwt.base.findings import Finding
from qsjwt.base.formats import iso_utc
from qsjwt.base.inputs import CERTIFICATE, PRIVATE_KEY, PRIVATE_KEY_PASSPHRASE, Target
from qsjwt.base.values import RawValue, split_lines
from qsjwt.login.claims import new_jtis
from qsjwt.login.settings import QseowSettings, RowSettings

if TYPE_CHECKING:
    import concurrent.futures
    from _csv import Reader as _CsvReader

    from qsjwt.login.mint import RunMinter, Unsigned
    from qsjwt.signing.keys import LoadedKey

USERS = "users-file"
"""The input every row error is about (its line number says where)."""
PER_USER: dict[Target, tuple[str, ...]] = {
    Target.QSEOW: ("user-id", "user-directory", "name", "email", "groups", "attributes"),
    Target.CLOUD: ("subject", "name", "email", "email-verified", "groups"),
}
FORMATS = ("csv", "jsonl")
CHUNK = 64
"""The rows of a task when this process signs them itself (few rows, or one job)."""
MAX_CHUNK = 512
"""The most rows of a task sent to a worker: each task is one message each way, so the parent
(which shares the cores with the workers) spends little on passing rows and tokens."""
MIN_CHUNK = 16
"""The fewest rows of a worker's task: the tasks shrink towards the end of a run (a quarter of
what is left for each worker, at most ``MAX_CHUNK``), so that all workers finish together, at
most a few milliseconds apart, instead of one signing a last large task alone."""
IN_PROCESS_BELOW = 256
"""Fewer rows than this are signed in this process: starting workers costs more than it saves."""


Row = tuple[int, list[str] | str, str | None]
"""One user as the users file holds it: its line (where it starts), its cells (CSV: one a
column, or the line itself when the text holds no quote; JSON Lines: the line) and what is
wrong with it (never one of its values), or None.
``Layout.values`` makes its values where it is signed, in a worker: the parent only splits the
file into rows before the workers start. (A plain tuple: twenty thousand of them are made in
10 ms less than named tuples, and a spawned worker's rows pickle smaller.)"""


@dataclass(frozen=True)
class BulkResult:
    """The tokens of a bulk run, in input order, and what was skipped or warned about."""

    lines: list[str]
    """one JSON document per minted token, in input order (the tokens are credentials); none
    when they went to the run's ``sink``"""
    count: int
    """the tokens minted"""
    skipped: tuple[int, ...]
    """the line numbers of the bad rows skipped (only with ``skip_bad_rows``)"""
    warnings: tuple[Finding, ...]
    """every distinct warning of the tokens (about the key or the shared settings)"""


def column_name(text: str) -> str:
    """A column or field as the inputs spell it: ``User_ID`` -> ``user-id``."""
    return text.strip().lower().replace("_", "-")


def sniff_format(first_line: str) -> str:
    """``jsonl`` when the first line that is not blank opens a JSON object, else ``csv``."""
    return "jsonl" if first_line.lstrip().startswith("{") else "csv"


def read_rows(
    text: str, target: Target, users_format: str | None = None
) -> tuple[Layout, Iterator[Row]]:
    """How the rows become values, and the rows of a users file's text: CSV with a header row,
    or JSON Lines (``users_format``; by default ``sniff_format`` of its first line). Its lines
    are ``str.splitlines``'; blank lines are skipped.

    Raises InputError for a header that cannot be used (the whole file is wrong); a row that
    cannot be read has its ``problem`` (here, or from ``Layout.values``), so that it can be
    skipped.
    """
    lines = text.splitlines(keepends=True)
    users_format = users_format or sniff_format(lines[0] if lines else "")
    if users_format not in FORMATS:
        raise InputError(f"must be one of {', '.join(FORMATS)}", input_name="users-format")
    if users_format == "jsonl":
        return Layout(target), _jsonl_rows(lines)
    reader = csv.reader(lines, strict=True)
    columns = _header(reader, target)
    if '"' not in text:  # no quoted field, so no row spans lines: each line is a row
        return Layout(target, columns), _plain_rows(lines, reader.line_num)
    return Layout(target, columns), _csv_rows(reader, len(columns))


class Layout(NamedTuple):
    """How a row's cells become its per-user values: by the columns of a CSV header, or, for
    JSON Lines (``columns`` None), by the fields of each line's object. (Named tuples here,
    not dataclasses: each dataclass took 0.7 ms of every bulk run's start to make.)"""

    target: Target
    columns: tuple[str, ...] | None = None

    def values(self, row: Row) -> tuple[dict[str, RawValue], str | None]:
        """The row's per-user values, or what is wrong with it (never one of its values)."""
        _, cells, problem = row
        if problem is not None:
            return {}, problem
        columns = self.columns
        if isinstance(cells, str):
            if columns is None:
                return _jsonl_values(cells, self.target)
            # A line of a CSV text without quotes, split here in the worker: the cells
            # csv.reader makes of it (a test holds the two to the same rows).
            line, cells = cells, cells.rstrip("\r\n").split(",")
            limit = csv.field_size_limit()  # csv.reader refuses a longer field
            if len(line) > limit and max(map(len, cells)) > limit:
                return {}, _too_long(limit)
            if len(cells) != len(columns):
                return {}, _width_problem(len(cells), len(columns))
        return {
            name: split_lines(cell) if name in _LISTS else cell
            for name, cell in zip(columns or (), cells)  # noqa: B905 (the same length)
            if cell.strip()
        }, None


def _header(reader: _CsvReader, target: Target) -> tuple[str, ...]:
    """The per-user inputs the columns hold (none for an empty file); raises InputError."""
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
    except csv.Error:
        raise InputError("line 1: the header row is not valid CSV", input_name=USERS) from None
    if header is None:
        return ()
    columns = tuple(column_name(cell) for cell in header)
    allowed = PER_USER[target]
    for position, name in enumerate(columns, start=1):
        if name not in allowed:
            shown = f"{name!r}" if name in _ALL_PER_USER else f"column {position}"
            raise InputError(
                f"line {reader.line_num}: {shown} is not a per-user value for target "
                f"{target.value}",
                input_name=USERS,
                hint="per-user columns: " + ", ".join(allowed),
            )
    if len(set(columns)) != len(columns):
        raise InputError(f"line {reader.line_num}: a column appears twice", input_name=USERS)
    return columns


def _csv_rows(reader: _CsvReader, width: int) -> Iterator[Row]:
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            end = reader.line_num
            too_long = str(err).startswith("field larger than field limit")
            yield start, "", _too_long(csv.field_size_limit()) if too_long else _NOT_CSV
            continue
        end = reader.line_num
        if not "".join(cells).strip():
            continue  # a blank row (no cell holds more than spaces)
        if len(cells) == width:
            yield start, cells, None
        else:
            yield start, "", _width_problem(len(cells), width)


def _plain_rows(lines: list[str], header_end: int) -> Iterator[Row]:
    """The rows of a CSV text that holds no quote, after its header (``header_end`` lines): a
    row for each line that is not blank (no cell holds more than spaces), its cells left as
    the line for ``Layout.values`` to split where it is signed. Made in a fifth of the time
    ``csv`` takes, before the workers start."""
    return iter(
        [
            (number, line, None)
            for number, line in enumerate(lines[header_end:], start=header_end + 1)
            if line.replace(",", "").strip()
        ]
    )


_NOT_CSV = "is not valid CSV (an unclosed quote?)"


def _too_long(limit: int) -> str:
    """What ``csv.reader``'s "field larger than field limit" means, in the words of a row."""
    return f"has a field over {limit} characters, more than a CSV cell may hold here"


def _width_problem(fields: int, width: int) -> str:
    return f"has {fields} fields; the header has {width}"


_LISTS = frozenset({"groups", "attributes"})
_ALL_PER_USER = frozenset(name for names in PER_USER.values() for name in names)


def _jsonl_rows(lines: Iterable[str]) -> Iterator[Row]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line, None


def _jsonl_values(line: str, target: Target) -> tuple[dict[str, RawValue], str | None]:
    try:
        document = json.loads(line)
    except ValueError:
        return {}, "is not a JSON document"
    if not isinstance(document, dict):
        return {}, "is not a JSON object"
    values: dict[str, RawValue] = {}
    for key, value in document.items():
        name = column_name(str(key))
        if name not in PER_USER[target]:
            shown = f"{name!r}" if name in _ALL_PER_USER else "a field"
            return {}, f"holds {shown} that is not a per-user value for {target.value}"
        converted = _json_value(name, value)
        if converted is None:
            return {}, f"{name}: {_EXPECTED.get(name, 'must be a string')}"
        if converted:
            values[name] = converted
    return values, None


_EXPECTED = {
    "groups": "must be an array of strings (or a string, one group per line)",
    "attributes": "must be an object of strings (or a string, one KEY=VALUE per line)",
    "email-verified": "must be true or false",
}


def _json_value(name: str, value: object) -> RawValue | None:
    """A JSON value as the input's text; None when its type does not fit the input."""
    if value is None:
        return ""
    if name == "email-verified" and isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return split_lines(value) if name in _LISTS else value
    if name == "groups" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    if (
        name == "attributes"
        and isinstance(value, dict)
        and all(isinstance(v, str) for v in value.values())
    ):
        return [f"{key}={item}" for key, item in value.items()]
    return None


# --- minting ---------------------------------------------------------------------------------


class KeyText(NamedTuple):
    """The key as text, so that each worker process loads it once for itself."""

    private_key: str | bytes
    passphrase: str | bytes | None = None

    def __repr__(self) -> str:
        """Never the key or its passphrase (a traceback's locals may show a ``KeyText``)."""
        return "KeyText(private_key=<hidden>, passphrase=<hidden>)"

    def load(self) -> LoadedKey:
        from qsjwt.signing.keys import load_signing_key  # noqa: PLC0415 (workers import it themselves)

        return load_signing_key(
            self.private_key,
            self.passphrase,
            input_name=PRIVATE_KEY,
            passphrase_name=PRIVATE_KEY_PASSPHRASE,
        )


class _Job(NamedTuple):
    """What every row of a run shares (sent once to each worker)."""

    layout: Layout
    shared: Mapping[str, RawValue]
    now: int


_Bad = tuple[int, str, str | None, str | None]
"""a bad row: its line, the message, the input it is about, a hint"""
_Done = tuple[bytes, int, list[_Bad], set[Finding]]
"""a task's outcome: its tokens' lines (UTF-8), their count, its bad rows, its warnings"""


class _Worker(NamedTuple):
    """What a worker process holds for the whole run."""

    layout: Layout
    settings: RowSettings
    minter: RunMinter


_worker: _Worker | None = None


def _start_worker(
    key: KeyText, job: _Job, worker: bool = False, loaded: LoadedKey | None = None
) -> None:
    """Load the key and the shared settings once (in each ``worker`` process, and here to
    refuse a bad key before any starts, unless the caller ``loaded`` it already). A worker
    ignores Ctrl-C (its parent stops it) and dies quietly on SIGTERM, SIGHUP or a closed
    pipe: no traceback from any of them."""
    global _worker  # noqa: PLW0603 (one key per worker process, loaded once)
    from qsjwt.login.mint import RunMinter  # noqa: PLC0415 (workers import it themselves)

    if worker:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for name in ("SIGTERM", "SIGHUP", "SIGPIPE"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)

    minter = RunMinter(loaded or key.load(), job.now)
    target = job.layout.target
    if target not in (Target.QSEOW, Target.CLOUD):
        raise ValueError("bulk mints JWTs for qseow or cloud only")  # parse_target's
    _worker = _Worker(job.layout, RowSettings(target, job.shared), minter)


def _mint_chunk(rows: Sequence[Row]) -> _Done:
    """Mint a token for each row with the worker's key: the tokens' JSON Lines as UTF-8 (one
    piece for the output, however many rows), their count, the bad rows in input order and the
    warnings. The rows are checked and made ready first, then signed in one batch
    (``RunMinter``)."""
    if _worker is None:
        raise RuntimeError("the worker was not started with a key and a job")  # our bug
    layout, row_settings, minter = _worker
    values_of, settings_for, prepare = layout.values, row_settings.settings_for, minter.prepare
    bad: list[_Bad] = []
    numbers: list[int] = []
    """the line of each row made ready"""
    ready: list[Unsigned] = []
    """each row made ready: its token up to the signature"""
    jtis = iter(new_jtis(len(rows)))
    for row in rows:
        values, problem = values_of(row)
        if problem is not None:
            bad.append((row[0], problem, None, None))
            continue
        try:  # the shared values are checked once
            ready.append(prepare(settings_for(values), next(jtis)))
        except InputError as err:  # a bad row, or a key that does not fit the algorithm
            bad.append(_bad(row[0], err))
            continue
        numbers.append(row[0])
    lines: list[str] = []
    warnings: set[Finding] = set()
    last: tuple[Finding, ...] = ()
    try:
        signatures = minter.sign(ready)
    except KeyMaterialError as err:  # the key cannot sign: no row can be signed
        bad.extend(_bad(line, err) for line in numbers)
        return b"", 0, sorted(bad), warnings
    finish = minter.finish
    for line, unsigned, signed in zip(numbers, ready, signatures):  # noqa: B905 (as long)
        try:
            token, found = finish(unsigned, signed)
        except InputError as err:  # too large for any front end
            bad.append(_bad(line, err))
            continue
        settings = unsigned.settings
        if isinstance(settings, QseowSettings):
            user = f"{settings.user_directory}\\{settings.user_id}"
        else:
            user = settings.subject
        # what json.dumps({"user", "token", "expires_at"}, ensure_ascii=False, separators=
        # (",", ":")) writes: the token is base64url and dots, which JSON never escapes
        lines.append(
            f'{{"user":{_json_string(user)},"token":"{token}","expires_at":'
            f"{_expires(unsigned.exp)}}}\n"
        )
        if found != last:  # most rows warn as the one before (the same Findings): not hashed
            warnings.update(found)
            last = found
    return "".join(lines).encode(), len(lines), sorted(bad), warnings


def _bad(line: int, err: InputError) -> _Bad:
    """A row that cannot be signed; the key's own errors name the key."""
    default = PRIVATE_KEY if isinstance(err, KeyMaterialError) else None
    return (line, err.message, err.input_name or default, err.hint)


_json_string: Callable[[str], str] = json.encoder.encode_basestring
"""A str as ``json.dumps(text, ensure_ascii=False)`` writes it (the same function)."""


@functools.lru_cache(maxsize=8)
def _expires(exp: int) -> str:
    """``exp`` as the JSON string of its ISO time (one value for all the tokens of a run)."""
    return _json_string(iso_utc(dt.datetime.fromtimestamp(exp, tz=dt.UTC)))


def usable_cores() -> int:
    """The cores this process may run on (a container or ``taskset`` may allow fewer than the
    machine has: more workers than that only take turns), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):  # Linux
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _bounds(count: int, workers: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each task: ``CHUNK`` rows for this process alone, else shrinking tasks
    (``MIN_CHUNK``, ``MAX_CHUNK``)."""
    start = 0
    while start < count:
        if workers == 1:
            size = CHUNK
        else:
            size = max(MIN_CHUNK, min(MAX_CHUNK, (count - start) // (4 * workers)))
        yield start, min(count, start + size)
        start += size


_inherited: Sequence[Row] = ()
"""All the rows of a run, set before the workers are forked: each reads its task's rows from
its own copy, so a task is two numbers and the parent pickles no row."""


def mint_bulk(
    rows: Iterable[Row],
    *,
    layout: Layout,
    shared: Mapping[str, RawValue],
    key: KeyText,
    now: int,
    skip_bad_rows: bool = False,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    sink: Callable[[bytes], None] | None = None,
    loaded: LoadedKey | None = None,
) -> BulkResult:
    """A token for every row, in input order, signed by ``jobs`` processes (default: one per
    core). ``progress(done, total)`` is called as rows are done. ``sink``, if given, takes the
    JSON Lines of each task (UTF-8) in input order as soon as they are made, instead of
    ``BulkResult.lines`` (the command line writes them while the workers sign the next ones).
    ``loaded``: ``key`` as the caller loaded and checked it already (each worker process
    still loads its own).

    Raises InputError for the first bad row (its line number and what is wrong, never a value)
    unless ``skip_bad_rows``; KeyMaterialError for a key that cannot sign.
    """
    rows = list(rows)
    job = _Job(layout, dict(shared), now)
    _start_worker(key, job, loaded=loaded)  # a bad key is refused before any worker starts
    workers = max(1, jobs or usable_cores())
    lines: list[str] = []
    count = 0
    skipped: list[int] = []
    warnings: dict[Finding, None] = {}
    done = 0
    for made, made_count, bad, found in _run(rows, key, job, workers):
        for row in bad:  # in input order
            if row[2] in _KEY_INPUTS:  # about the key, not the row: never skipped
                raise KeyMaterialError(row[1], input_name=row[2], hint=row[3])
            if not skip_bad_rows:
                raise _row_error(row)
            skipped.append(row[0])
        if sink is None:
            lines.extend(made.decode().split("\n")[:-1])  # not splitlines: U+2028 is no end
        else:
            sink(made)
        count += made_count
        warnings.update(dict.fromkeys(sorted(found, key=lambda f: f.render())))
        done += made_count + len(bad)
        if progress is not None:
            progress(done, len(rows))
    return BulkResult(lines, count, tuple(skipped), tuple(warnings))


def _run(rows: Sequence[Row], key: KeyText, job: _Job, workers: int) -> Iterator[_Done]:
    """Each chunk's outcomes in input order: in this process for a few rows or one job, else
    from worker processes that each load the key once (``_forked``, or ``_spawned`` where
    processes are not forked).

    A worker that dies (SIGKILL, the out-of-memory killer) ends the run with
    ``WorkerDiedError`` rather than a wait for ever; SIGINT, SIGTERM or SIGHUP to this process
    (or Ctrl-C to the whole group, which the workers ignore) stops every worker at once and
    raises ``StoppedError`` once they are down. Either way no token is returned, so no output
    is written."""
    if workers == 1 or len(rows) < IN_PROCESS_BELOW:
        for start, end in _bounds(len(rows), 1):
            yield _mint_chunk(rows[start:end])
        return
    bounds = list(_bounds(len(rows), workers))
    workers = worker_count(workers, len(bounds))
    received: list[int] = []
    run = _forked if FORKS and _single_threaded() else _spawned
    yield from run(rows, bounds, key=key, job=job, workers=workers, received=received)
    if received:
        raise StoppedError(received[0], signal.Signals(received[0]).name)


FORKS = sys.platform == "linux"
"""Workers are forked here: they start at once, with the rows already in their memory, and
no ``multiprocessing`` (20-25 ms of imports) is needed. Elsewhere (macOS, where a forked
process may crash in system libraries; Windows, which cannot fork) they are spawned."""


MOST_SPAWNED_ON_WINDOWS = 61
"""The most processes a pool may have on Windows, where it waits on their handles all at once
(``concurrent.futures`` refuses more)."""


def worker_count(wanted: int, tasks: int) -> int:
    """The workers to start: never one that would get no task (``--jobs 100`` for a few
    hundred users), nor more than a Windows pool takes."""
    most = MOST_SPAWNED_ON_WINDOWS if sys.platform == "win32" else tasks
    return max(1, min(wanted, tasks, most))


def _not_started(err: OSError) -> WorkerStartError:
    return WorkerStartError(
        f"could not start the worker processes ({err.strerror or type(err).__name__}); no "
        "token was output",
        hint=f"each worker needs a process and two pipes: give fewer {ref('jobs')}, or raise "
        "the limits on open files and processes: ulimit -n, ulimit -u",
    )


def _single_threaded() -> bool:
    """Whether this process runs one thread: a fork copies the locks other threads hold, held
    for ever (Python 3.12 warns of it), so a process with threads spawns its workers."""
    import threading  # noqa: PLC0415

    return threading.active_count() == 1


def _died() -> WorkerDiedError:
    return WorkerDiedError(
        "a worker process died before its tokens were made (killed by a signal, or out of "
        "memory); no token was output",
        hint="run again; with fewer --jobs if memory is short",
    )


def _forked(
    rows: Sequence[Row],
    bounds: list[tuple[int, int]],
    *,
    key: KeyText,
    job: _Job,
    workers: int,
    received: list[int],
) -> Iterator[_Done]:
    """The outcomes from forked workers, which read their rows from the memory they inherit: a
    task is two numbers down a pipe, its outcome one pickle back up another. Each worker has
    a second task waiting in its pipe, so it never waits for this process."""
    import pickle  # noqa: F401, PLC0415  # nosec B403: only between this process and its forked workers
    import select  # noqa: PLC0415

    global _inherited  # noqa: PLW0603 (what the forked workers read)
    _inherited = rows
    # Before the fork: the collector of each worker then never walks the parent's objects (the
    # rows above all), which would touch, and so copy, each of their memory pages.
    gc.freeze()
    children: dict[int, _Child] = {}
    """each worker by the pipe its outcomes come up"""

    def stop(signum: int, _frame: object) -> None:
        """Only note the signal and end the workers; the run stops where it next looks."""
        received.append(signum)
        _end(children.values())

    try:
        with _signals_to(stop):
            for _ in range(workers):
                child = _fork(key, job, children)
                children[child.outcomes] = child
            tasks = iter(enumerate(bounds))
            for child in [*children.values()] * 2:
                child.give(next(tasks, None))
            outcomes = select.poll()  # not select(): --jobs may need more than 1024 pipes
            for fd in children:
                outcomes.register(fd, select.POLLIN)
            waiting: dict[int, _Done] = {}
            turn = 0
            while turn < len(bounds) and not received:
                for fd, _ in outcomes.poll():
                    child = children[fd]
                    taken = child.take()
                    if received:  # the workers were ended: what came is no longer wanted
                        return
                    if taken is None:
                        raise _died()
                    waiting[taken[0]] = taken[1]
                    child.give(next(tasks, None))
                while turn in waiting:
                    yield waiting.pop(turn)
                    turn += 1
    finally:
        _end(children.values())
        for child in children.values():
            child.close()
        _inherited = ()
        gc.unfreeze()


class _Child:
    """A forked worker as its parent sees it: its process, the pipe its tasks go down and the
    pipe its outcomes come up, and the tasks it was given, in order."""

    def __init__(self, pid: int, tasks: int, outcomes: int) -> None:
        self.pid, self.tasks, self.outcomes = pid, tasks, outcomes
        self.given: list[int] = []

    def give(self, task: tuple[int, tuple[int, int]] | None) -> None:
        if task is not None:
            index, (start, end) = task
            with contextlib.suppress(BrokenPipeError):  # it died: ``take`` finds out
                os.write(self.tasks, struct.pack("<qq", start, end))
            self.given.append(index)

    def take(self) -> tuple[int, _Done] | None:
        """Its oldest task's index and outcome, or None if it died first; raises what the
        worker raised."""
        import pickle  # noqa: PLC0415  # nosec B403: only from this process's forked workers

        size = _read(self.outcomes, 8)
        payload = _read(self.outcomes, struct.unpack("<q", size)[0]) if size else b""
        if not payload:
            return None
        done: _Done | BaseException = pickle.loads(payload)  # noqa: S301  # nosec B301: our worker's
        if isinstance(done, BaseException):
            raise done
        return self.given.pop(0), done

    def close(self) -> None:
        for fd in (self.tasks, self.outcomes):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _end(children: Iterable[_Child]) -> None:
    """End the workers now, not after their current task: their tokens are no longer wanted."""
    for child in list(children):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGTERM)


_PIPE_SIZE = 1 << 20
"""Bytes a worker's outcome pipe holds (64 KiB by default; 1 MiB is Linux's default maximum):
a task's tokens (about 400 KB for ``MAX_CHUNK`` rows) fit while this process writes others."""


def _fork(key: KeyText, job: _Job, siblings: Mapping[int, _Child]) -> _Child:
    """A new worker (``_serve``), with its two pipes."""
    import fcntl  # noqa: PLC0415 (Linux only, as forking)

    pipes: list[int] = []
    try:
        pipes.extend(os.pipe())
        pipes.extend(os.pipe())
        with contextlib.suppress(OSError):  # room for a whole task's tokens: the worker goes
            fcntl.fcntl(pipes[2], fcntl.F_SETPIPE_SZ, _PIPE_SIZE)  # on to its next task at once
        pid = os.fork()
    except OSError as err:  # too many open files or processes, or no memory left
        for fd in pipes:
            os.close(fd)
        raise _not_started(err) from None
    tasks_in, tasks, outcomes, outcomes_out = pipes
    if pid == 0:  # the worker: nothing of the parent's but the rows and the job
        for fd in (tasks, outcomes, *(f for c in siblings.values() for f in (c.tasks, c.outcomes))):
            os.close(fd)
        _serve(key, job, tasks_in, outcomes_out)
    os.close(tasks_in)
    os.close(outcomes_out)
    return _Child(pid, tasks, outcomes)


def _serve(key: KeyText, job: _Job, tasks: int, outcomes: int) -> NoReturn:
    """A forked worker's whole life: each task (two numbers) it reads is signed and its outcome,
    or what stopped it, written back; it ends when its parent closes the task pipe. It leaves
    through ``os._exit``: the parent's exit handlers and buffered output are not its own."""
    import pickle  # noqa: PLC0415  # nosec B403: only to the parent that forked this worker

    # No collector in a worker: what a task makes (rows' values, settings, claims, tokens)
    # holds no cycles and is freed as it goes; its passes cost 2% of a token's Python.
    gc.disable()
    code = 0
    try:
        _start_worker(key, job, worker=True)
        while task := _read(tasks, 16):
            start, end = struct.unpack("<qq", task)
            _send(outcomes, pickle.dumps(_mint_chunk(_inherited[start:end])))
    except BaseException as err:  # the parent raises it, as a pool does
        code = 1
        with contextlib.suppress(BaseException):
            try:
                _send(outcomes, pickle.dumps(err))
            except Exception:  # an exception that does not pickle: its kind, at least
                _send(outcomes, pickle.dumps(RuntimeError(type(err).__name__)))
    finally:
        os._exit(code)


def _send(fd: int, payload: bytes) -> None:
    data = memoryview(struct.pack("<q", len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


def _read(fd: int, size: int) -> bytes:
    """``size`` bytes from the pipe, or b"" at its end (a dead writer, even mid-message)."""
    parts: list[bytes] = []
    while size:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            return b""
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _spawned(
    rows: Sequence[Row],
    bounds: list[tuple[int, int]],
    *,
    key: KeyText,
    job: _Job,
    workers: int,
    received: list[int],
) -> Iterator[_Done]:
    """The outcomes from a pool of spawned workers, which have none of this process's memory:
    each task carries its rows."""
    import multiprocessing  # noqa: PLC0415 (only a run large enough for a pool)
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),  # never a fork: see _single_threaded
        initializer=_start_worker,
        initargs=(key, job, True),
    )

    def stop(signum: int, _frame: object) -> None:
        """Only note the signal and end the workers: an exception raised here could land in
        the middle of the pool's own start-up. The run stops where it next looks."""
        received.append(signum)
        _terminate(pool)

    try:
        with _signals_to(stop):
            try:  # the pool starts its processes as the tasks are submitted, all of them here
                outcomes = pool.map(_mint_chunk, [rows[a:b] for a, b in bounds])
            except OSError as err:
                raise _not_started(err) from None
            for done in outcomes:
                if received:
                    break
                yield done
    except BrokenProcessPool:
        if not received:
            raise _died() from None
    finally:
        _terminate(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def _terminate(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """End the workers now, not after their current task: their tokens are no longer wanted.
    (Python 3.14's ``terminate_workers`` does this; before it, the pool's own process table.)"""
    with contextlib.suppress(RuntimeError):  # the table changed while it was copied
        for process in dict(getattr(pool, "_processes", None) or {}).values():
            with contextlib.suppress(OSError, ValueError, AttributeError):
                process.terminate()


@contextlib.contextmanager
def _signals_to(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP go to ``handler`` while the workers run, so the workers are
    stopped before this process ends. Only handlers still at their default (Python's
    KeyboardInterrupt for SIGINT) are replaced, and only in the main thread."""
    import threading  # noqa: PLC0415

    old: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) in (
                signal.SIG_DFL,
                signal.default_int_handler,
            ):
                old[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, previous in old.items():
            signal.signal(signum, previous)


_KEY_INPUTS = frozenset({PRIVATE_KEY, PRIVATE_KEY_PASSPHRASE, CERTIFICATE})


def _row_error(bad: _Bad) -> QsjwtError:
    line, message, input_name, hint = bad
    about = f"{input_name}: " if input_name else ""
    return InputError(f"line {line}: {about}{message}", input_name=USERS, hint=hint)
