"""Template filters of the pages: money in the user's locale, and the labels of stored codes."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

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
