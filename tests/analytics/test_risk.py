"""The risk score: points per sign worked by hand, reasons named with what was measured, the run flagging
customers, and the list, the API and the 360 page showing them."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from kehu.accounts.roles import Role
from kehu.analytics.models import CustomerScore
from kehu.analytics.risk import FLAG_AT, risk
from kehu.analytics.services import analytics_start
from kehu.core.jobs import job_run
from kehu.demo.generate import DEMO_END, demo_load
from tests.conftest import make_user


def test_points_per_sign_worked_by_hand() -> None:
    found = risk(
        overdue_rate=np.array([0.25, 0.5, 0.5, np.nan, 0.0]),
        overdue_amount=np.array([300.0, 0.0, 10.0, np.nan, 0.0]),  # the second paid what was overdue
        refund_rate=np.array([0.1, 0.0, 0.9, np.nan, 0.0]),
        complaints=np.array([1, 0, 3, 0, 0]),
        spend_recent=np.array([250.0, 0.0, 0.0, 0.0, 500.0]),
        spend_prior=np.array([1000.0, 0.0, 100.0, 0.0, 100.0]),  # the last one spends more, not less
    )
    # 35·0.25/0.5 + 25·0.1/0.5 + 20·1/2 + 20·0.75 = 17.5 + 5 + 10 + 15
    assert found.score.tolist() == [47.5, 0.0, 100.0, 0.0, 0.0]
    assert found.reasons[0] == [
        ["overdue", 17.5, 0.25], ["falling_spend", 15.0, 0.75], ["complaints", 10.0, 1.0], ["refunds", 5.0, 0.1],
    ]  # fmt: skip
    assert found.reasons[1] == found.reasons[4] == []
    assert [reason[0] for reason in found.reasons[2]] == ["overdue", "refunds", "complaints", "falling_spend"]


@pytest.mark.django_db(transaction=True)
def test_the_run_flags_customers_and_the_list_and_360_page_show_why(api_for: object) -> None:
    demo_load(customers=300, seed=1)
    analyst = make_user("ana", Role.ANALYST)
    job = job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    assert job is not None
    flagged = CustomerScore.objects.filter(risk_score__gte=FLAG_AT)
    assert job.result["risk"]["flagged"] == flagged.count() > 0
    assert CustomerScore.objects.exclude(risk_score=None).count() == 300  # everyone has a score, most of them 0
    for score in flagged:
        assert sum(points for _sign, points, _value in score.risk_reasons) == pytest.approx(score.risk_score, abs=0.2)
    counted = job.result["risk"]["reasons"]
    assert sum(counted.values()) == sum(len(score.risk_reasons) for score in flagged)
    api = api_for(analyst)  # type: ignore[operator]
    response = api.get("/customers", risk_score__gte=FLAG_AT, limit=200)
    assert {item["id"] for item in response.json()["items"]} == {
        str(public_id) for public_id in flagged.values_list("customer__public_id", flat=True)
    }
    browser = Client()
    browser.force_login(analyst)
    top = flagged.select_related("customer").order_by("-risk_score").first()
    assert top is not None
    html = browser.get(f"/customers/{top.customer.public_id}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"风险评分 {round(top.risk_score)} / 100" in html
    assert "(已标记)" in html
    page = browser.get("/analytics/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f'href="/customers/?risk={FLAG_AT}"' in page
    listed = browser.get(f"/customers/?risk={FLAG_AT}&per=100").content.decode()
    assert str(top.customer.public_id) in listed
