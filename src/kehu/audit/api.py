"""/api/v1/audit: the audit log, filtered, paged and exported, for the auditor (and the administrator)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from kehu.audit.selectors import EXPORT_LIMIT, AuditFilters, audit_csv_response, audit_records_for_user, audit_rows
from kehu.core.api_support import ErrorOut, UtcDatetime, request_user
from kehu.core.pagination import paginate

router = Router(tags=["audit"])
ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 422: ErrorOut}


class AuditQuery(Schema):
    event: str = Field("", max_length=40, description="an event such as customer.updated")
    actor: str = Field("", max_length=150, description="the user name of whoever acted")
    customer: uuid.UUID | None = None
    target_type: str = Field("", max_length=40)
    target_id: str = Field("", max_length=64)
    source: str = Field("", max_length=20, description="api, web, cli or system")
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None


class AuditRecordOut(Schema):
    sequence: int
    occurred_at: dt.datetime
    event: str
    event_label: str
    actor: str
    target_type: str
    target_id: str
    customer: uuid.UUID | None
    fields: list[str]
    extra: dict[str, Any]
    source: str
    ip_address: str | None
    record_hash: str


class AuditPageOut(Schema):
    items: list[AuditRecordOut]
    next_cursor: str | None


def _filters(params: AuditQuery) -> AuditFilters:
    return AuditFilters(**params.dict())


@router.get("/audit", response={200: AuditPageOut, **ERRORS})
def audit_list(
    request: HttpRequest,
    params: Query[AuditQuery],
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(100, ge=1, le=500),
) -> dict[str, Any]:
    records = audit_records_for_user(request_user(request), _filters(params))
    page = paginate(records, sort="-sequence", cursor=cursor, limit=limit)
    return {"items": audit_rows(page.items), "next_cursor": page.next_cursor}


@router.get("/audit/export", response={200: None, **ERRORS})
def audit_export(request: HttpRequest, params: Query[AuditQuery]) -> HttpResponse:
    """The filtered log as CSV (UTF-8 with BOM, so Excel shows Chinese), newest first, at most 100,000 rows."""
    records = list(audit_records_for_user(request_user(request), _filters(params)).order_by("-sequence")[:EXPORT_LIMIT])
    return audit_csv_response(records)
