"""/api/v1/interactions: the contact timeline."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from kehu.accounts.roles import Action
from kehu.core.api_support import ErrorOut, UtcDatetime, patch_values, request_user
from kehu.core.pagination import paginate
from kehu.customers.selectors import customer_get_for_user
from kehu.interactions import selectors, services
from kehu.interactions.models import Interaction

router = Router(tags=["interactions"])
ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
Kind = Literal["call", "email", "chat", "meeting", "visit", "sms", "social", "note", "feedback"]


class InteractionIn(Schema):
    customer: uuid.UUID
    kind: Kind
    direction: Literal["inbound", "outbound", "internal"] = "outbound"
    channel: str = Field("", max_length=50)
    subject: str = Field("", max_length=200)
    body: str = Field("", max_length=20000)
    occurred_at: UtcDatetime | None = None
    outcome: str = Field("", max_length=200)
    satisfaction: int | None = Field(None, ge=1, le=5)


class InteractionPatch(Schema):
    kind: Kind | None = None
    direction: Literal["inbound", "outbound", "internal"] | None = None
    channel: str | None = Field(None, max_length=50)
    subject: str | None = Field(None, max_length=200)
    body: str | None = Field(None, max_length=20000)
    occurred_at: UtcDatetime | None = None
    outcome: str | None = Field(None, max_length=200)
    satisfaction: int | None = Field(None, ge=1, le=5)


class InteractionOut(Schema):
    id: uuid.UUID
    customer: uuid.UUID
    kind: str
    direction: str
    channel: str
    subject: str
    body: str
    occurred_at: dt.datetime
    user: str | None
    outcome: str
    satisfaction: int | None


class InteractionPageOut(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


def _out(interaction: Interaction) -> InteractionOut:
    return InteractionOut(
        id=interaction.public_id,
        customer=interaction.customer.public_id,
        kind=interaction.kind,
        direction=interaction.direction,
        channel=interaction.channel,
        subject=interaction.subject,
        body=interaction.body,
        occurred_at=interaction.occurred_at,
        user=str(interaction.user) if interaction.user else None,
        outcome=interaction.outcome,
        satisfaction=interaction.satisfaction,
    )


@router.get("/interactions", response={200: InteractionPageOut, **ERRORS})
def interactions_list(
    request: HttpRequest,
    customer: uuid.UUID | None = None,
    kind: str = "",
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> InteractionPageOut:
    user = request_user(request)
    queryset = selectors.interactions_for_user(user).select_related("customer", "user")
    if customer is not None:
        queryset = queryset.filter(customer=customer_get_for_user(user, customer))
    if kind:
        queryset = queryset.filter(kind=kind)
    page = paginate(queryset, sort="-occurred_at", cursor=cursor, limit=limit)
    return InteractionPageOut(items=[_out(i) for i in page.items], next_cursor=page.next_cursor)


@router.post("/interactions", response={201: InteractionOut, **ERRORS})
def interactions_create(request: HttpRequest, payload: InteractionIn) -> Status[InteractionOut]:
    user = request_user(request)
    customer = customer_get_for_user(user, payload.customer)
    interaction = services.interaction_log(actor=user, customer=customer, **payload.dict(exclude={"customer"}))
    return Status(201, _out(selectors.interaction_get_for_user(user, interaction.public_id)))


@router.get("/interactions/{interaction_id}", response={200: InteractionOut, **ERRORS})
def interactions_get(request: HttpRequest, interaction_id: str) -> InteractionOut:
    return _out(selectors.interaction_get_for_user(request_user(request), interaction_id))


@router.patch("/interactions/{interaction_id}", response={200: InteractionOut, **ERRORS})
def interactions_update(request: HttpRequest, interaction_id: str, payload: InteractionPatch) -> InteractionOut:
    user = request_user(request)
    interaction = selectors.interaction_get_for_user(user, interaction_id, Action.CHANGE)
    changes = patch_values(payload, nullable=frozenset({"satisfaction"}))
    services.interaction_update(actor=user, interaction=interaction, **changes)
    return _out(selectors.interaction_get_for_user(user, interaction_id))
