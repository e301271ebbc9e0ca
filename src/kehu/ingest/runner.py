"""The import job: stream the file, read each batch of rows, write it with its checkpoint, report the rest.

Each batch of BATCH rows commits in one transaction with: its customers and their audit records, the rows it
refused (ImportIssue), an ImportedRange naming the rows done for this file's hash, and the job's progress and
checkpoint. A worker killed at any moment therefore leaves either the whole batch or none of it; the resumed
job skips the rows up to its checkpoint, and a second run of the same file skips every range already done.

A dry run does the same work and rolls the customers back, keeping the counts and the refused rows: what the
import would do, exactly, including duplicates inside the file.
"""

from __future__ import annotations

import gc
import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import override

from kehu.core.errors import FieldError
from kehu.core.jobs import JobContext, JobFailed
from kehu.core.models import Job
from kehu.customers.bulk import Built, ImportOutcome, customers_import_batch
from kehu.customers.custom_fields import active_definitions
from kehu.ingest.files import FileProblem, table_open, text_of, upload_plain
from kehu.ingest.mapping import mapping_check
from kehu.ingest.models import ErrorPolicy, ImportedRange, ImportIssue, Upload
from kehu.ingest.prepare import PARALLEL_FROM, Prepared, Preparer
from kehu.ingest.rows import RowPlan, row_plan

BATCH = 1000
COUNT_NAMES = ("created", "updated", "unchanged", "failed", "already_imported")


class ImportStopped(JobFailed):
    """The import stopped at a bad row, as the user chose; the rows before it are imported."""


def run_import(job: Job, context: JobContext) -> dict[str, Any]:
    params = job.params
    upload = Upload.objects.get(pk=params["upload_id"])
    actor = job.created_by
    if actor is None or not actor.is_active:
        raise PermissionError("the user who started this import no longer exists or was disabled")
    language = params.get("language") or "zh-hans"
    try:
        with override(language), upload_plain(upload) as path:
            return _open_and_run(job, context, upload, path)
    except FileProblem as problem:
        raise JobFailed(str(problem)) from None


def _open_and_run(job: Job, context: JobContext, upload: Upload, path: Any) -> dict[str, Any]:
    params = job.params
    encoding = params.get("encoding", "")
    if job.progress_total is None:
        with table_open(path, upload.file_format, encoding=encoding) as table:
            total = sum(1 for _ in table.rows)
        Job.objects.filter(pk=job.pk).update(progress_total=total)
        job.progress_total = total
    with table_open(path, upload.file_format, encoding=encoding) as table:
        problems = mapping_check(params["mapping"], table.headers, params.get("import_type", "customers"))
        if problems:
            raise FileProblem("; ".join(problems))
        plan = row_plan(table.headers, params["mapping"], source_system=params.get("source_system", ""))
        group = None
        if params.get("import_type") == "orders":
            # An order's lines stay in one batch: a batch ends only where the order number changes.
            group = next(index for index, _header, target in plan.columns if target == "order_number")
        return _run(job, context, upload, plan, table.rows, group)


def _done_ranges(upload: Upload, import_type: str) -> list[tuple[int, int]]:
    return list(
        ImportedRange.objects.filter(file_sha256=upload.sha256, import_type=import_type)
        .order_by("first_row")
        .values_list("first_row", "last_row")
    )


def _covered(number: int, ranges: list[tuple[int, int]]) -> bool:
    return any(first <= number <= last for first, last in ranges)


def _batches(
    rows: Iterator[tuple[int, list[Any]]], size: int, group: int | None = None
) -> Iterator[list[tuple[int, list[Any]]]]:
    """Batches of `size` rows; with `group` (a column index), a batch is cut only where that column changes."""
    batch: list[tuple[int, list[Any]]] = []
    for item in rows:
        if len(batch) >= size and (group is None or _cell(batch[-1][1], group) != _cell(item[1], group)):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def _cell(record: list[Any], index: int) -> str:
    return text_of(record[index]) if index < len(record) else ""


