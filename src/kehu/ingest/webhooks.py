"""Orders pushed by e-commerce platforms: `POST /api/v1/hooks/orders/<source>`, signed per source.

The request carries `X-Kehu-Timestamp` (Unix seconds) and `X-Kehu-Signature: sha256=<hex>`, the HMAC-SHA256
of `<timestamp>.<raw body>` under the source's secret. A signature that does not match, or a timestamp more
than five minutes away, is refused before the body is read as JSON. An order is recorded once per source and
platform order id: sending it again answers with the order already recorded. Its buyer is matched on exact
keys (mobile, email, the platform's buyer id) as an import row is, and created when new; unknown SKUs become
products. Everything happens in one transaction with the audit records of what was created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.commerce.models import Order, Product
from kehu.commerce.services import OrderLineInput, order_create, product_create
from kehu.core.errors import FieldError, ServiceValidationError
from kehu.core.normalize import NormalisationError, normalize_amount
from kehu.customers.bulk import ImportRow, customers_import_batch
from kehu.customers.models import Customer
from kehu.customers.services import AddressInput, ContactPointInput
from kehu.ingest.models import WebhookSource

SIGNATURE_HEADER = "HTTP_X_KEHU_SIGNATURE"
TIMESTAMP_HEADER = "HTTP_X_KEHU_TIMESTAMP"
MAX_SKEW_SECONDS = 300


class SignatureRefused(Exception):
    """Unknown source, bad or missing signature, or a stale timestamp: answered 401 without details."""


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def source_verified(
    name: str, *, timestamp: str, signature: str, body: bytes, now: float | None = None
) -> WebhookSource:
    """The source whose secret signed this body, or SignatureRefused."""
    source = WebhookSource.objects.select_related("actor").filter(name=name, active=True).first()
    if source is None:
        hmac.compare_digest(signature, signature_for("unknown-source", timestamp, body))  # same work either way
        raise SignatureRefused
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SignatureRefused
    if not hmac.compare_digest(signature, signature_for(source.secret, timestamp, body)):
        raise SignatureRefused
    return source


@dataclass
class OrderReceived:
    order: Order
    customer: Customer
    created: bool


def _text(value: Any, field: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise ServiceValidationError.single(field, _("must be text"))
    text = str(value).strip()
    if len(text) > limit:
        raise ServiceValidationError.single(field, _("at most %(limit)s characters") % {"limit": limit})
    return text


def _amount(value: Any, field: str) -> Decimal | None:
    """An amount as platforms send it: 599, "599.00", "¥1,198.00"."""
    try:
        return normalize_amount(value)
    except NormalisationError as error:
        raise ServiceValidationError.single(field, str(error)) from None


def _placed_at(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        placed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ServiceValidationError.single(
            "placed_at", _("must be an ISO 8601 time such as 2026-11-22T10:00:00+08:00")
        ) from None
    return placed if timezone.is_aware(placed) else timezone.make_aware(placed)


def order_receive(*, source: WebhookSource, payload: Mapping[str, Any]) -> OrderReceived:
    """Record the order (once), its buyer (matched or created) and unknown products, as the source's actor."""
    if not isinstance(payload, Mapping):
        raise ServiceValidationError.single("body", _("the body must be a JSON object"))
    order_id = _text(payload.get("order_id"), "order_id", 100)
    if not order_id:
        raise ServiceValidationError.single("order_id", _("is required"))
    existing = Order.objects.select_related("customer").filter(source_system=source.name, external_id=order_id).first()
    if existing is not None:
        return OrderReceived(existing, existing.customer, created=False)
    buyer = payload.get("customer")
    if not isinstance(buyer, Mapping):
        raise ServiceValidationError.single(
            "customer", _("is required: an object with the buyer's name and mobile or email")
        )
    lines = payload.get("lines")
    if not isinstance(lines, list) or not lines:
        raise ServiceValidationError.single("lines", _("an order needs at least one line"))
    actor = source.actor
    with transaction.atomic():
        customer = _buyer(source, buyer)
        order_lines = [_line(source, index, line) for index, line in enumerate(lines)]
        order = order_create(
            actor=actor,
            customer=customer,
            lines=order_lines,
            channel=source.channel,
            placed_at=_placed_at(payload.get("placed_at")),
            status=_text(payload.get("status"), "status", 20) or "confirmed",
            payment_status=_text(payload.get("payment_status"), "payment_status", 20) or "unpaid",
            discount=_amount(payload.get("discount"), "discount") or Decimal("0"),
            currency=_text(payload.get("currency"), "currency", 3),
            source_system=source.name,
            external_id=order_id,
        )
        WebhookSource.objects.filter(pk=source.pk).update(last_received_at=timezone.now())
    return OrderReceived(order, customer, created=True)


