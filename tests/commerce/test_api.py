"""/api/v1/products and /api/v1/orders over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.commerce.models import Order, Product
from tests.conftest import Api, audit_count, errors_of, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_admin(api_for: Callable[[User], Api]) -> Api:
    return api_for(make_user("root", Role.ADMIN))


@pytest.fixture
def catalogue(as_admin: Api) -> None:
    for sku, name, category, price in [
        ("P01", "星耀 X1 手机", "手机", "3199.00"),
        ("P02", "快充充电器 65W", "手机配件", "129.90"),
    ]:
        response = as_admin.post("/products", {"sku": sku, "name": name, "category": category, "price": price})
        assert response.status_code == 201, response.content


def test_products_create_list_get_update(as_admin: Api, as_alice: Api, catalogue: None) -> None:
    listed = as_alice.get("/products").json()
    assert [(p["sku"], p["price"], p["currency"]) for p in listed["items"]] == [
        ("P01", "3199.00", "CNY"),
        ("P02", "129.90", "CNY"),
    ]
    assert as_alice.get("/products", category="手机配件").json()["items"][0]["sku"] == "P02"
    assert as_alice.get("/products/P01").json()["name"] == "星耀 X1 手机"
    assert as_alice.get("/products/NOPE").status_code == 404
    updated = as_admin.patch("/products/P01", {"price": "2999.00"})
    assert updated.json()["price"] == "2999.00"
    assert as_alice.patch("/products/P01", {"price": "1.00"}).status_code == 403
    assert Product.objects.get(sku="P01").price == Decimal("2999.00")
    duplicate = as_admin.post("/products", {"sku": "P01", "name": "x", "price": "1"})
    assert errors_of(duplicate) == {"sku": "the SKU P01 is already used"}
    negative = as_admin.post("/products", {"sku": "P09", "name": "x", "price": "-1"})
    assert negative.status_code == 422
    assert "price" in errors_of(negative)
    long_category = as_admin.post("/products", {"sku": "P09", "name": "x", "price": "1", "category": "类" * 101})
    assert "at most 100" in errors_of(long_category)["category"]
    assert not Product.objects.filter(sku="P09").exists()


def test_order_totals_returns_and_refund(as_alice: Api, zhangsan: dict[str, Any], catalogue: None) -> None:
    response = as_alice.post(
        "/orders",
        {
            "customer": zhangsan["id"],
            "channel": "ecommerce",
            "payment_status": "paid",
            "discount": "29.90",
            "lines": [{"sku": "P01", "quantity": 1}, {"sku": "P02", "quantity": 2, "unit_price": "99.95"}],
        },
    )
    assert response.status_code == 201, response.content
    order = response.json()
    assert (order["subtotal"], order["discount"], order["total"], order["currency"]) == (
        "3398.90",
        "29.90",
        "3369.00",
        "CNY",
    )
    assert [(line["sku"], line["quantity"], line["line_total"]) for line in order["lines"]] == [
        ("P01", 1, "3199.00"),
        ("P02", 2, "199.90"),
    ]
    assert order["number"].startswith("SO")
    line = order["lines"][1]
    returned = as_alice.post(
        f"/orders/{order['id']}/returns", {"line": line["id"], "quantity": 1, "reason": "不想要了"}
    )
    assert returned.status_code == 201
    assert returned.json()["refunded"] == "99.95"
    too_many = as_alice.post(f"/orders/{order['id']}/returns", {"line": line["id"], "quantity": 2})
    assert errors_of(too_many) == {"quantity": "only 1 of 2 are left to return on this line"}
    as_alice.post(f"/orders/{order['id']}/returns", {"line": line["id"], "quantity": 1})
    final = as_alice.post(f"/orders/{order['id']}/returns", {"line": order["lines"][0]["id"], "quantity": 1}).json()
    assert final["payment_status"] == "refunded"
    assert final["refunded"] == "3398.90"
    events = list(AuditRecord.objects.filter(target_id=order["id"]).values_list("event", flat=True))
    assert events == [AuditEvent.ORDER_CREATED] + [AuditEvent.ORDER_RETURNED] * 3


def test_order_validation_names_fields(as_alice: Api, zhangsan: dict[str, Any], catalogue: None) -> None:
    before = (Order.objects.count(), audit_count())
    unknown = as_alice.post(
        "/orders", {"customer": zhangsan["id"], "channel": "store", "lines": [{"sku": "NOPE", "quantity": 1}]}
    )
    assert errors_of(unknown) == {"lines.0.sku": "no product has the SKU NOPE"}
    empty = as_alice.post("/orders", {"customer": zhangsan["id"], "channel": "store", "lines": []})
    assert empty.status_code == 422
    assert "lines" in errors_of(empty)
    zero = as_alice.post(
        "/orders", {"customer": zhangsan["id"], "channel": "store", "lines": [{"sku": "P01", "quantity": 0}]}
    )
    assert "lines.0.quantity" in errors_of(zero)
    bad_channel = as_alice.post(
        "/orders", {"customer": zhangsan["id"], "channel": "pigeon", "lines": [{"sku": "P01", "quantity": 1}]}
    )
    assert "channel" in errors_of(bad_channel)
    discount = as_alice.post(
        "/orders",
        {
            "customer": zhangsan["id"],
            "channel": "store",
            "discount": "99999",
            "lines": [{"sku": "P02", "quantity": 1}],
        },
    )
    assert errors_of(discount) == {"discount": "is larger than the order's subtotal"}
    assert (Order.objects.count(), audit_count()) == before


def test_orders_follow_customer_scope(
    as_alice: Api, as_charlie: Api, zhangsan: dict[str, Any], catalogue: None
) -> None:
    order = as_alice.post(
        "/orders", {"customer": zhangsan["id"], "channel": "store", "lines": [{"sku": "P01", "quantity": 1}]}
    ).json()
    assert as_charlie.get(f"/orders/{order['id']}").status_code == 404
    assert as_charlie.patch(f"/orders/{order['id']}", {"payment_status": "paid"}).status_code == 404
    assert as_charlie.get("/orders").json()["items"] == []
    assert (
        as_charlie.post(
            "/orders",
            {"customer": zhangsan["id"], "channel": "store", "lines": [{"sku": "P01", "quantity": 1}]},
        ).status_code
        == 404
    )
    assert Order.objects.get(public_id=order["id"]).payment_status == "unpaid"
    assert Order.objects.count() == 1
    listed = as_alice.get("/orders", customer=zhangsan["id"]).json()["items"]
    assert [o["id"] for o in listed] == [order["id"]]
    paid = as_alice.patch(f"/orders/{order['id']}", {"payment_status": "paid", "status": "completed"})
    assert (paid.json()["payment_status"], paid.json()["status"]) == ("paid", "completed")
    assert [o["id"] for o in as_alice.get("/orders", payment_status="paid").json()["items"]] == [order["id"]]
