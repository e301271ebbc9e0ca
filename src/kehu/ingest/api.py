"""/api/v1/imports: upload a file, start an import (or a dry run), follow it, read what it refused.

The same services as the pages and `kehu import`: the same mapping, normalisation, matching and report.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from kehu.accounts.access import require
from kehu.accounts.roles import Action, ObjectType
from kehu.core.api_support import ErrorOut, request_user
from kehu.core.errors import NotFoundError, ServiceValidationError
from kehu.core.exports import attachment
from kehu.core.jobs import job_cancel
from kehu.core.models import Job
from kehu.ingest.files import FileProblem, preview, upload_plain, upload_store
from kehu.ingest.mapping import auto_map
from kehu.ingest.models import ImportIssue, Upload
from kehu.ingest.services import import_start, imports_for_user, report_csv, report_xlsx
from kehu.ingest.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureRefused, order_receive, source_verified

router = Router(tags=["imports"])
ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
PREVIEW_ROWS = 5


class UploadOut(Schema):
    id: uuid.UUID
    name: str
    size: int
    file_format: str
    encoding: str
    headers: list[str]
    mapping: dict[str, str] = Field(description="kehu's guess: column → field ('' = not imported)")
    preview: list[list[str]] = Field(description=f"the first {PREVIEW_ROWS} rows, as text")


class ImportIn(Schema):
    upload_id: uuid.UUID
    import_type: Literal["customers", "products", "orders", "interactions"] = "customers"
    mapping: dict[str, str] | None = Field(None, description="column → field; omitted columns are guessed")
    policy: Literal["fill_blanks", "overwrite", "skip"] = "fill_blanks"
    duplicates: Literal["create", "link", "skip"] = Field(
        "create", description="a row matching no key but probably an existing customer: create, link or skip it"
    )
    on_error: Literal["skip", "stop"] = "skip"
    dry_run: bool = False
    encoding: str = Field("", max_length=30, description="CSV only; empty = detected")
    source_system: str = Field("", max_length=50)


class JobOut(Schema):
    id: uuid.UUID
    kind: str
    title: str
    state: str
    dry_run: bool
    progress_done: int
    progress_total: int | None
    counts: dict[str, int]
    error: str
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class IssueOut(Schema):
    row: int
    column: str
    reason: str


def _job_out(job: Job) -> dict[str, Any]:
    return {
        "id": job.public_id,
        "kind": job.kind,
        "title": job.title,
        "state": job.state,
        "dry_run": bool(job.params.get("dry_run")),
        "progress_done": job.progress_done,
        "progress_total": job.progress_total,
        "counts": job.counts,
        "error": job.error.split("\n\n")[0],
        "attempts": job.attempts,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _job_for(request: HttpRequest, job_id: uuid.UUID) -> Job:
    job = imports_for_user(request_user(request)).filter(public_id=job_id).first()
    if job is None:
        raise NotFoundError
    return job


@router.post("/imports/uploads", response={201: UploadOut, **ERRORS})
def upload_create(request: HttpRequest, file: UploadedFile = File(...)) -> Status[dict[str, Any]]:  # noqa: B008
    """Upload a CSV or XLSX file; answers its header, kehu's mapping of it and the first rows."""
    user = request_user(request)
    require(user, ObjectType.CUSTOMER, Action.CREATE)
    try:
        upload = upload_store(actor=user, name=file.name or "upload", source=file)
        with upload_plain(upload) as path:
            table, rows = preview(path, upload.file_format, rows=PREVIEW_ROWS)
    except FileProblem as problem:
        raise ServiceValidationError.single("file", str(problem)) from None
    return Status(
        201,
        {
            "id": upload.public_id,
            "name": upload.name,
            "size": upload.size,
            "file_format": upload.file_format,
            "encoding": table.encoding,
            "headers": table.headers,
            "mapping": auto_map(table.headers),
            "preview": [cells for _, cells in rows],
        },
    )


