"""Data quality: how complete, valid and fresh the customer records are — per customer and across a user's scope.

Every measure is one SQL expression, defined once here and used three ways: counted over the user's customers
for the data quality page, applied as a list filter (`?quality=…`) so that each count is a click away from the
customers behind it, and evaluated for one customer to give the score on the 360 page.

Score (0–100) = 50% completeness (share of the fields below that are filled) + 30% validity (minus a third
per problem found) + 20% freshness (full when the record was touched — changed, contacted or an order — in the
last 3 months, none after 24).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kehu.customers.models import Address, ContactPoint, Customer

PLACEHOLDER_NAMES = ("测试", "test", "未知", "无", "客户", "先生", "女士", "小姐", "x", "xx", "xxx", "unknown", "n/a")
FRESH_MONTHS, STALE_MONTHS = 3, 24


def _points(*kinds: str) -> Exists:
    points = ContactPoint.objects.filter(customer=OuterRef("pk"))
    return Exists(points.filter(kind__in=kinds) if kinds else points)


def _addresses(**conditions: Any) -> Exists:
    return Exists(Address.objects.filter(customer=OuterRef("pk"), **conditions))


def _tagged() -> Exists:
    return Exists(Customer.tags.through.objects.filter(customer_id=OuterRef("pk")))


def _orders() -> Exists:
    from kehu.commerce.models import Order

    return Exists(Order.objects.filter(customer=OuterRef("pk")))


@dataclass(frozen=True)
class Measure:
    key: str
    label: Promise
    expression: Callable[[], Any]  # a Q or a boolean expression (Exists): true for the customers it counts


# Filled when true; the page shows each one's fill rate, the list filter `missing_<key>` the others.
FIELDS: tuple[Measure, ...] = (
    Measure("phone", _("Mobile or phone"), lambda: _points("mobile", "phone")),
    Measure("email", _("Email"), lambda: _points("email")),
    Measure("address", _("Address"), lambda: _addresses()),
    Measure("company", _("Company"), lambda: ~Q(company_name="")),
    Measure("job_title", _("Job title"), lambda: ~Q(job_title="")),
    Measure("gender", _("Gender"), lambda: ~Q(gender="") | Q(kind="organization")),
    Measure("birthday", _("Birthday"), lambda: (Q(birthday__isnull=False) & ~Q(birthday="")) | Q(kind="organization")),
    Measure("industry", _("Industry"), lambda: ~Q(industry="")),
    Measure("region", _("Region"), lambda: ~Q(region="")),
    Measure("source", _("Source channel"), lambda: ~Q(source_channel="")),
    Measure("tags", _("Tags"), _tagged),
)
# Problems when true.
CHECKS: tuple[Measure, ...] = (
    Measure("address_unparsed", _("Address without a recognised province"), lambda: _addresses(province="")),
    Measure("placeholder_name", _("A placeholder instead of a name (测试, 未知, 先生…)"),
            lambda: Q(display_name__iregex=r"^\s*(" + "|".join(PLACEHOLDER_NAMES) + r")\s*$")),
    Measure("name_with_digits", _("A name with a number in it"), lambda: Q(display_name__regex=r"[0-9]{3,}")),
    Measure("customer_without_order", _("Stage “customer” without any order"),
            lambda: Q(lifecycle_stage="customer") & ~_orders()),
)  # fmt: skip
NO_CONTACT = Measure("no_contact", _("No way to contact them (no phone, email, WeChat or QQ)"), lambda: ~_points())


def stale(months: int) -> Q:
    """Not changed, contacted or ordered from in `months` months."""
    from kehu.commerce.models import Order
    from kehu.interactions.models import Interaction

    since = timezone.now() - dt.timedelta(days=round(months * 30.44))
    recent_contact = Interaction.objects.filter(customer=OuterRef("pk"), occurred_at__gte=since)
    recent_order = Order.objects.filter(customer=OuterRef("pk"), placed_at__gte=since)
    return Q(updated_at__lt=since) & ~Exists(recent_contact) & ~Exists(recent_order)


def quality_choices() -> list[tuple[str, Any]]:
    """The list filter's choices: every measure of the data quality page."""
    return [
        *((f"missing_{m.key}", _("Missing: %(field)s") % {"field": m.label}) for m in FIELDS),
        *((m.key, m.label) for m in CHECKS),
        (NO_CONTACT.key, NO_CONTACT.label),
        ("stale", _("Not touched for the months given")),
    ]


