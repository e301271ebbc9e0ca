"""Reads of the audit log for the auditor role."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.core.exports import attachment, csv_bytes
from kehu.customers.models import Customer


@dataclass(frozen=True)
class AuditFilters:
    event: str = ""
    actor: str = ""
    customer: uuid.UUID | None = None
    target_type: str = ""
    target_id: str = ""
    source: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def audit_records_for_user(user: User, filters: AuditFilters) -> QuerySet[AuditRecord]:
    """Audit records matching the filters, newest first; only roles that may read the audit log get any."""
    require(user, ObjectType.AUDIT, Action.VIEW)
    records = AuditRecord.objects.all()
    exact = {
        "event": filters.event,
        "actor_label": filters.actor,
        "target_type": filters.target_type,
        "target_id": filters.target_id,
        "source": filters.source,
    }
    records = records.filter(**{name: value for name, value in exact.items() if value})
    if filters.customer is not None:
        # A filter value, not a read of the customer: the auditor sees ids, never the record itself.
        customer_id = Customer.objects.filter(public_id=filters.customer).values_list("id", flat=True).first()
        records = records.filter(customer_id=customer_id) if customer_id else records.none()
    if filters.since:
        records = records.filter(occurred_at__gte=filters.since)
    if filters.until:
        records = records.filter(occurred_at__lt=filters.until)
    return records


def customer_public_ids(records: list[AuditRecord]) -> dict[int, uuid.UUID]:
    ids = {record.customer_id for record in records if record.customer_id}
    return dict(Customer.objects.filter(id__in=ids).values_list("id", "public_id"))


def audit_rows(records: list[AuditRecord]) -> list[dict[str, Any]]:
    """Records as plain rows for the API, the page and the export (customers by their public id)."""
    customers = customer_public_ids(records)
    labels = dict(AuditEvent.choices)
    return [
        {
            "sequence": record.sequence,
            "occurred_at": record.occurred_at,
            "event": record.event,
            "event_label": str(labels.get(record.event, record.event)),
            "actor": record.actor_label,
            "target_type": record.target_type,
            "target_id": record.target_id,
            "customer": customers.get(record.customer_id) if record.customer_id else None,
            "fields": list(record.fields),
            "extra": record.extra,
            "source": record.source,
            "ip_address": record.ip_address,
            "record_hash": record.record_hash,
        }
        for record in records
    ]


EXPORT_LIMIT = 100_000
EXPORT_COLUMNS = (
    "sequence",
    "occurred_at",
    "event",
    "event_label",
    "actor",
    "target_type",
    "target_id",
    "customer",
    "fields",
    "source",
    "ip_address",
    "record_hash",
)


def audit_csv_response(records: list[AuditRecord]) -> HttpResponse:
    """The records as a CSV download (UTF-8 with BOM, so Excel shows Chinese; formulas neutralised)."""

    def lines() -> Iterator[list[object]]:
        yield list(EXPORT_COLUMNS)
        for row in audit_rows(records):
            row["fields"] = " ".join(row["fields"])
            yield [row[column] for column in EXPORT_COLUMNS]

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return attachment(csv_bytes(lines()), file_format="csv", name=f"kehu-audit-{stamp}")