@router.post("/imports", response={202: JobOut, **ERRORS})
def import_create(request: HttpRequest, payload: ImportIn) -> Status[dict[str, Any]]:
    """Start an import (or a dry run) of an uploaded file; it runs in `kehu worker`. Follow it with GET."""
    user = request_user(request)
    upload = Upload.objects.filter(public_id=payload.upload_id, created_by=user).first()
    if upload is None:
        raise NotFoundError
    mapping = payload.mapping or {}  # columns left out: kehu's guess (import_start)
    job = import_start(
        actor=user,
        upload=upload,
        mapping=mapping,
        import_type=payload.import_type,
        policy=payload.policy,
        duplicates=payload.duplicates,
        on_error=payload.on_error,
        dry_run=payload.dry_run,
        encoding=payload.encoding,
        source_system=payload.source_system,
    )
    return Status(202, _job_out(job))


@router.get("/imports", response={200: list[JobOut], **ERRORS})
def import_list(request: HttpRequest) -> list[dict[str, Any]]:
    """The caller's imports (an administrator's: everyone's), newest first, at most 100."""
    user = request_user(request)
    require(user, ObjectType.CUSTOMER, Action.CREATE)
    return [_job_out(job) for job in imports_for_user(user)[:100]]


@router.get("/imports/{job_id}", response={200: JobOut, **ERRORS})
def import_get(request: HttpRequest, job_id: uuid.UUID) -> dict[str, Any]:
    return _job_out(_job_for(request, job_id))


class IssueQuery(Schema):
    offset: int = Field(0, ge=0)
    limit: int = Field(100, ge=1, le=1000)


@router.get("/imports/{job_id}/issues", response={200: list[IssueOut], **ERRORS})
def import_issues(request: HttpRequest, job_id: uuid.UUID, query: Query[IssueQuery]) -> list[dict[str, Any]]:
    """The rows refused: row number as the spreadsheet shows it, column and reason (the values: in the report)."""
    job = _job_for(request, job_id)
    issues = ImportIssue.objects.filter(job=job).order_by("row_number", "id")[query.offset : query.offset + query.limit]
    return [{"row": issue.row_number, "column": issue.column, "reason": issue.message} for issue in issues]


@router.get("/imports/{job_id}/report", response={200: None, **ERRORS})
def import_report(request: HttpRequest, job_id: uuid.UUID, format: Literal["csv", "xlsx"] = "csv") -> HttpResponse:
    """The refused rows as they were in the file, with row, column and reason in front (CSV with BOM, or XLSX)."""
    job = _job_for(request, job_id)
    body = report_xlsx(job) if format == "xlsx" else report_csv(job)
    return attachment(body, file_format=format, name=f"kehu-import-{str(job.public_id)[:8]}-refused")


@router.post("/imports/{job_id}/cancel", response={200: JobOut, **ERRORS})
def import_cancel(request: HttpRequest, job_id: uuid.UUID) -> dict[str, Any]:
    """Stop after the batch being written (a job still waiting stops at once); what was committed stays."""
    job = _job_for(request, job_id)
    if not job.finished:
        job_cancel(job)
    return _job_out(job)


class HookOrderOut(Schema):
    order: uuid.UUID
    number: str
    customer: uuid.UUID
    created: bool = Field(description="false when this order id had been received before")


@router.post(
    "/hooks/orders/{source}",
    auth=None,
    response={200: HookOrderOut, 201: HookOrderOut, 401: ErrorOut, 422: ErrorOut},
    tags=["webhooks"],
)
def hook_order(request: HttpRequest, source: str) -> Status[dict[str, Any]]:
    """An order from an e-commerce platform, signed with the source's secret (see the import guide for the shape).

    Headers: `X-Kehu-Timestamp` (Unix seconds) and `X-Kehu-Signature: sha256=HMAC-SHA256(secret,
    "<timestamp>.<body>")`. 201 when recorded, 200 when this order id was recorded before (nothing changes)."""
    try:
        hook = source_verified(
            source,
            timestamp=request.META.get(TIMESTAMP_HEADER, ""),
            signature=request.META.get(SIGNATURE_HEADER, ""),
            body=request.body,
        )
    except SignatureRefused:
        return Status(401, {"errors": [{"field": None, "reason": "unknown source, bad signature or stale timestamp"}]})
    try:
        payload = json.loads(request.body)
    except ValueError:
        raise ServiceValidationError.single("body", "is not JSON") from None
    received = order_receive(source=hook, payload=payload)
    body = {
        "order": received.order.public_id,
        "number": received.order.number,
        "customer": received.customer.public_id,
        "created": received.created,
    }
    return Status(201 if received.created else 200, body)
