"""Reads of the customer record that the API, pages, search and exports share; all apply the user's scope."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils.translation import gettext

from kehu.accounts.access import require, scope_q, scope_terms
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.analytics.rfm import segment_lookup
from kehu.core.changes import parse_public_id
from kehu.core.errors import NotFoundError, ServiceValidationError, one_of
from kehu.core.pagination import Page, paginate
from kehu.customers.models import Address, ContactKind, ContactPoint, Customer, Tag
from kehu.customers.search_index import newest_matches, search_filter


@dataclass(frozen=True)
class CustomerSummary:
    """What a list row or a search result shows, read with three flat queries instead of model instances."""

    id: int
    public_id: uuid.UUID
    kind: str
    display_name: str
    company_name: str
    lifecycle_stage: str
    source_channel: str
    owner_public_id: uuid.UUID | None
    owner_name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    archived: bool
    primary_phone: tuple[str, str] | None  # (kind, value)
    primary_email: str | None
    tags: tuple[str, ...]


def customer_summaries(ids: list[int]) -> list[CustomerSummary]:
    """Summaries of customers already selected through scope, in the order of `ids`."""
    if not ids:
        return []
    rows = Customer.objects.filter(id__in=ids).values_list(
        "id",
        "public_id",
        "kind",
        "display_name",
        "company_name",
        "lifecycle_stage",
        "source_channel",
        "owner__public_id",
        "owner__display_name",
        "owner__username",
        "created_at",
        "updated_at",
        "archived_at",
    )
    phones: dict[int, tuple[str, str]] = {}
    emails: dict[int, str] = {}
    primaries = ContactPoint.objects.filter(
        customer_id__in=ids, is_primary=True, kind__in=[ContactKind.MOBILE, ContactKind.PHONE, ContactKind.EMAIL]
    ).values_list("customer_id", "kind", "value")
    for customer_id, kind, value in primaries.order_by("customer_id", "kind"):
        if kind == ContactKind.EMAIL:
            emails[customer_id] = value
        elif customer_id not in phones or kind == ContactKind.MOBILE:
            phones[customer_id] = (kind, value)
    tags: dict[int, list[str]] = {}
    tagged = Customer.tags.through.objects.filter(customer_id__in=ids).values_list("customer_id", "tag__name")
    for customer_id, name in tagged.order_by("tag__name"):
        tags.setdefault(customer_id, []).append(name)
    by_id = {
        row[0]: CustomerSummary(
            id=row[0],
            public_id=row[1],
            kind=row[2],
            display_name=row[3],
            company_name=row[4],
            lifecycle_stage=row[5],
            source_channel=row[6],
            owner_public_id=row[7],
            owner_name=row[8] or row[9] or "",
            created_at=row[10],
            updated_at=row[11],
            archived=row[12] is not None,
            primary_phone=phones.get(row[0]),
            primary_email=emails.get(row[0]),
            tags=tuple(tags.get(row[0], ())),
        )
        for row in rows
    }
    return [by_id[row_id] for row_id in ids if row_id in by_id]


SORTS = ("-created_at", "created_at", "-updated_at", "updated_at", "display_name", "-display_name")


def customers_for_user(user: User, action: Action = Action.VIEW) -> QuerySet[Customer]:
    """Every customer the user may act on; the base of every customer read. Records merged into another are
    left out: they are reached only through their merge (kehu.dedup.merge)."""
    require(user, ObjectType.CUSTOMER, action)
    return Customer.objects.filter(scope_q(user), merged_into__isnull=True)


def survivors(ids: set[int]) -> dict[int, int]:
    """For customers merged into another, the record each now lives on (following merges of merges)."""
    into: dict[int, int] = {}
    pending = set(ids)
    for _ in range(20):  # a chain of merges is short; the bound guards against a cycle
        step: dict[int, int] = dict(
            Customer.objects.filter(id__in=pending, merged_into__isnull=False).values_list("id", "merged_into_id")
        )
        into.update(step)
        pending = set(step.values()) - into.keys()
        if not pending:
            break
    found: dict[int, int] = {}
    for customer_id in ids & into.keys():
        target = into[customer_id]
        while target in into and target != customer_id:
            target = into[target]
        found[customer_id] = target
    return found


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
    quality: str = ""  # a measure of kehu.customers.quality (missing_phone, no_contact, stale…)
    quality_months: int = 12  # for `stale`
    segment: str = ""  # an RFM segment or customer class (kehu.analytics.rfm.segment_lookup), as last computed
    churn_risk_min: float | None = None
    cluster: int | None = None  # as the last analytics run grouped them (0: the largest cluster)
    risk_min: float | None = None  # risk score (kehu.analytics.risk) at least this


RARE_TAG = 2000


def _with_tag(queryset: QuerySet[Customer], name: str) -> QuerySet[Customer]:
    """Customers with the tag. A rare tag's few customers are fetched by id; a common tag is checked row by row
    while the list walks its index in the order shown, so neither sorts tens of thousands of rows."""
    tagged = Customer.tags.through.objects.filter(tag__name=name)
    few = list(tagged.values_list("customer_id", flat=True)[:RARE_TAG])
    if len(few) < RARE_TAG:
        return queryset.filter(id__in=few)
    return queryset.filter(Exists(tagged.filter(customer_id=OuterRef("pk"))))


def customer_list(
    user: User,
    filters: CustomerFilters,
    *,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[CustomerSummary]:
    if sort not in SORTS:
        raise ServiceValidationError.single("sort", one_of(SORTS))
    queryset = customers_filtered(user, filters)
    page = paginate(queryset.only("id", sort.lstrip("-")), sort=sort, cursor=cursor, limit=limit)
    summaries = customer_summaries([customer.pk for customer in page.items])
    return Page[CustomerSummary](items=summaries, next_cursor=page.next_cursor)


def customers_filtered(user: User, filters: CustomerFilters) -> QuerySet[Customer]:
    """The user's customers that the list's filters and search select (the list pages them, exports walk them)."""
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
        queryset = _with_tag(queryset, filters.tag)
    if filters.province:
        addresses = Address.objects.filter(customer=OuterRef("pk"), province__startswith=filters.province)
        queryset = queryset.filter(Exists(addresses))
    if filters.created_after:
        queryset = queryset.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        queryset = queryset.filter(created_at__lt=filters.created_before)
    for key, value in filters.attributes.items():
        queryset = queryset.filter(**{f"attributes__{key}": value})
    if filters.quality:
        from kehu.customers.quality import quality_filter

        queryset = queryset.filter(quality_filter(filters.quality, filters.quality_months))
    if filters.segment:
        found = segment_lookup(filters.segment)
        if found is None:
            raise ServiceValidationError.single("segment", gettext("is not an RFM segment or a customer class"))
        queryset = queryset.filter(**{f"score__{found[0]}": found[1]})
    if filters.churn_risk_min is not None:
        queryset = queryset.filter(score__churn_risk__gte=filters.churn_risk_min)
    if filters.cluster is not None:
        queryset = queryset.filter(score__cluster=filters.cluster)
    if filters.risk_min is not None:
        queryset = queryset.filter(score__risk_score__gte=filters.risk_min)
    if filters.query.strip():
        queryset = search_filter(queryset, filters.query, scope=scope_terms(user), archived=filters.archived)
    return queryset


def customer_search(user: User, query: str, *, limit: int = 20) -> list[CustomerSummary]:
    """The quick search box: the newest live customers in the user's scope that match what was typed."""
    scoped = customers_for_user(user).filter(archived_at__isnull=True)
    return customer_summaries(newest_matches(scoped, query, scope=scope_terms(user), limit=limit))


def tag_list(user: User) -> QuerySet[Tag]:
    require(user, ObjectType.TAG, Action.VIEW)
    return Tag.objects.order_by("name")
