"""Customer rows read, parsed and built ahead of the writes — in a second process for a large import.

Reading a row, parsing its address, normalising and validating its values, hashing its blind indexes and
building its search document need no database: `prepare_customers` does all of it for a batch. The import
job writes batch N (matching, encryption, SQL, audit) while a forked process prepares batch N+1, which on a
2-core machine takes the import from one core to two. The batches are still written one at a time, in order,
each in its own transaction with its checkpoint: what a crash leaves behind is the same as without the
second process. Small imports prepare in the job's own process (forking costs more than it saves).

The second process must not touch the database (its connection belongs to the parent): every query it
attempts is refused with an error, so that a change that adds one fails the tests instead of sharing the
parent's connection. It ends within a second of its parent, also when the parent is killed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.utils.translation import override

from kehu.accounts.models import User
from kehu.core.errors import FieldError
from kehu.customers.bulk import Built, ImportOutcome, ImportRow, customers_build
from kehu.ingest.rows import RowPlan, addresses_parse, read_row

# From this many rows left to import, batches are prepared in a second process.
PARALLEL_FROM = 5_000


@dataclass
class Prepared:
    """A batch of customer rows made ready to match and write."""

    rows: list[ImportRow]  # the rows read without problems, in file order
    built: list[Built | ImportOutcome]  # each of `rows` built, or refused by validation
    failures: dict[int, list[FieldError]]  # row number → the problems found while reading it
    point_columns: dict[int, list[str]]  # row number → the column each of its contact points came from


def prepare_customers(
    plan: RowPlan,
    todo: Sequence[tuple[int, Sequence[Any]]],
    *,
    actor: User,
    import_batch: str,
    definitions: Mapping[str, Any],
    language: str,
) -> Prepared:
    """Read, parse and build a batch of customer rows; no database access."""
    with override(language):
        point_columns: dict[int, list[str]] = {}
        read: list[tuple[ImportRow, list[FieldError]]] = []
        for number, record in todo:
            row, problems, columns = read_row(plan, number, record)
            point_columns[number] = columns
            read.append((row, problems))
        addresses_parse(plan, read)
        failures = {row.number: problems for row, problems in read if problems}
        rows = [row for row, problems in read if not problems]
        built = customers_build(actor=actor, rows=rows, import_batch=import_batch, definitions=definitions)
    return Prepared(rows=rows, built=built, failures=failures, point_columns=point_columns)


class Preparer:
    """Runs `prepare_customers` for the batches ahead: in a forked process, or here when `parallel` is false.

    Use as a context manager; `submit` returns a future whose result is the prepared batch."""

    def __init__(self, *, parallel: bool) -> None:
        self.pool = (
            ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("fork"), initializer=_second_process, initargs=(os.getpid(),)
            )
            if parallel
            else None
        )

    def __enter__(self) -> Preparer:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, plan: RowPlan, todo: Sequence[tuple[int, Sequence[Any]]], **options: Any) -> Future[Prepared]:
        if self.pool is not None:
            return self.pool.submit(prepare_customers, plan, todo, **options)
        done: Future[Prepared] = Future()
        try:
            done.set_result(prepare_customers(plan, todo, **options))
        except Exception as error:  # noqa: BLE001 - handed to the caller by the future, as the pool does
            done.set_exception(error)
        return done


def _second_process(parent: int) -> None:
    """The second process refuses queries (the connection it inherited is the parent's), and ends when its
    parent does: a worker killed mid-import would otherwise leave it waiting for work forever."""
    for alias in connections:
        connections[alias].execute_wrappers.append(_refuse)
    # Not the worker's handlers it inherited: stopped by SIGTERM, left to its parent on Ctrl-C.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(parent,), daemon=True, name="end-with-parent").start()


def _end_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _refuse(*_args: Any) -> Any:
    raise RuntimeError("preparing import rows in the second process must not query the database")
