"""Money is a Decimal with a currency; amounts are kept to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

MAX_DIGITS = 14
DECIMAL_PLACES = 2
CENT = Decimal("0.01")


def default_currency() -> str:
    return str(settings.KEHU_CURRENCY)


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
