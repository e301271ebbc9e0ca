"""Imports of products, orders with lines, and interactions: one file row per product, per order line (rows
with the same order number make one order), per interaction; the customer of an order or an interaction is
found by its external id, mobile or email — exact keys, within the importing user's customers.

Each record is written by the same service the pages and the API use (`product_create`, `order_create`,
`interaction_log`), inside its own savepoint, so a refused row leaves the rest of its batch intact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.accounts.models import User
from kehu.accounts.roles import Action
from kehu.core.errors import FieldError, PermissionDeniedError, ServiceValidationError
from kehu.core.normalize import NormalisationError, normalize_amount, normalize_date, normalize_email, normalize_phone
from kehu.customers.bulk import ImportOutcome
from kehu.customers.models import Customer
from kehu.customers.services import contact_value_index
from kehu.ingest.files import text_of
from kehu.ingest.mapping import Target

CUSTOMER_KEYS = (
    Target(
        "customer_external_id",
        gettext_lazy("Customer's external id"),
        ("客户编号", "客户id", "会员号", "customerid", "customerexternalid", "buyerid"),
    ),
    Target(
        "customer_mobile",
        gettext_lazy("Customer's mobile"),
        ("手机", "手机号", "客户手机", "电话", "联系电话", "mobile", "phone", "customermobile"),
    ),
    Target("customer_email", gettext_lazy("Customer's email"), ("邮箱", "客户邮箱", "email", "customeremail")),
)
PRODUCT_TARGETS = (
    Target(
        "sku",
        gettext_lazy("SKU"),
        ("sku", "编码", "商品编码", "货号", "产品编码", "商品编号", "itemcode", "productcode"),
    ),
    Target("name", gettext_lazy("Name"), ("名称", "商品名称", "产品名称", "品名", "name", "product", "productname")),
    Target("price", gettext_lazy("Price"), ("价格", "单价", "售价", "零售价", "price", "unitprice")),
    Target("category", gettext_lazy("Category"), ("类别", "分类", "品类", "类目", "category")),
    Target("currency", gettext_lazy("Currency"), ("币种", "货币", "currency")),
)
ORDER_TARGETS = (
    Target(
        "order_number",
        gettext_lazy("Order number"),
        ("订单号", "订单编号", "单号", "ordernumber", "orderno", "orderid"),
    ),
    *CUSTOMER_KEYS,
    Target(
        "placed_at",
        gettext_lazy("Placed at"),
        ("下单时间", "下单日期", "订单日期", "日期", "时间", "orderdate", "date", "placedat"),
    ),
    Target("channel", gettext_lazy("Channel"), ("渠道", "销售渠道", "channel")),
    Target("status", gettext_lazy("Status"), ("状态", "订单状态", "status")),
    Target("payment_status", gettext_lazy("Payment status"), ("支付状态", "付款状态", "paymentstatus")),
    Target("currency", gettext_lazy("Currency"), ("币种", "currency")),
    Target("sku", gettext_lazy("SKU"), ("sku", "商品编码", "货号", "itemcode")),
    Target("quantity", gettext_lazy("Quantity"), ("数量", "件数", "quantity", "qty")),
    Target("unit_price", gettext_lazy("Unit price"), ("单价", "价格", "成交价", "unitprice", "price")),
)
INTERACTION_TARGETS = (
    *CUSTOMER_KEYS,
    Target("kind", gettext_lazy("Kind"), ("类型", "方式", "跟进方式", "联系方式类型", "kind", "type")),
    Target("direction", gettext_lazy("Direction"), ("方向", "呼入呼出", "direction")),
    Target("occurred_at", gettext_lazy("When"), ("时间", "日期", "跟进时间", "联系时间", "date", "time", "occurredat")),
    Target("subject", gettext_lazy("Subject"), ("主题", "标题", "摘要", "subject", "title")),
    Target("body", gettext_lazy("Notes"), ("内容", "记录", "备注", "跟进内容", "notes", "body", "content")),
    Target("channel", gettext_lazy("Channel"), ("渠道", "channel")),
    Target("outcome", gettext_lazy("Outcome"), ("结果", "跟进结果", "outcome", "result")),
)
TARGETS = {"products": PRODUCT_TARGETS, "orders": ORDER_TARGETS, "interactions": INTERACTION_TARGETS}
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "products": [("sku",), ("name",), ("price",)],
    "orders": [
        ("order_number",),
        ("customer_external_id", "customer_mobile", "customer_email"),
        ("sku",),
        ("quantity",),
    ],
    "interactions": [("customer_external_id", "customer_mobile", "customer_email"), ("kind",)],
}
KIND_WORDS = {
    "电话": "call",
    "通话": "call",
    "来电": "call",
    "邮件": "email",
    "聊天": "chat",
    "微信": "chat",
    "会议": "meeting",
    "拜访": "visit",
    "上门": "visit",
    "短信": "sms",
    "备注": "note",
    "反馈": "feedback",
}


def read_values(
    columns: Sequence[tuple[int, str, str]], record: Sequence[Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The row's mapped cells (as the file had them, dates and numbers still typed) and field → column."""
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for index, header, target in columns:
        cell = record[index] if index < len(record) else None
        if text_of(cell):
            values[target] = cell
            where[target] = header
    return values, where