def quality_filter(key: str, months: int) -> Q:
    """The list filter behind a count of the data quality page."""
    if key == "stale":
        return stale(months)
    if key == NO_CONTACT.key:
        return Q(NO_CONTACT.expression())
    for measure in FIELDS:
        if key == f"missing_{measure.key}":
            return ~Q(measure.expression())
    for measure in CHECKS:
        if key == measure.key:
            return Q(measure.expression())
    raise ValueError(f"unknown data quality measure {key!r}")


@dataclass
class Overview:
    total: int
    fields: list[tuple[Measure, int]]  # (field, customers with it filled)
    checks: list[tuple[Measure, int]]
    no_contact: int
    stale: int
    months: int


def quality_overview(customers: QuerySet[Customer], *, months: int) -> Overview:
    """Every measure counted over `customers` (the user's live customers), in one query."""
    counts = {
        **{f"f_{m.key}": Count("pk", filter=Q(m.expression())) for m in FIELDS},
        **{f"c_{m.key}": Count("pk", filter=Q(m.expression())) for m in CHECKS},
        "no_contact": Count("pk", filter=Q(NO_CONTACT.expression())),
        "stale": Count("pk", filter=stale(months)),
    }
    result = customers.order_by().aggregate(total=Count("pk"), **counts)
    return Overview(
        total=result["total"],
        fields=[(m, result[f"f_{m.key}"]) for m in FIELDS],
        checks=[(m, result[f"c_{m.key}"]) for m in CHECKS],
        no_contact=result["no_contact"],
        stale=result["stale"],
        months=months,
    )


@dataclass
class CustomerQuality:
    score: int
    completeness: int
    validity: int
    freshness: int
    missing: list[Measure]
    problems: list[Measure]
    last_touched: dt.datetime


def customer_quality(customer: Customer, *, activity: list[dt.datetime | None] | None = None) -> CustomerQuality:
    """The score of one customer and what lowers it, evaluated with the same expressions as the page.

    `activity`: the times of its last contact and last order when the caller has them (the 360 page does)."""
    from kehu.commerce.models import Order
    from kehu.interactions.models import Interaction

    flags = {
        **{f"f_{m.key}": ExpressionWrapper(Q(m.expression()), output_field=BooleanField()) for m in FIELDS},
        **{f"c_{m.key}": ExpressionWrapper(Q(m.expression()), output_field=BooleanField()) for m in CHECKS},
    }
    row = Customer.objects.filter(pk=customer.pk).annotate(**flags).values(*flags).get()
    missing = [m for m in FIELDS if not row[f"f_{m.key}"]]
    problems = [m for m in CHECKS if row[f"c_{m.key}"]]
    if activity is None:
        contacts = Interaction.objects.filter(customer=customer).order_by("-occurred_at")
        orders = Order.objects.filter(customer=customer).order_by("-placed_at")
        activity = [
            contacts.values_list("occurred_at", flat=True).first(),
            orders.values_list("placed_at", flat=True).first(),
        ]
    touched = [customer.updated_at, *(when for when in activity if when is not None)]
    last = max(touched)
    months = (timezone.now() - last).days / 30.44
    freshness = (
        100 if months <= FRESH_MONTHS else max(0, round(100 * (STALE_MONTHS - months) / (STALE_MONTHS - FRESH_MONTHS)))
    )
    completeness = round(100 * (len(FIELDS) - len(missing)) / len(FIELDS))
    validity = max(0, 100 - 34 * len(problems))
    score = round(0.5 * completeness + 0.3 * validity + 0.2 * freshness)
    return CustomerQuality(score, completeness, validity, freshness, missing, problems, last)
