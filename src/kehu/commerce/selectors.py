"""Reads of products and orders; orders are visible exactly when their customer is."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from kehu.accounts.access import require, scope_q
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.commerce.models import Order, OrderLine, Product
from kehu.core.changes import parse_public_id
from kehu.core.errors import NotFoundError


def products_for_user(user: User) -> QuerySet[Product]:
    require(user, ObjectType.PRODUCT, Action.VIEW)
    return Product.objects.all()


def product_get_for_user(user: User, sku: str) -> Product:
    product = products_for_user(user).filter(sku=sku).first()
    if product is None:
        raise NotFoundError
    return product


def orders_for_user(user: User, action: Action = Action.VIEW) -> QuerySet[Order]:
    require(user, ObjectType.ORDER, action)
    return Order.objects.filter(scope_q(user, prefix="customer__"))


def order_get_for_user(user: User, public_id: uuid.UUID | str, action: Action = Action.VIEW) -> Order:
    key = parse_public_id(public_id)
    order = (
        orders_for_user(user, action)
        .select_related("customer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id")), "returns"
        )
        .filter(public_id=key)
        .first()
    )
    if order is None:
        raise NotFoundError
    return order
