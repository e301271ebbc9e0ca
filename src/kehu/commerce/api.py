"""/api/v1/products and /api/v1/orders."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema, Status

from kehu.accounts.roles import Action
from kehu.commerce import selectors, services
from kehu.commerce.models import Order, Product
from kehu.core.api_support import ErrorOut, UtcDatetime, patch_values, request_user
from kehu.core.errors import FieldError, ServiceValidationError
from kehu.core.pagination import paginate
from kehu.customers.selectors import customer_get_for_user

router = Router(tags=["commerce"])
ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
Money = Decimal


class ProductIn(Schema):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    category: str = Field("", max_length=100)
    price: Money = Field(ge=0, max_digits=14, decimal_places=2)
    currency: str = Field("", max_length=3)


class ProductPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=200)
    category: str | None = Field(None, max_length=100)
    price: Money | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    active: bool | None = None


class ProductOut(Schema):
    sku: str
    name: str
    category: str
    price: Money
    currency: str
    active: bool


class ProductPageOut(Schema):
    items: list[ProductOut]
    next_cursor: str | None


class OrderLineIn(Schema):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: Money | None = Field(None, ge=0, max_digits=14, decimal_places=2)


class OrderIn(Schema):
    customer: uuid.UUID
    number: str = Field("", max_length=40)
    channel: Literal["website", "ecommerce", "app", "store", "phone", "sales", "distributor"]
    status: Literal["pending", "confirmed", "shipped", "completed", "cancelled"] = "confirmed"
    placed_at: UtcDatetime | None = None
    currency: str = Field("", max_length=3)
    discount: Money = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    payment_status: Literal["paid", "unpaid", "overdue", "refunded"] = "unpaid"
    payment_due: dt.date | None = None
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)


class OrderPatch(Schema):
    status: Literal["pending", "confirmed", "shipped", "completed", "cancelled"] | None = None
    payment_status: Literal["paid", "unpaid", "overdue", "refunded"] | None = None
    payment_due: dt.date | None = None


class OrderLineOut(Schema):
    id: int
    sku: str
    product_name: str
    quantity: int
    unit_price: Money
    line_total: Money
    returned_quantity: int


class OrderOut(Schema):
    id: uuid.UUID
    number: str
    customer: uuid.UUID
    channel: str
    status: str
    placed_at: dt.datetime
    currency: str
    subtotal: Money
    discount: Money
    total: Money
    payment_status: str
    payment_due: dt.date | None
    lines: list[OrderLineOut]
    refunded: Money


class OrderSummaryOut(Schema):
    id: uuid.UUID
    number: str
    customer: uuid.UUID
    channel: str
    status: str
    placed_at: dt.datetime
    currency: str
    total: Money
    payment_status: str


class OrderPageOut(Schema):
    items: list[OrderSummaryOut]
    next_cursor: str | None


class ReturnIn(Schema):
    line: int
    quantity: int = Field(ge=1, le=1_000_000)
    reason: str = Field("", max_length=500)
    returned_at: UtcDatetime | None = None


def _product_out(product: Product) -> ProductOut:
    return ProductOut(
        sku=product.sku,
        name=product.name,
        category=product.category,
        price=product.price,
        currency=product.currency,
        active=product.active,
    )


def _order_out(order: Order) -> OrderOut:
    returns = list(order.returns.all())
    lines = [
        OrderLineOut(
            id=line.pk,
            sku=line.product.sku,
            product_name=line.product.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            line_total=line.line_total,
            returned_quantity=sum(r.quantity for r in returns if r.line_id == line.pk),
        )
        for line in order.lines.all()
    ]
    return OrderOut(
        id=order.public_id,
        number=order.number,
        customer=order.customer.public_id,
        channel=order.channel,
        status=order.status,
        placed_at=order.placed_at,
        currency=order.currency,
        subtotal=order.subtotal,
        discount=order.discount,
        total=order.total,
        payment_status=order.payment_status,
        payment_due=order.payment_due,
        lines=lines,
        refunded=sum((r.amount for r in returns), Decimal("0.00")),
    )


@router.get("/products", response={200: ProductPageOut, **ERRORS})
def products_list(
    request: HttpRequest,
    category: str = "",
    q: str = Query("", max_length=100),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> ProductPageOut:
    queryset = selectors.products_for_user(request_user(request))
    if category:
        queryset = queryset.filter(category=category)
    if q:
        queryset = queryset.filter(name__icontains=q) | queryset.filter(sku__istartswith=q)
    page = paginate(queryset, sort="sku", cursor=cursor, limit=limit)
    return ProductPageOut(items=[_product_out(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/products/{sku}", response={200: ProductOut, **ERRORS})
def products_get(request: HttpRequest, sku: str) -> ProductOut:
    return _product_out(selectors.product_get_for_user(request_user(request), sku))


@router.post("/products", response={201: ProductOut, **ERRORS})
def products_create(request: HttpRequest, payload: ProductIn) -> Status[ProductOut]:
    product = services.product_create(actor=request_user(request), **payload.dict())
    return Status(201, _product_out(product))


@router.patch("/products/{sku}", response={200: ProductOut, **ERRORS})
def products_update(request: HttpRequest, sku: str, payload: ProductPatch) -> ProductOut:
    user = request_user(request)
    product = selectors.product_get_for_user(user, sku)
    return _product_out(services.product_update(actor=user, product=product, **patch_values(payload)))


@router.get("/orders", response={200: OrderPageOut, **ERRORS})
def orders_list(
    request: HttpRequest,
    customer: uuid.UUID | None = None,
    payment_status: Literal["", "paid", "unpaid", "overdue", "refunded"] = "",
    status: Literal["", "pending", "confirmed", "shipped", "completed", "cancelled"] = "",
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=200),
) -> OrderPageOut:
    user = request_user(request)
    queryset = selectors.orders_for_user(user).select_related("customer")
    if customer is not None:
        queryset = queryset.filter(customer=customer_get_for_user(user, customer))
    if payment_status:
        queryset = queryset.filter(payment_status=payment_status)
    if status:
        queryset = queryset.filter(status=status)
    page = paginate(queryset, sort="-placed_at", cursor=cursor, limit=limit)
    return OrderPageOut(
        items=[
            OrderSummaryOut(
                id=o.public_id,
                number=o.number,
                customer=o.customer.public_id,
                channel=o.channel,
                status=o.status,
                placed_at=o.placed_at,
                currency=o.currency,
                total=o.total,
                payment_status=o.payment_status,
            )
            for o in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.post("/orders", response={201: OrderOut, **ERRORS})
def orders_create(request: HttpRequest, payload: OrderIn) -> Status[OrderOut]:
    user = request_user(request)
    customer = customer_get_for_user(user, payload.customer, Action.CHANGE)
    products = {
        p.sku: p for p in selectors.products_for_user(user).filter(sku__in=[line.sku for line in payload.lines])
    }
    missing = [
        FieldError(f"lines.{index}.sku", gettext("no product has the SKU %(sku)s") % {"sku": line.sku})
        for index, line in enumerate(payload.lines)
        if line.sku not in products
    ]
    if missing:
        raise ServiceValidationError(missing)
    order = services.order_create(
        actor=user,
        customer=customer,
        lines=[
            services.OrderLineInput(product=products[line.sku], quantity=line.quantity, unit_price=line.unit_price)
            for line in payload.lines
        ],
        channel=payload.channel,
        placed_at=payload.placed_at,
        status=payload.status,
        payment_status=payload.payment_status,
        payment_due=payload.payment_due,
        discount=payload.discount,
        currency=payload.currency,
        number=payload.number,
    )
    return Status(201, _order_out(selectors.order_get_for_user(user, order.public_id)))


@router.get("/orders/{order_id}", response={200: OrderOut, **ERRORS})
def orders_get(request: HttpRequest, order_id: str) -> OrderOut:
    return _order_out(selectors.order_get_for_user(request_user(request), order_id))


@router.patch("/orders/{order_id}", response={200: OrderOut, **ERRORS})
def orders_update(request: HttpRequest, order_id: str, payload: OrderPatch) -> OrderOut:
    user = request_user(request)
    order = selectors.order_get_for_user(user, order_id, Action.CHANGE)
    services.order_update(actor=user, order=order, **patch_values(payload))
    return _order_out(selectors.order_get_for_user(user, order_id))


@router.post("/orders/{order_id}/returns", response={201: OrderOut, **ERRORS})
def orders_return(request: HttpRequest, order_id: str, payload: ReturnIn) -> Status[OrderOut]:
    user = request_user(request)
    order = selectors.order_get_for_user(user, order_id, Action.CHANGE)
    line = next((line for line in order.lines.all() if line.pk == payload.line), None)
    if line is None:
        raise ServiceValidationError.single("line", gettext("is not a line of this order"))
    services.order_return_record(
        actor=user,
        order=order,
        line=line,
        quantity=payload.quantity,
        reason=payload.reason,
        returned_at=payload.returned_at,
    )
    return Status(201, _order_out(selectors.order_get_for_user(user, order_id)))
