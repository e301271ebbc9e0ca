"""Orders from e-commerce platforms: signed, recorded once, buyer matched or created, refusals change nothing."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.commerce.models import Order, Product
from kehu.customers.models import Customer
from kehu.customers.services import ContactPointInput, customer_create
from kehu.ingest.models import WebhookSource
from kehu.ingest.webhooks import signature_for, source_create
from tests.conftest import make_user

URL = "/api/v1/hooks/orders/tmall"


@pytest.fixture
def shop(db: None) -> tuple[WebhookSource, str, User]:
    manager = make_user("shop-manager", Role.MANAGER)
    source, secret = source_create(name="tmall", actor=manager)
    return source, secret, manager


def order_body(order_id: str = "TM20261122001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": order_id,
        "placed_at": "2026-11-22T10:00:00+08:00",
        "payment_status": "paid",
        "customer": {
            "external_id": "buyer-8841",
            "name": "张三",
            "mobile": "+86 138 1234 5678",
            "email": "zhangsan@example.com",
            "address": "上海市浦东新区世纪大道100号",
        },
        "lines": [{"sku": "JK-01", "name": "运动外套", "quantity": 2, "unit_price": "599.00"}],
    }
    body.update(changes)
    return body


def send(body: Any, secret: str, *, timestamp: int | None = None, signature: str | None = None) -> Any:
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return Client().post(
        URL,
        raw,
        content_type="application/json",
        HTTP_X_KEHU_TIMESTAMP=stamp,
        HTTP_X_KEHU_SIGNATURE=signature or signature_for(secret, stamp, raw),
    )


def test_a_signed_order_creates_its_buyer_product_and_order_once(shop: tuple[WebhookSource, str, User]) -> None:
    source, secret, manager = shop
    response = send(order_body(), secret)
    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert (order.source_system, order.external_id) == ("tmall", "TM20261122001")
    assert order.total == Decimal("1198.00")
    assert order.payment_status == "paid"
    assert order.channel == "ecommerce"
    buyer = order.customer
    assert (buyer.display_name, buyer.source_system, buyer.external_id) == ("张三", "tmall", "buyer-8841")
    assert buyer.owner == manager
    assert sorted(buyer.contact_points.values_list("kind", flat=True)) == ["email", "mobile"]
    assert buyer.addresses.get().district == "浦东新区"
    assert Product.objects.get(sku="JK-01").name == "运动外套"
    assert response.json()["customer"] == str(buyer.public_id)
    events = set(AuditRecord.objects.values_list("event", flat=True))
    assert {AuditEvent.CUSTOMER_CREATED, AuditEvent.ORDER_CREATED, AuditEvent.PRODUCT_CREATED} <= events
    again = send(order_body(), secret)  # the platform retries
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["order"] == str(order.public_id)
    assert Order.objects.count() == 1
    source.refresh_from_db()
    assert source.last_received_at is not None


def test_the_buyer_is_matched_by_mobile(shop: tuple[WebhookSource, str, User]) -> None:
    _source, secret, manager = shop
    known = customer_create(
        actor=manager, values={"display_name": "张三"}, contact_points=[ContactPointInput("mobile", "13812345678")]
    )
    assert send(order_body(), secret).status_code == 201
    assert Customer.objects.count() == 1
    assert Order.objects.get().customer == known
    known.refresh_from_db()
    assert known.external_id == "buyer-8841"  # filled in, as an import with "fill blanks" does


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        ({"signature": "sha256=" + "0" * 64}, "bad signature"),
        ({"timestamp": int(time.time()) - 3600}, "stale timestamp"),
        ({"secret": "someone-elses-secret"}, "wrong secret"),
    ],
)
def test_unsigned_or_replayed_requests_are_refused(
    shop: tuple[WebhookSource, str, User], tamper: dict[str, Any], why: str
) -> None:
    _source, secret, _manager = shop
    secret = tamper.pop("secret", secret)
    response = send(order_body(), secret, **tamper)
    assert response.status_code == 401, why
    assert not Order.objects.exists()
    assert not Customer.objects.exists()


def test_unknown_or_disabled_sources_are_refused(shop: tuple[WebhookSource, str, User]) -> None:
    source, secret, _manager = shop
    raw = b"{}"
    stamp = str(int(time.time()))
    unknown = Client().post(
        "/api/v1/hooks/orders/jd",
        raw,
        content_type="application/json",
        HTTP_X_KEHU_TIMESTAMP=stamp,
        HTTP_X_KEHU_SIGNATURE=signature_for(secret, stamp, raw),
    )
    assert unknown.status_code == 401
    source.active = False
    source.save()
    assert send(order_body(), secret).status_code == 401


def test_bad_orders_are_explained_and_change_nothing(shop: tuple[WebhookSource, str, User]) -> None:
    _source, secret, _manager = shop
    cases = [
        (order_body(lines=[]), "lines"),
        (order_body(lines=[{"sku": "NEW-1", "quantity": 1}]), "lines.0.unit_price"),
        (order_body(lines=[{"sku": "JK-01", "quantity": 0, "unit_price": "1"}]), "lines.0.quantity"),
        (order_body(customer={"name": "无名"}), "customer"),
        (order_body(customer={"name": "李四", "mobile": "1381234567"}), "customer.contact_points.0.value"),
        (order_body(placed_at="yesterday"), "placed_at"),
        (order_body(order_id=""), "order_id"),
    ]
    for body, field in cases:
        response = send(body, secret)
        assert response.status_code == 422, (field, response.content)
        assert field in {error["field"] for error in response.json()["errors"]}, response.content
    assert not Order.objects.exists()
    assert not Customer.objects.exists()
    assert not Product.objects.exists()


def test_sources_are_managed_from_the_command_line(db: None, capsys: Any) -> None:
    make_user("boss", Role.ADMIN)
    make_user("rep", Role.SALES_REP)
    call_command("hooks", "add", "jd", "--as", "boss")
    out = capsys.readouterr().out
    assert "POST /api/v1/hooks/orders/jd" in out
    secret = out.rsplit(": ", 1)[1].strip()
    assert WebhookSource.objects.get(name="jd").secret == secret  # stored encrypted, read back
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="may not create"):
        call_command("hooks", "add", "pdd", "--as", "rep")
    call_command("hooks", "rotate", "jd")
    assert WebhookSource.objects.get(name="jd").secret != secret
    call_command("hooks", "disable", "jd")
    assert not WebhookSource.objects.get(name="jd").active
