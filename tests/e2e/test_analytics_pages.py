"""Analytics in a real browser: an analyst chooses the RFM period and the number of groups, starts a run, the
page follows its progress and draws what it found; from a class and a group they reach the customers; a
customer's page says what to offer and why the risk score is what it is. The worker's part (running the queued
job) is done by the test, as `kehu worker` would, while the page polls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.analytics.models import CustomerScore
from kehu.core.models import Job
from kehu.demo.generate import DEMO_END, demo_load
from tests.e2e.conftest import PASSWORD, PHONE, sign_in, worker_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_run_read_and_follow_to_customers(page_for: Any, screenshots: Path) -> None:
    demo_load(customers=300, seed=1)
    User.objects.create_user("ana", password=PASSWORD, role=Role.ANALYST, display_name="分析师")
    page = page_for()
    sign_in(page, "ana")
    page.locator("a[href='/analytics/']").first.click()
    assert "尚未运行分析" in page.locator("[data-testid=run-status]").inner_text()
    page.select_option("#id_clusters", "4")
    page.locator("form[action='/analytics/run/'] button[type=submit]").click()
    status = page.locator("[data-testid=run-status]")
    assert status.get_attribute("data-state") == "queued"
    job = Job.objects.get(kind="analytics")
    assert job.params == {"clusters": 4}
    job.params["as_of"] = DEMO_END.isoformat()  # the demo's history ends there
    job.save()
    worker_run(job.pk)  # what `kehu worker` does
    # the page polls the run and redraws with its results when it ends
    page.locator("[data-testid=personas] tr[data-cluster]").first.wait_for()
    assert status.get_attribute("data-state") == "succeeded"
    for chart in ("revenue", "repeat", "cohorts", "classes", "rfm", "rfm-grid", "value", "validation",
                  "calibration", "importance", "radar"):  # fmt: skip
        assert page.locator(f"[data-chart={chart}-data] svg").count() == 1, chart
    assert page.locator("[data-testid=personas] tr[data-cluster]").count() == 4
    assert "内未再购买" in page.locator("[data-testid=churn-rules]").inner_text()
    assert "手机" in page.locator("[data-testid=rules-category]").inner_text()
    page.screenshot(path=str(screenshots / "analytics-desktop.png"), full_page=True)
    # a class leads to its customers in the list
    page.locator("a.tag[href='/customers/?segment=important_value']").click()
    page.wait_for_url("**/customers/?segment=important_value")
    valuable = CustomerScore.objects.filter(china_class="important_value").count()
    assert page.locator("table.list tbody tr").count() == valuable
    # so does a group, and the flagged customers
    page.goto("/analytics/")
    page.locator("[data-testid=personas] a[href='/customers/?cluster=0']").click()
    page.wait_for_url("**/customers/?cluster=0")
    largest = CustomerScore.objects.filter(cluster=0).count()
    assert page.locator("table.list tbody tr").count() == min(largest, 50)
    page.goto("/analytics/")
    page.locator("[data-testid=risk] a").click()
    page.wait_for_url("**/customers/?risk=40")
    flagged = CustomerScore.objects.filter(risk_score__gte=40).select_related("customer").order_by("-risk_score")
    top = flagged.first()
    assert top is not None
    # the customer's page: what to offer next, and the risk score with its reasons
    page.goto(f"/customers/{top.customer.public_id}/")
    assert page.locator("[data-testid=cross-sell] li").count() >= 5
    page.locator("[data-testid=score] summary").click()
    risk = page.locator("[data-testid=risk]").inner_text()
    assert f"风险评分 {round(top.risk_score)} / 100" in risk  # type: ignore[arg-type]
    assert "（+" in risk
    phone = page_for(viewport=PHONE)
    sign_in(phone, "ana")
    phone.goto("/analytics/")
    phone.locator("[data-chart=classes-data] svg").wait_for()
    phone.screenshot(path=str(screenshots / "analytics-phone.png"), full_page=True)