def _buyer(source: WebhookSource, buyer: Mapping[str, Any]) -> Customer:
    points = []
    for key, kind in (("mobile", "mobile"), ("phone", "phone"), ("email", "email")):
        value = _text(buyer.get(key), f"customer.{key}", 200)
        if value:
            points.append(ContactPointInput(kind=kind, value=value, source=source.name))
    row = ImportRow(
        number=1,
        values={
            "display_name": _text(buyer.get("name"), "customer.name", 200),
            "source_system": source.name,
            "external_id": _text(buyer.get("external_id"), "customer.external_id", 100),
            "source_channel": "ecommerce",
            "lifecycle_stage": "customer",
        },
        contact_points=points,
        addresses=[AddressInput(raw=address)]
        if (address := _text(buyer.get("address"), "customer.address", 300))
        else [],
    )
    if not points and not row.values["external_id"]:
        raise ServiceValidationError.single("customer", _("give the buyer's mobile, email or external_id"))
    outcome = customers_import_batch(
        actor=source.actor, rows=[row], policy="fill_blanks", import_batch=f"hook:{source.name}"
    )[0]
    if outcome.action == "failed":
        raise ServiceValidationError([FieldError(f"customer.{error.field}", error.reason) for error in outcome.errors])
    if outcome.customer_id is None:  # created or matched in this transaction: never
        raise RuntimeError("the buyer was not recorded")
    return Customer.objects.get(pk=outcome.customer_id)


def _line(source: WebhookSource, index: int, line: Any) -> OrderLineInput:
    prefix = f"lines.{index}"
    if not isinstance(line, Mapping):
        raise ServiceValidationError.single(prefix, _("must be an object with sku, quantity and unit_price"))
    sku = _text(line.get("sku"), f"{prefix}.sku", 64)
    if not sku:
        raise ServiceValidationError.single(f"{prefix}.sku", _("is required"))
    quantity = line.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise ServiceValidationError.single(f"{prefix}.quantity", _("must be a whole number of at least 1"))
    unit_price = _amount(line.get("unit_price"), f"{prefix}.unit_price")
    product = Product.objects.filter(sku=sku).first()
    if product is None:
        name = _text(line.get("name"), f"{prefix}.name", 200) or sku
        if unit_price is None:
            raise ServiceValidationError.single(
                f"{prefix}.unit_price", _("is required for a product kehu does not know yet")
            )
        product = product_create(actor=source.actor, sku=sku, name=name, price=unit_price)
    return OrderLineInput(product=product, quantity=quantity, unit_price=unit_price)


def source_create(*, name: str, actor: Any, channel: str = "ecommerce") -> tuple[WebhookSource, str]:
    """A new source and its secret (shown once: only its encrypted form is kept)."""
    secret = secrets.token_urlsafe(32)
    return WebhookSource.objects.create(name=name, actor=actor, channel=channel, secret=secret), secret


def source_rotate(source: WebhookSource) -> str:
    secret = secrets.token_urlsafe(32)
    source.secret = secret
    source.save(update_fields=["secret"])
    return secret
