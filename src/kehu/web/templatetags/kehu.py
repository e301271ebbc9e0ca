"""Template filters and tags of the pages: money in the user's locale, the labels of stored codes, list cells."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # missing from django-stubs

from kehu.audit.models import AuditEvent
from kehu.customers.models import ContactKind
from kehu.interactions.models import InteractionKind

register = template.Library()

_SYMBOLS = {"CNY": "¥", "USD": "US$", "EUR": "€", "HKD": "HK$", "JPY": "JP¥", "GBP": "£"}


@register.filter
def money(amount: Decimal | int | float | None, currency: str = "CNY") -> str:
    """¥12,345.60; an unknown currency is written by its code."""
    if amount is None:
        amount = Decimal(0)
    figure = number_format(Decimal(amount).quantize(Decimal("0.01")), decimal_pos=2, force_grouping=True)
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{figure}" if symbol else f"{figure} {currency}"


def _label(choices: type, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@register.filter
def interaction_label(value: str) -> str:
    return _label(InteractionKind, value)


@register.filter
def audit_label(value: str) -> str:
    return _label(AuditEvent, value)


@register.filter
def contact_label(value: str) -> str:
    return _label(ContactKind, value)


def _day(value: dt.datetime | None, pattern: str) -> str:
    """As `{{ value|date:pattern }}` writes it: Django's filter, in the current time zone."""
    return date_filter(template_localtime(value), pattern)


_CELLS: dict[str, Callable[[Mapping[str, Any]], SafeString]] = {
    "phone": lambda c: format_html('<td class="nowrap">{}</td>', c["primary_phone"] or ""),
    "email": lambda c: format_html('<td class="optional">{}</td>', c["primary_email"] or ""),
    "company": lambda c: format_html('<td class="optional">{}</td>', c["company_name"]),
    "stage": lambda c: format_html(
        '<td class="optional"><span class="stage stage-{}">{}</span></td>', c["lifecycle_stage"], c["stage_label"]
    ),
    "owner": lambda c: format_html('<td class="optional">{}</td>', c["owner"]["name"] if c["owner"] else ""),
    "tags": lambda c: format_html(
        '<td class="optional">{}</td>', format_html_join("", '<span class="tag">{}</span>', ((t,) for t in c["tags"]))
    ),
    "source": lambda c: format_html('<td class="optional">{}</td>', c["source_label"]),
    "created": lambda c: format_html('<td class="optional nowrap">{}</td>', _day(c["created_at"], "Y-m-d")),
    "updated": lambda c: format_html('<td class="optional nowrap">{}</td>', _day(c["updated_at"], "Y-m-d H:i")),
}


@register.simple_tag
def customer_cells(item: Mapping[str, Any], columns: Sequence[str]) -> SafeString:
    """The chosen columns of one row of the customer list. A list shows up to 100 rows of up to 9 columns; one
    tag per row costs a tenth of a template branch per cell, and every value is escaped by format_html."""
    return mark_safe("".join(_CELLS[key](item) for key in columns if key in _CELLS))  # noqa: S308 - escaped above
