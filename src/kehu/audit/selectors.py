"""Reads of the audit log for the auditor role."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditRecord
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
