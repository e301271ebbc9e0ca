"""Writes to products, orders and returns."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record
from kehu.commerce.models import (
    Order,
    OrderChannel,
    OrderLine,
    OrderReturn,
    OrderStatus,
    PaymentStatus,
    Product,
)
from kehu.core.changes import apply_changes
from kehu.core.errors import FieldError, ServiceValidationError, length_errors, one_of
from kehu.core.money import default_currency, quantize
from kehu.customers.models import Customer

MAX_AMOUNT = Decimal("999999999999.99")


def _check_amount(field: str, amount: Decimal) -> Decimal:
    if not amount.is_finite() or amount < 0:
        raise ServiceValidationError.single(field, gettext("must be zero or more"))
    if amount > MAX_AMOUNT:
        raise ServiceValidationError.single(field, gettext("must be at most %(limit)s") % {"limit": MAX_AMOUNT})
    return quantize(amount)


def _check_currency(field: str, currency: str) -> str:
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ServiceValidationError.single(field, gettext("must be a 3-letter ISO 4217 code such as CNY"))
    return code


@transaction.atomic
def product_create(
    *, actor: User, sku: str, name: str, price: Decimal, category: str = "", currency: str = ""
) -> Product:
    require(actor, ObjectType.PRODUCT, Action.CREATE)
    sku = sku.strip()
    if not sku:
        raise ServiceValidationError.single("sku", gettext("is required"))
    if Product.objects.filter(sku=sku).exists():
        raise ServiceValidationError.single("sku", gettext("the SKU %(sku)s is already used") % {"sku": sku})
    if not name.strip():
        raise ServiceValidationError.single("name", gettext("is required"))
    product = Product(
        sku=sku,
        name=name.strip(),
        category=category.strip(),
        price=_check_amount("price", price),
        currency=_check_currency("currency", currency or default_currency()),
    )
    errors = length_errors(product)
    if errors:
        raise ServiceValidationError(errors)
    product.save()
    audit_record(event=AuditEvent.PRODUCT_CREATED, actor=actor, target_type="product", target_id=product.sku)
    return product


@transaction.atomic
def product_update(
    *,
    actor: User,
    product: Product,
    name: str | None = None,
    category: str | None = None,
    price: Decimal | None = None,
    active: bool | None = None,
) -> Product:
    require(actor, ObjectType.PRODUCT, Action.CHANGE)
    changes: dict[str, object] = {}
    if name is not None:
        if not name.strip():
            raise ServiceValidationError.single("name", gettext("is required"))
        changes["name"] = name.strip()
    if category is not None:
        changes["category"] = category.strip()
    if price is not None:
        changes["price"] = _check_amount("price", price)
    if active is not None:
        changes["active"] = active
    changed = apply_changes(product, changes)
    errors = length_errors(product)
    if errors:
        raise ServiceValidationError(errors)
    if changed:
        product.save(update_fields=[*changed, "updated_at"])
        audit_record(
            event=AuditEvent.PRODUCT_UPDATED,
            actor=actor,
            target_type="product",
            target_id=product.sku,
            fields=changed,
        )
    return product


@dataclass(frozen=True)
class OrderLineInput:
    product: Product
    quantity: int
    unit_price: Decimal | None = None  # the product's price when not given


def order_number_new(placed_at: dt.datetime) -> str:
    return f"SO{timezone.localtime(placed_at):%Y%m%d}-{secrets.token_hex(5).upper()}"


@transaction.atomic
def order_create(
    *,
    actor: User,
    customer: Customer,
    lines: Sequence[OrderLineInput],
    channel: str,
    placed_at: dt.datetime | None = None,
    status: str = OrderStatus.CONFIRMED,
    payment_status: str = PaymentStatus.UNPAID,
    payment_due: dt.date | None = None,
    discount: Decimal = Decimal("0"),
    currency: str = "",
    number: str = "",
    source_system: str = "",
    external_id: str = "",
) -> Order:
    """Record an order for a customer the actor may change; totals are computed from the lines.

    `source_system` and `external_id` say where an order synced from a platform came from; the pair is unique."""
    require(actor, ObjectType.ORDER, Action.CREATE)
    errors: list[FieldError] = []
    if not lines:
        errors.append(FieldError("lines", gettext("an order needs at least one line")))
    if channel not in OrderChannel.values:
        errors.append(FieldError("channel", one_of(OrderChannel.values)))
    if status not in OrderStatus.values:
        errors.append(FieldError("status", one_of(OrderStatus.values)))
    if payment_status not in PaymentStatus.values:
        errors.append(FieldError("payment_status", one_of(PaymentStatus.values)))
    placed_at = placed_at or timezone.now()
    if placed_at > timezone.now() + dt.timedelta(days=1):
        errors.append(FieldError("placed_at", gettext("is in the future")))
    if external_id and Order.objects.filter(source_system=source_system, external_id=external_id).exists():
        errors.append(
            FieldError(
                "external_id", gettext("this order from %(source)s is already recorded") % {"source": source_system}
            )
        )
    if number and Order.objects.filter(number=number).exists():
        errors.append(FieldError("number", gettext("the order number %(number)s is already used") % {"number": number}))
    currency = _check_currency("currency", currency or default_currency())
    built: list[OrderLine] = []
    for index, item in enumerate(lines):
        if item.quantity < 1:
            errors.append(FieldError(f"lines.{index}.quantity", gettext("must be at least 1")))
            continue
        if item.product.currency != currency and item.unit_price is None:
            errors.append(
                FieldError(
                    f"lines.{index}.unit_price",
                    gettext("the product is priced in %(currency)s") % {"currency": item.product.currency},
                )
            )
            continue
        try:
            unit_price = _check_amount(
                f"lines.{index}.unit_price",
                item.unit_price if item.unit_price is not None else item.product.price,
            )
        except ServiceValidationError as error:
            errors.extend(error.errors)
            continue
        built.append(
            OrderLine(
                product=item.product,
                quantity=item.quantity,
                unit_price=unit_price,
                line_total=quantize(unit_price * item.quantity),
            )
        )
    if errors:
        raise ServiceValidationError(errors)
    subtotal = quantize(sum((line.line_total for line in built), Decimal("0")))
    discount = _check_amount("discount", discount)
    if discount > subtotal:
        raise ServiceValidationError.single("discount", gettext("is larger than the order's subtotal"))
    order = Order(
        customer=customer,
        number=number.strip() or order_number_new(placed_at),
        channel=channel,
        status=status,
        placed_at=placed_at,
        currency=currency,
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
        payment_status=payment_status,
        payment_due=payment_due,
        created_by=actor,
        source_system=source_system.strip(),
        external_id=external_id.strip(),
    )
    errors = length_errors(order)
    if errors:
        raise ServiceValidationError(errors)
    order.save()
    for line in built:
        line.order = order
    OrderLine.objects.bulk_create(built)
    audit_record(
        event=AuditEvent.ORDER_CREATED,
        actor=actor,
        target_type="order",
        target_id=str(order.public_id),
        customer_id=customer.pk,
        extra={"lines": len(built)},
    )
    return order


@transaction.atomic
def order_update(
    *,
    actor: User,
    order: Order,
    status: str | None = None,
    payment_status: str | None = None,
    payment_due: dt.date | None = None,
) -> Order:
    require(actor, ObjectType.ORDER, Action.CHANGE)
    changes: dict[str, object] = {}
    if status is not None:
        if status not in OrderStatus.values:
            raise ServiceValidationError.single("status", one_of(OrderStatus.values))
        changes["status"] = status
    if payment_status is not None:
        if payment_status not in PaymentStatus.values:
            raise ServiceValidationError.single("payment_status", one_of(PaymentStatus.values))
        changes["payment_status"] = payment_status
    if payment_due is not None:
        changes["payment_due"] = payment_due
    changed = apply_changes(order, changes)
    if changed:
        order.save(update_fields=[*changed, "updated_at"])
        audit_record(
            event=AuditEvent.ORDER_UPDATED,
            actor=actor,
            target_type="order",
            target_id=str(order.public_id),
            customer_id=order.customer_id,
            fields=changed,
        )
    return order


@transaction.atomic
def order_return_record(
    *,
    actor: User,
    order: Order,
    line: OrderLine,
    quantity: int,
    reason: str = "",
    returned_at: dt.datetime | None = None,
) -> OrderReturn:
    """Record goods coming back; the refund is the line's unit price times the quantity returned."""
    require(actor, ObjectType.ORDER, Action.CHANGE)
    if line.order_id != order.pk:
        raise ServiceValidationError.single("line", gettext("is not a line of this order"))
    already = line.returns.aggregate(total=Sum("quantity"))["total"] or 0
    if quantity < 1:
        raise ServiceValidationError.single("quantity", gettext("must be at least 1"))
    if already + quantity > line.quantity:
        raise ServiceValidationError.single(
            "quantity",
            gettext("only %(left)s of %(ordered)s are left to return on this line")
            % {"left": line.quantity - already, "ordered": line.quantity},
        )
    returned = OrderReturn.objects.create(
        order=order,
        line=line,
        quantity=quantity,
        amount=quantize(line.unit_price * quantity),
        reason=reason.strip(),
        returned_at=returned_at or timezone.now(),
    )
    returned_by_line = dict(
        OrderReturn.objects.filter(order=order)
        .values("line_id")
        .annotate(total=Sum("quantity"))
        .values_list("line_id", "total")
    )
    fully_returned = all(returned_by_line.get(each.pk, 0) >= each.quantity for each in order.lines.all())
    if fully_returned and order.payment_status == PaymentStatus.PAID:
        order.payment_status = PaymentStatus.REFUNDED
        order.save(update_fields=["payment_status", "updated_at"])
    audit_record(
        event=AuditEvent.ORDER_RETURNED,
        actor=actor,
        target_type="order",
        target_id=str(order.public_id),
        customer_id=order.customer_id,
        extra={"line": line.pk, "quantity": quantity},
    )
    return returned


def order_returns_text_erase(*, customer_ids: list[int]) -> int:
    """Blank the free-text reasons of these customers' returns; amounts and dates stay for the accounts."""
    return (
        OrderReturn.objects.filter(order__customer_id__in=customer_ids)
        .exclude(reason="")
        .update(reason="", updated_at=timezone.now())
    )
