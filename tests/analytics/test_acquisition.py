"""The cost of acquiring customers: spend entered per channel and month, new customers counted by their first
purchase, CAC and CLV/CAC worked out independently, and who may enter spend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Min
from django.test import Client

from kehu.accounts.roles import Role
from kehu.analytics.models import CustomerScore, MarketingSpend
from kehu.analytics.services import analytics_start
from kehu.analytics.views import acquisition_table
from kehu.commerce.models import Order, OrderStatus
from kehu.core.jobs import job_run
from kehu.demo.generate import DEMO_END, demo_load
from tests.conftest import make_user


@pytest.mark.django_db(transaction=True)
def test_cac_and_clv_over_cac_by_channel() -> None:
    demo_load(customers=300, seed=1)
    analyst = make_user("ana", Role.ANALYST)
    marketer = make_user("mia", Role.MARKETER)
    job = job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    assert job is not None
    months = job.result["acquisition"]["months"]
    assert (months[0], months[-1], len(months)) == ("2024-12", "2026-11", 24)
    shop = Client()
    shop.force_login(marketer)
    # the last twelve full months: Nov 2025 – Oct 2026 (November 2026 has only begun)
    for month in ("2025-11", "2026-03", "2026-10"):
        response = shop.post("/analytics/acquisition/", {"channel": "website", "month": month, "amount": "1000"})
        assert response.status_code == 302
    shop.post("/analytics/acquisition/", {"channel": "website", "month": "2025-10", "amount": "999"})  # outside
    refused = shop.post(
        "/analytics/acquisition/",
        {"channel": "website", "month": "2026-10", "amount": "-5"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 200
    assert MarketingSpend.objects.get(channel="website", month=dt.date(2026, 10, 1)).amount == Decimal(1000)
    # new customers by the month of their first purchase, counted here without kehu's code
    firsts = (
        Order.objects.exclude(status=OrderStatus.CANCELLED)
        .values("customer_id", "customer__source_channel")
        .annotate(first=Min("placed_at"))
    )
    window = (dt.datetime(2025, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    website = [row["customer_id"] for row in firsts
               if row["customer__source_channel"] == "website" and window[0] <= row["first"] < window[1]]  # fmt: skip
    assert website
    table = acquisition_table(job)
    assert table["months"] == ["2025-11", "2026-10"]
    row = next(r for r in table["rows"] if r["key"] == "website")
    assert row["new"] == len(website)
    assert row["spend"] == 3000
    assert row["cac"] == pytest.approx(3000 / len(website))
    spent_so_far = {r["customer_id"]: r for r in Order.objects.exclude(status=OrderStatus.CANCELLED)
                    .filter(placed_at__lt=DEMO_END).values("customer_id").annotate(first=Min("placed_at"))}  # fmt: skip
    assert set(website) <= set(spent_so_far)
    expected = {s.customer_id: s.lifetime_value or 0 for s in CustomerScore.objects.filter(customer_id__in=website)}
    revenue = {
        customer: float(sum(o.total for o in Order.objects.filter(customer_id=customer, placed_at__lt=DEMO_END)
                            .exclude(status=OrderStatus.CANCELLED)))
        for customer in website
    }  # fmt: skip
    average = sum(revenue[c] + expected[c] for c in website) / len(website)
    assert row["value"] == pytest.approx(average, rel=1e-6)
    assert row["ratio"] == pytest.approx(average / (3000 / len(website)), rel=1e-6)
    html = shop.get("/analytics/acquisition/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<td>Website</td>" in html
    assert "Ensure this value is greater than or equal to 0." in refused.content.decode()


@pytest.mark.django_db
def test_who_may_enter_spend() -> None:
    for role, page, post in (
        (Role.MARKETER, 200, 302),
        (Role.MANAGER, 200, 302),
        (Role.ANALYST, 200, 404),
        (Role.SALES_REP, 404, 404),
        (Role.SERVICE_AGENT, 404, 404),
    ):
        browser = Client()
        browser.force_login(make_user(f"u-{role.value}", role))
        assert browser.get("/analytics/acquisition/").status_code == page, role
        answer = browser.post("/analytics/acquisition/", {"channel": "store", "month": "2026-01", "amount": "10"})
        assert answer.status_code == post, role
    assert MarketingSpend.objects.get(channel="store").entered_by.username == "u-manager"  # type: ignore[union-attr]