def _run(
    job: Job,
    context: JobContext,
    upload: Upload,
    plan: RowPlan,
    rows: Iterator[tuple[int, list[Any]]],
    group: int | None = None,
) -> dict[str, Any]:
    dry_run = bool(job.params.get("dry_run"))
    with _fewer_collections():
        _run_batches(job, context, upload, plan, rows, group)
    return {**{name: job.counts.get(name, 0) for name in COUNT_NAMES}, "dry_run": dry_run}


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cycle collector runs every 700 new objects; an import makes millions that live for one batch,
    and the collector took a tenth of its time. Every 50,000 is enough to keep memory flat."""
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _run_batches(
    job: Job,
    context: JobContext,
    upload: Upload,
    plan: RowPlan,
    rows: Iterator[tuple[int, list[Any]]],
    group: int | None,
) -> None:
    """Import the rows batch by batch, each committed with its checkpoint."""
    params = job.params
    import_type = params.get("import_type", "customers")
    dry_run = bool(params.get("dry_run"))
    stop_on_error = params.get("on_error") == ErrorPolicy.STOP
    ranges = [] if dry_run else _done_ranges(upload, import_type)
    resume_after = int(job.checkpoint.get("row", 0))
    done = job.progress_done
    customers = import_type == "customers"
    left = (job.progress_total or 0) - done
    options = {
        "actor": job.created_by,
        "import_batch": f"job:{job.public_id}",
        "definitions": active_definitions() if customers else {},
        "language": params.get("language") or "zh-hans",
    }
    ahead: deque[_Pending] = deque()
    with Preparer(parallel=customers and left >= PARALLEL_FROM) as preparer:
        for batch in _batches(rows, int(params.get("batch_size", BATCH)), group):
            fresh = [(number, record) for number, record in batch if number > resume_after]
            if not fresh:
                continue
            todo = [item for item in fresh if not _covered(item[0], ranges)]
            ahead.append(_Pending(fresh, todo, preparer.submit(plan, todo, **options) if customers else None))
            if len(ahead) > 1:  # the next batch is being prepared while this one is written
                done = _write_pending(job, context, upload, plan, ahead.popleft(), done, dry_run, stop_on_error)
        while ahead:
            done = _write_pending(job, context, upload, plan, ahead.popleft(), done, dry_run, stop_on_error)


@dataclass
class _Pending:
    """A batch read from the file: its rows after the checkpoint, those not imported before, and (customers)
    their preparation under way."""

    fresh: list[tuple[int, list[Any]]]
    todo: list[tuple[int, list[Any]]]
    prepared: Future[Prepared] | None


def _write_pending(
    job: Job,
    context: JobContext,
    upload: Upload,
    plan: RowPlan,
    pending: _Pending,
    done: int,
    dry_run: bool,
    stop_on_error: bool,
) -> int:
    """Write one batch with its checkpoint, in one transaction; returns the rows done."""
    import_type = job.params.get("import_type", "customers")
    fresh, todo = pending.fresh, pending.todo
    context.check_cancelled()
    ready = pending.prepared.result() if pending.prepared is not None else None
    with transaction.atomic():
        counts = dict.fromkeys(COUNT_NAMES, 0)
        counts["already_imported"] = len(fresh) - len(todo)
        stopped = _import_batch(job, plan, todo, ready, counts, dry_run=dry_run, stop=stop_on_error)
        last = stopped - 1 if stopped else fresh[-1][0]
        if todo and not dry_run and last >= todo[0][0]:
            ImportedRange.objects.create(
                file_sha256=upload.sha256, import_type=import_type, first_row=todo[0][0], last_row=last, job=job
            )
        done += len(fresh) if not stopped else sum(1 for number, _ in fresh if number <= stopped)
        context.commit(done=done, counts=counts, checkpoint={"row": stopped or fresh[-1][0]})
    if stopped:
        issue = ImportIssue.objects.filter(job=job, row_number=stopped).first()
        raise ImportStopped(
            _("stopped at row %(row)s (%(column)s: %(reason)s); the rows before it were imported")
            % {"row": stopped, "column": issue.column if issue else "", "reason": issue.message if issue else ""}
        )
    return done


Writer = Callable[[list[Any]], list[ImportOutcome]]


def _import_batch(
    job: Job,
    plan: RowPlan,
    todo: list[tuple[int, list[Any]]],
    prepared: Prepared | None,
    counts: dict[str, int],
    *,
    dry_run: bool,
    stop: bool,
) -> int | None:
    """Import one batch (customers come prepared); returns the number of the row it stopped at (stop on error),
    else None."""
    records = dict(todo)
    failures: dict[int, list[FieldError]] = {}
    if prepared is not None:
        failures = dict(prepared.failures)
        rows: list[Any] = prepared.rows
        point_columns = prepared.point_columns

        def number_of(row: Any) -> int:
            return int(row.number)

        def column_of(number: int, field_name: str) -> str:
            return plan.column_of(field_name, point_columns[number])

        write = _customers_writer(job, dict(zip((row.number for row in rows), prepared.built, strict=True)))
    else:
        from kehu.ingest.records import read_values

        rows = []
        where: dict[int, dict[str, str]] = {}
        for number, record in todo:
            values, field_columns = read_values(plan.columns, record)
            rows.append((number, values))
            where[number] = field_columns

        def number_of(row: Any) -> int:
            return int(row[0])

        def column_of(number: int, field_name: str) -> str:
            return where[number].get(field_name) or plan.field_columns.get(field_name, "")

        write = _records_writer(job)
    outcomes, failures, stopped = _write_batch(rows, write, failures, number_of, column_of, dry_run=dry_run, stop=stop)
    for outcome in outcomes:
        if outcome.action != "failed":
            counts[outcome.action] += 1
    counts["failed"] += len(failures)
    ImportIssue.objects.bulk_create(
        [
            ImportIssue(
                job=job,
                row_number=number,
                column=str(problem.field)[:200],
                message=str(problem.reason),
                values=json.dumps([text_of(cell) for cell in records[number]], ensure_ascii=False)
                if index == 0
                else "",
            )
            for number, problems in sorted(failures.items())
            for index, problem in enumerate(problems)
        ]
    )
    return stopped


def _write_batch(
    rows: list[Any],
    write: Writer,
    failures: dict[int, list[FieldError]],
    number_of: Callable[[Any], int],
    column_of: Callable[[int, str], str],
    *,
    dry_run: bool,
    stop: bool,
) -> tuple[list[ImportOutcome], dict[int, list[FieldError]], int | None]:
    """Write the rows that were read without problems, each refusal named by its column; with `stop`, keep only
    the rows before the first bad one. Returns the outcomes kept, every failure, and the row stopped at."""
    stopped = min(failures) if stop and failures else None
    candidates = [row for row in rows if stopped is None or number_of(row) < stopped]
    outcomes = _in_savepoint(write, candidates, keep=not dry_run, stop=stop)
    refused = {
        outcome.number: [FieldError(column_of(outcome.number, e.field) or e.field, e.reason) for e in outcome.errors]
        for outcome in outcomes
        if outcome.action == "failed"
    }
    if stop and refused:
        # The pass was rolled back: write again only the rows before the first refused one.
        stopped = min(refused)
        outcomes = _in_savepoint(
            write, [row for row in candidates if number_of(row) < stopped], keep=not dry_run, stop=False
        )
    if stop:
        failures = {stopped: {**failures, **refused}[stopped]} if stopped is not None else {}
    else:
        failures.update(refused)
    return outcomes, failures, stopped


def _in_savepoint(write: Writer, rows: list[Any], *, keep: bool, stop: bool) -> list[ImportOutcome]:
    """Write the rows in a savepoint, rolled back for a dry run, or when stopping and a row was refused."""
    if not rows:
        return []
    with transaction.atomic():
        outcomes = write(rows)
        if not keep or (stop and any(outcome.action == "failed" for outcome in outcomes)):
            transaction.set_rollback(True)
    return outcomes


def _customers_writer(job: Job, built: dict[int, Built | ImportOutcome]) -> Writer:
    """Writes customer rows with what was built for them; a second pass (stopping at a refused row, after the
    first was rolled back) builds its rows again rather than reuse instances the first pass changed."""

    def write(rows: list[Any]) -> list[ImportOutcome]:
        ready = [built.pop(row.number, None) for row in rows]
        return customers_import_batch(
            actor=job.created_by,  # type: ignore[arg-type]
            rows=rows,
            policy=job.params.get("policy", "fill_blanks"),
            import_batch=f"job:{job.public_id}",
            likely=job.params.get("duplicates", "create"),
            built=None if None in ready else ready,  # type: ignore[arg-type]
        )

    return write


def _records_writer(job: Job) -> Writer:
    """Products, orders or interactions: each record through its service, in a savepoint of its own."""
    from kehu.ingest.records import interactions_batch, orders_batch, products_batch

    actor = job.created_by
    assert actor is not None
    source_system = job.params.get("source_system", "")
    import_type = job.params["import_type"]
    if import_type == "products":
        return partial(products_batch, actor, policy=job.params.get("policy", "fill_blanks"))
    if import_type == "orders":
        return partial(orders_batch, actor, source_system=source_system)
    return partial(interactions_batch, actor, source_system=source_system)
