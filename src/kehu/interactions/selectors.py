"""Reads of interactions and of a customer's whole timeline."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from kehu.accounts.access import allows, require, scope_q
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditRecord
from kehu.commerce.models import Order
from kehu.core.changes import parse_public_id
from kehu.core.errors import NotFoundError
from kehu.customers.models import Customer
from kehu.interactions.models import Interaction


def interactions_for_user(user: User, action: Action = Action.VIEW) -> QuerySet[Interaction]:
    require(user, ObjectType.INTERACTION, action)
    return Interaction.objects.filter(scope_q(user, prefix="customer__"))


def interaction_get_for_user(user: User, public_id: uuid.UUID | str, action: Action = Action.VIEW) -> Interaction:
    key = parse_public_id(public_id)
    interaction = interactions_for_user(user, action).select_related("customer", "user").filter(public_id=key).first()
    if interaction is None:
        raise NotFoundError
    return interaction


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "interaction", "order" or "change"
    occurred_at: dt.datetime
    title: str
    detail: str
    ref: str


def customer_timeline(user: User, customer: Customer, *, limit: int = 100) -> list[TimelineEntry]:
    """Interactions, orders and changes of one customer (already fetched through scope), newest first."""
    entries: list[TimelineEntry] = []
    if allows(user, ObjectType.INTERACTION, Action.VIEW):
        for interaction in Interaction.objects.filter(customer=customer).order_by("-occurred_at")[:limit]:
            entries.append(
                TimelineEntry(
                    "interaction",
                    interaction.occurred_at,
                    interaction.kind,
                    interaction.subject,
                    str(interaction.public_id),
                )
            )
    if allows(user, ObjectType.ORDER, Action.VIEW):
        for order in Order.objects.filter(customer=customer).order_by("-placed_at")[:limit]:
            entries.append(
                TimelineEntry(
                    "order",
                    order.placed_at,
                    order.number,
                    f"{order.total} {order.currency}",
                    str(order.public_id),
                )
            )
    for record in AuditRecord.objects.filter(customer_id=customer.pk).order_by("-sequence")[:limit]:
        entries.append(
            TimelineEntry("change", record.occurred_at, record.event, ", ".join(record.fields), str(record.sequence))
        )
    entries.sort(key=lambda entry: entry.occurred_at, reverse=True)
    return entries[:limit]
