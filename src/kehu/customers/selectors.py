"""Reads of the customer record that the API, pages, search and exports share; all apply the user's scope."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from kehu.accounts.access import require, scope_q, scope_terms
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.core.changes import parse_public_id
from kehu.core.errors import NotFoundError, ServiceValidationError
from kehu.core.pagination import Page, paginate
from kehu.customers.models import Address, ContactPoint, Customer, Tag
from kehu.customers.search_index import newest_matches, search_filter

SORTS = ("-created_at", "created_at", "-updated_at", "updated_at", "display_name", "-display_name")


def customers_for_user(user: User, action: Action = Action.VIEW) -> QuerySet[Customer]:
    """Every customer the user may act on; the base of every customer read."""
    require(user, ObjectType.CUSTOMER, action)
    return Customer.objects.filter(scope_q(user))


def customer_get_for_user(user: User, public_id: uuid.UUID | str, action: Action = Action.VIEW) -> Customer:
    """The customer with this public id if the user may act on it; NotFoundError otherwise (never 'forbidden')."""
    key = parse_public_id(public_id)
    customer = (
        customers_for_user(user, action)
        .select_related("owner", "team", "parent")
        .prefetch_related(
            Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "-is_primary", "id")),
            Prefetch("addresses", queryset=Address.objects.order_by("-is_primary", "id")),
            "tags",
        )
        .filter(public_id=key)
        .first()
    )
    if customer is None:
        raise NotFoundError
    return customer


def contact_point_get_for_user(user: User, customer: Customer, point_id: int) -> ContactPoint:
    point = ContactPoint.objects.filter(customer=customer, pk=point_id).select_related("customer").first()
    if point is None:
        raise NotFoundError
    return point


def address_get_for_user(user: User, customer: Customer, address_id: int) -> Address:
    address = Address.objects.filter(customer=customer, pk=address_id).select_related("customer").first()
    if address is None:
        raise NotFoundError
    return address


@dataclass(frozen=True)
class CustomerFilters:
    query: str = ""
    kind: str = ""
    lifecycle_stage: str = ""
    owner: uuid.UUID | None = None
    team: int | None = None
    tag: str = ""
    source_channel: str = ""
    industry: str = ""
    region: str = ""
    customer_type: str = ""
    province: str = ""
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    archived: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)


def customer_list(
    user: User,
    filters: CustomerFilters,
    *,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Customer]:
    if sort not in SORTS:
        raise ServiceValidationError.single("sort", f"must be one of {', '.join(SORTS)}")
    queryset = customers_for_user(user)
    queryset = queryset.filter(archived_at__isnull=not filters.archived)
    exact = {
        "kind": filters.kind,
        "lifecycle_stage": filters.lifecycle_stage,
        "source_channel": filters.source_channel,
        "industry": filters.industry,
        "region": filters.region,
        "customer_type": filters.customer_type,
    }
    queryset = queryset.filter(**{name: value for name, value in exact.items() if value})
    if filters.owner:
        queryset = queryset.filter(owner__public_id=filters.owner)
    if filters.team:
        queryset = queryset.filter(team_id=filters.team)
    if filters.tag:
        queryset = queryset.filter(tags__name=filters.tag)
    if filters.province:
        addresses = Address.objects.filter(customer=OuterRef("pk"), province__startswith=filters.province)
        queryset = queryset.filter(Exists(addresses))
    if filters.created_after:
        queryset = queryset.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        queryset = queryset.filter(created_at__lt=filters.created_before)
    for key, value in filters.attributes.items():
        queryset = queryset.filter(**{f"attributes__{key}": value})
    if filters.query.strip():
        queryset = search_filter(queryset, filters.query, scope=scope_terms(user), archived=filters.archived)
    queryset = (
        queryset.defer("search_document")
        .select_related("owner")
        .prefetch_related(
            Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "-is_primary", "id")),
            "tags",
        )
    )
    return paginate(queryset, sort=sort, cursor=cursor, limit=limit)


def customer_search(user: User, query: str, *, limit: int = 20) -> list[Customer]:
    """The quick search box: the newest live customers in the user's scope that match what was typed."""
    scoped = customers_for_user(user).filter(archived_at__isnull=True)
    ids = newest_matches(scoped, query, scope=scope_terms(user), limit=limit)
    found = (
        scoped.filter(id__in=ids)
        .defer("search_document", "attributes")
        .select_related("owner")
        .prefetch_related(Prefetch("contact_points", queryset=ContactPoint.objects.filter(is_primary=True)), "tags")
        .in_bulk()
    )
    return [found[row_id] for row_id in ids if row_id in found]


def tag_list(user: User) -> QuerySet[Tag]:
    require(user, ObjectType.TAG, Action.VIEW)
    return Tag.objects.order_by("name")