def _text(values: Mapping[str, Any], name: str) -> str:
    return text_of(values.get(name)).strip()


def _customer(actor: User, values: Mapping[str, Any], source_system: str) -> Customer:
    """The customer a row names by external id, mobile or email, among those the actor may change."""
    from kehu.customers.selectors import customers_for_user

    scope = customers_for_user(actor, Action.CHANGE)
    if external := _text(values, "customer_external_id"):
        found = scope.filter(source_system=source_system, external_id=external).first()
        if found is not None:
            return found
    for name, kind, normalise in (
        ("customer_mobile", "mobile", normalize_phone),
        ("customer_email", "email", normalize_email),
    ):
        raw = _text(values, name)
        if not raw:
            continue
        try:
            value = normalise(raw)
        except NormalisationError as error:
            raise ServiceValidationError.single(name, str(error)) from None
        found = scope.filter(contact_points__value_index=contact_value_index(kind, value)).first()
        if found is not None:
            return found
    raise ServiceValidationError.single(
        "customer_mobile", _("no customer of yours has this external id, mobile or email; import the customers first")
    )


def _amount(values: Mapping[str, Any], name: str) -> Decimal | None:
    try:
        return normalize_amount(values.get(name))
    except NormalisationError as error:
        raise ServiceValidationError.single(name, str(error)) from None


def _when(values: Mapping[str, Any], name: str) -> dt.datetime | None:
    cell = values.get(name)
    if isinstance(cell, dt.datetime):
        return cell if timezone.is_aware(cell) else timezone.make_aware(cell)
    try:
        day = normalize_date(cell)
    except NormalisationError as error:
        raise ServiceValidationError.single(name, str(error)) from None
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12))) if day else None


def _one(number: int, write: Callable[[], tuple[str, int | None]]) -> ImportOutcome:
    """Write one record in its own savepoint; its refusal is the row's outcome."""
    try:
        with transaction.atomic():
            action, record_id = write()
    except ServiceValidationError as error:
        return ImportOutcome(number, "failed", errors=error.errors)
    except PermissionDeniedError:
        return ImportOutcome(number, "failed", errors=[FieldError("", _("you may not create these records"))])
    return ImportOutcome(number, action, record_id)


def products_batch(actor: User, rows: Sequence[tuple[int, dict[str, Any]]], policy: str) -> list[ImportOutcome]:
    from kehu.commerce.models import Product
    from kehu.commerce.services import product_create, product_update

    def write(values: dict[str, Any]) -> tuple[str, int | None]:
        sku, name = _text(values, "sku"), _text(values, "name")
        price = _amount(values, "price")
        existing = Product.objects.filter(sku=sku).first()
        if existing is None:
            if price is None:
                raise ServiceValidationError.single("price", _("is required"))
            product = product_create(
                actor=actor,
                sku=sku,
                name=name,
                price=price,
                category=_text(values, "category"),
                currency=_text(values, "currency"),
            )
            return "created", product.pk
        if policy == "skip":
            return "unchanged", existing.pk
        fill = policy == "fill_blanks"
        new_name = name if name and (not fill or not existing.name) else None
        new_category = (_text(values, "category") or None) if not fill or not existing.category else None
        new_price = price if price is not None and not fill else None
        if new_name is None and new_category is None and new_price is None:
            return "unchanged", existing.pk
        product_update(actor=actor, product=existing, name=new_name, category=new_category, price=new_price)
        return "updated", existing.pk

    return [_one(number, partial(write, values)) for number, values in rows]


