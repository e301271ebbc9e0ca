"""The customer features, worked by hand for one customer, identical on DuckDB, PostgreSQL and Spark."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
from decimal import Decimal

import pytest
from django.db import connection

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.analytics.features import FEATURES, compute
from kehu.commerce.models import OrderStatus, PaymentStatus
from kehu.commerce.services import OrderLineInput, order_create, order_return_record, product_create
from kehu.customers.services import customer_create
from kehu.interactions.services import interaction_log
from tests.conftest import make_user

UTC = dt.UTC
AS_OF = dt.datetime(2026, 11, 1, tzinfo=UTC)
SPARK = importlib.util.find_spec("pyspark") is not None and shutil.which("java") is not None


def _backends() -> list[object]:
    return [
        "duckdb",
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(
                os.environ.get("KEHU_EXPECT_DB_VENDOR") != "postgresql", reason="kehu runs on SQLite in this run"
            ),
        ),
        pytest.param(
            "pyspark",
            marks=pytest.mark.skipif(
                not SPARK or os.environ.get("KEHU_EXPECT_DB_VENDOR") == "postgresql",
                reason="Spark (pyspark, Java 17) runs once, in the SQLite run",
            ),
        ),
    ]


@pytest.fixture
def shop(alice: User) -> dict[str, int]:
    root = make_user("root", Role.ADMIN)
    phone = product_create(actor=root, sku="P1", name="手机", price=Decimal("1000"), category="手机")
    case = product_create(actor=root, sku="P2", name="手机壳", price=Decimal("100"), category="配件")
    buyer = customer_create(actor=alice, values={"display_name": "张三"})
    quiet = customer_create(actor=alice, values={"display_name": "李四"})

    def order(day: dt.datetime, channel: str, product: object, quantity: int, **options: object) -> object:
        return order_create(
            actor=alice,
            customer=buyer,
            lines=[OrderLineInput(product, quantity)],  # type: ignore[arg-type]
            channel=channel,
            placed_at=day,
            **options,  # type: ignore[arg-type]
        )

    first = order(dt.datetime(2026, 1, 1, 10, tzinfo=UTC), "ecommerce", phone, 2, payment_status=PaymentStatus.PAID)
    order(dt.datetime(2026, 3, 1, 10, tzinfo=UTC), "store", case, 1, payment_status=PaymentStatus.OVERDUE)
    order(dt.datetime(2026, 5, 1, 10, tzinfo=UTC), "ecommerce", case, 1, payment_status=PaymentStatus.PAID)
    order(dt.datetime(2026, 6, 1, 10, tzinfo=UTC), "store", phone, 5, status=OrderStatus.CANCELLED)
    order(dt.datetime(2026, 11, 2, 10, tzinfo=UTC), "store", phone, 1)  # after the moment: not counted
    order_return_record(
        actor=alice,
        order=first,  # type: ignore[arg-type]
        line=first.lines.get(),  # type: ignore[attr-defined]
        quantity=1,
        returned_at=dt.datetime(2026, 1, 10, tzinfo=UTC),
    )
    contacts = (
        (dt.datetime(2026, 5, 1), None),
        (dt.datetime(2026, 10, 1), 4),
        (dt.datetime(2026, 10, 20), 5),
        (dt.datetime(2026, 10, 25), 1),  # a complaint
    )
    for day, score in contacts:
        interaction_log(
            actor=alice,
            customer=buyer,
            kind="call",
            subject="回访",
            occurred_at=day.replace(tzinfo=UTC),
            satisfaction=score,
        )
    return {"buyer": buyer.pk, "quiet": quiet.pk}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", _backends())
def test_features_worked_by_hand(backend: str, shop: dict[str, int]) -> None:
    if backend == "postgres":
        assert connection.vendor == "postgresql"
    table = compute(as_of=AS_OF, backend=backend)
    assert tuple(table.column_names) == FEATURES
    rows = {row["customer_id"]: row for row in table.to_pylist()}
    buyer = rows[shop["buyer"]]
    hours = 10 / 24
    assert buyer == pytest.approx(
        {
            "customer_id": shop["buyer"],
            "orders": 3,  # the cancelled order and the one after the moment are not counted
            "revenue": 2200.0,  # 2 × 1,000 + 100 + 100
            "average_order_value": 2200 / 3,
            "recency_days": 184 - hours,  # 1 May 10:00 → 1 November 00:00
            "tenure_days": 304 - hours,  # 1 January 10:00 → 1 November
            "interpurchase_days": 60.0,  # 120 days between the first and the last, two gaps
            "categories": 2,
            "top_category": "手机",  # 1,000 × 2 against 200 in 配件
            "top_channel": "ecommerce",
            "top_channel_share": 2 / 3,
            "refund_rate": 1000 / 2200,  # one phone came back
            "overdue_rate": 1 / 3,
            "contacts": 4,
            "contacts_90d": 3,  # 1, 20 and 25 October
            "last_contact_days": 7.0,
            "satisfaction": 10 / 3,  # the call without a score is not counted
            "revenue_180d": 0.0,  # nothing since 1 May (184 days before)
            "revenue_prior_180d": 2200.0,  # the half year before: all three orders
            "overdue_amount": 100.0,
            "complaints_180d": 1,  # rated 1 of 5 on 25 October
        }
    )
    quiet = rows[shop["quiet"]]
    assert quiet["orders"] == 0
    assert quiet["revenue"] == 0
    assert quiet["contacts"] == 0
    assert all(quiet[name] is None for name in ("recency_days", "average_order_value", "top_category", "satisfaction"))


@pytest.mark.django_db(transaction=True)
def test_adbc_and_django_reads_give_the_same_features(
    shop: dict[str, int], tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tests' SQLite lives in memory, where only Django's connection reaches it: a copy on disk is read
    through ADBC, as a file database is in use, and gives the same features."""
    from kehu.analytics import reader

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL is read through ADBC in every test of this file")
    copy = f"{tmp_path}/copy.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [copy])
    through_django = compute(as_of=AS_OF, backend="duckdb")
    used = []
    original = reader._adbc

    def spied(sql: str) -> object:
        table = original(sql)
        used.append(table is not None)
        return table

    monkeypatch.setattr(reader, "_sqlite_file", lambda: copy)
    monkeypatch.setattr(reader, "_adbc", spied)
    through_adbc = compute(as_of=AS_OF, backend="duckdb")
    assert used == [True] * 6  # all six tables came through ADBC
    assert through_adbc.to_pylist() == through_django.to_pylist()


def test_the_channels_the_features_know_are_kehus() -> None:
    """The channel mix counts kehu's order channels, the first in sorted order winning a tie: a channel added to
    OrderChannel must be added to the features too."""
    from kehu.analytics.features import CHANNELS
    from kehu.commerce.models import OrderChannel

    assert tuple(sorted(OrderChannel.values)) == CHANNELS


@pytest.mark.django_db(transaction=True)
def test_a_channel_kehu_does_not_know_counts_as_an_order_not_in_the_mix(shop: dict[str, int]) -> None:
    from kehu.commerce.models import Order

    # written around the services (an old import, a database edited by hand): the two ecommerce orders
    Order.objects.filter(customer_id=shop["buyer"], channel="ecommerce").update(channel="wechat")
    row = next(row for row in compute(as_of=AS_OF, backend="duckdb").to_pylist() if row["customer_id"] == shop["buyer"])
    assert row["orders"] == 3
    assert row["top_channel"] == "store"  # the one order kehu knows the channel of
    assert row["top_channel_share"] == pytest.approx(1 / 3)
