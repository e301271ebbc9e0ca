"""Reads of interactions and of a customer's whole timeline."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from kehu.accounts.access import allows, require, scope_q
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditEvent, AuditRecord
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


TIMELINE_KINDS = ("interaction", "order", "change")
SHOWN_ELSEWHERE = (AuditEvent.INTERACTION_LOGGED, AuditEvent.ORDER_CREATED)


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "interaction", "order" or "change"
    occurred_at: dt.datetime
    title: str  # interaction kind, order number or audit event
    detail: str
    ref: str
    body: str = ""  # an interaction's notes; shown as text, never as markup
    by: str = ""  # who logged or changed it


def customer_timeline(
    user: User, customer: Customer, *, limit: int = 100, kinds: tuple[str, ...] = TIMELINE_KINDS
) -> list[TimelineEntry]:
    """Interactions, orders and changes of one customer (already fetched through scope), newest first.

    One query per kind, whatever the number of entries.
    """
    entries: list[TimelineEntry] = []
    if "interaction" in kinds and allows(user, ObjectType.INTERACTION, Action.VIEW):
        interactions = Interaction.objects.filter(customer=customer).select_related("user").order_by("-occurred_at")
        for interaction in interactions[:limit]:
            entries.append(
                TimelineEntry(
                    "interaction",
                    interaction.occurred_at,
                    interaction.kind,
                    interaction.subject,
                    str(interaction.public_id),
                    body=interaction.body,
                    by=str(interaction.user) if interaction.user else "",
                )
            )
    if "order" in kinds and allows(user, ObjectType.ORDER, Action.VIEW):
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
    if "change" in kinds:
        records = (
            AuditRecord.objects.filter(customer_id=customer.pk)
            .exclude(event__in=SHOWN_ELSEWHERE)  # the interaction or order itself is on the timeline
            .select_related("actor")
            .order_by("-sequence")
        )
        for record in records[:limit]:
            entries.append(
                TimelineEntry(
                    "change",
                    record.occurred_at,
                    record.event,
                    ", ".join(record.fields),
                    str(record.sequence),
                    by=str(record.actor) if record.actor else "",
                )
            )
    entries.sort(key=lambda entry: entry.occurred_at, reverse=True)
    return entries[:limit]