def interactions_batch(
    actor: User, rows: Sequence[tuple[int, dict[str, Any]]], source_system: str
) -> list[ImportOutcome]:
    from kehu.interactions.models import Direction, InteractionKind
    from kehu.interactions.services import interaction_log

    kinds = {str(label).lower(): value for value, label in InteractionKind.choices} | dict(KIND_WORDS)
    directions = {"呼入": "inbound", "来电": "inbound", "呼出": "outbound", "去电": "outbound", "内部": "internal"}

    def write(values: dict[str, Any]) -> tuple[str, int | None]:
        customer = _customer(actor, values, source_system)
        typed = _text(values, "kind")
        kind = typed if typed in InteractionKind.values else kinds.get(typed.lower(), "")
        if not kind:
            raise ServiceValidationError.single(
                "kind", _("%(value)s is not a kind of contact (电话, 拜访, 邮件, 微信…)") % {"value": typed}
            )
        direction_text = _text(values, "direction")
        direction = direction_text if direction_text in Direction.values else directions.get(direction_text, "outbound")
        interaction = interaction_log(
            actor=actor,
            customer=customer,
            kind=kind,
            direction=direction,
            channel=_text(values, "channel"),
            subject=_text(values, "subject"),
            body=_text(values, "body"),
            outcome=_text(values, "outcome"),
            occurred_at=_when(values, "occurred_at"),
        )
        return "created", interaction.pk

    return [_one(number, partial(write, values)) for number, values in rows]


def orders_batch(actor: User, rows: Sequence[tuple[int, dict[str, Any]]], source_system: str) -> list[ImportOutcome]:
    """Rows with the same order number make one order; all its rows share its outcome."""
    from kehu.commerce.models import Order, Product
    from kehu.commerce.services import OrderLineInput, order_create

    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for number, values in rows:
        groups.setdefault(_text(values, "order_number"), []).append((number, values))

    def write(order_number: str, group: list[tuple[int, dict[str, Any]]]) -> tuple[str, int | None]:
        first = group[0][1]
        existing = Order.objects.filter(number=order_number).first()
        if existing is not None:
            return "unchanged", existing.pk  # recorded before (this file again, or another export of it)
        customer = _customer(actor, first, source_system)
        lines = []
        for _number, values in group:
            sku = _text(values, "sku")
            product = Product.objects.filter(sku=sku).first()
            if product is None:
                raise ServiceValidationError.single(
                    "sku", _("no product has the SKU %(sku)s; import the products first") % {"sku": sku}
                )
            quantity_text = _text(values, "quantity")
            if not quantity_text.isdigit() or int(quantity_text) < 1:
                raise ServiceValidationError.single("quantity", _("must be a whole number of at least 1"))
            lines.append(
                OrderLineInput(product=product, quantity=int(quantity_text), unit_price=_amount(values, "unit_price"))
            )
        order = order_create(
            actor=actor,
            customer=customer,
            lines=lines,
            channel=_text(first, "channel") or "sales",
            placed_at=_when(first, "placed_at"),
            status=_text(first, "status") or "completed",
            payment_status=_text(first, "payment_status") or "paid",
            currency=_text(first, "currency"),
            number=order_number,
            source_system=source_system,
            external_id=order_number if source_system else "",
        )
        return "created", order.pk

    outcomes: list[ImportOutcome] = []
    for order_number, group in groups.items():
        outcome = _one(group[0][0], partial(write, order_number, group))
        outcomes += [ImportOutcome(number, outcome.action, outcome.customer_id, outcome.errors) for number, _ in group]
    return outcomes
