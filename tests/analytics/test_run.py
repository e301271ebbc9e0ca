"""The analytics run on the demo data: exact segment counts for a fixed seed, scores stored on each customer,
RFM scores that follow from the features, sizes kept per run, one audit record, and the role that may run it."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kehu.accounts.roles import Role
from kehu.analytics.features import compute
from kehu.analytics.models import CustomerScore, SegmentCount
from kehu.analytics.rfm import quintile_scores
from kehu.analytics.services import analytics_start
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.core.jobs import job_run
from kehu.core.models import Job, JobState
from kehu.demo.generate import DEMO_END, demo_load
from tests.conftest import make_user


@pytest.mark.django_db(transaction=True)
def test_the_demo_base_is_scored_with_exact_counts() -> None:
    demo_load(customers=300, seed=1)
    analyst = make_user("ana", Role.ANALYST)
    job = job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    assert job is not None
    assert job.state == JobState.SUCCEEDED, job.error
    result = job.result
    assert result["customers"] == 300
    assert result["with_orders"] == 237
    assert result["segments"] == {
        "about_to_sleep": 24, "at_risk": 29, "cant_lose": 8, "champions": 23, "hibernating": 26, "lost": 32,
        "loyal": 31, "need_attention": 12, "new": 15, "potential_loyalists": 21, "promising": 16,
    }  # fmt: skip
    assert result["classes"] == {
        "general_development": 66, "general_retention": 8, "general_value": 25, "general_winback": 77,
        "important_development": 14, "important_retention": 8, "important_value": 27, "important_winback": 12,
    }  # fmt: skip
    # every customer has a score row; those without orders have no segment
    assert CustomerScore.objects.count() == 300
    assert CustomerScore.objects.filter(segment="").count() == 63
    # the stored R and F scores are the quintiles of the features, recomputed here independently
    features = [row for row in compute(as_of=DEMO_END).to_pylist() if row["orders"]]
    recency = quintile_scores(np.array([row["recency_days"] for row in features]), higher_is_better=False)
    frequency = quintile_scores(np.array([row["orders"] for row in features], dtype=float))
    for index in (0, 57, 123, 236):
        stored = CustomerScore.objects.get(customer_id=features[index]["customer_id"])
        assert (stored.recency_score, stored.frequency_score) == (recency[index], frequency[index])
        assert 0 <= stored.churn_risk <= 1  # type: ignore[operator]
    # who buys again within 90 days: both models as they stood on 3 August ranked who bought since; the trees
    # (purchase log + contacts, refunds, categories…) ranked better than BG/NBD, so they scored the customers
    buy_again = result["buy_again"]
    assert (buy_again["evaluated_from"], buy_again["customers"], buy_again["buyers"]) == ("2026-08-03", 201, 50)
    assert buy_again["auc"] == {
        "BG/NBD": pytest.approx(0.8058, abs=1e-4),
        "gradient boosting": pytest.approx(0.8211, abs=1e-4),
    }
    assert buy_again["chosen"] == "gradient boosting"
    assert buy_again["importance"][0][0] == "BG/NBD probability of buying"
    assert "days since the last contact" in [name for name, drop in buy_again["importance"] if drop > 0]
    assert sum(part[1] for part in buy_again["calibration"]["gradient boosting"]) == 201
    scored = CustomerScore.objects.exclude(churn_risk=None)
    assert scored.count() == 237  # every customer who bought has a churn risk, none who did not
    assert all(0 <= risk <= 1 for risk in scored.values_list("churn_risk", flat=True))
    assert CustomerScore.objects.filter(lifetime_value__gt=0).count() == 237
    # the sizes of this run are kept, for movement over time
    assert SegmentCount.objects.filter(job=job, scheme="rfm").count() == 11
    assert sum(SegmentCount.objects.filter(job=job, scheme="china").values_list("customers", flat=True)) == 237
    [record] = AuditRecord.objects.filter(event=AuditEvent.ANALYTICS_RUN)
    assert record.extra == {"customers": 300, "with_orders": 237}
    # a second run updates the scores in place
    job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    assert CustomerScore.objects.count() == 300


@pytest.mark.django_db(transaction=True)
def test_the_cli_runs_it_and_a_sales_rep_may_not() -> None:
    demo_load(customers=60, seed=2)
    make_user("ana", Role.ANALYST)
    out = StringIO()
    call_command("analytics", "run", "--as", "ana", "--as-of", "2026-10-31", stdout=out)
    assert "60 customers scored" in out.getvalue()
    assert "segments: " in out.getvalue()
    assert "clusters: k = " in out.getvalue()
    make_user("rep", Role.SALES_REP)
    with pytest.raises(CommandError, match="analytics"):
        call_command("analytics", "run", "--as", "rep")


@pytest.mark.django_db(transaction=True)
def test_the_list_filters_by_segment_and_churn_risk(api_for: object) -> None:
    demo_load(customers=120, seed=3)
    analyst = make_user("ana", Role.ANALYST)
    job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    api = api_for(analyst)  # type: ignore[operator]

    def listed(**params: object) -> set[str]:
        response = api.get("/customers", **params, limit=200)
        assert response.status_code == 200, response.json()
        return {item["id"] for item in response.json()["items"]}

    valuable = set(
        CustomerScore.objects.filter(china_class="important_value").values_list("customer__public_id", flat=True)
    )
    risky = set(
        CustomerScore.objects.filter(china_class="important_value", churn_risk__gte=0.3).values_list(
            "customer__public_id", flat=True
        )
    )
    assert valuable
    assert listed(segment="重要价值客户") == {str(public_id) for public_id in valuable}
    assert listed(segment="Important value customers") == listed(segment="important_value")
    assert listed(segment="重要价值客户", churn_risk__gte=0.3) == {str(public_id) for public_id in risky}
    champions = CustomerScore.objects.filter(segment="champions").count()
    assert len(listed(segment="冠军客户")) == champions > 0
    largest = CustomerScore.objects.filter(cluster=0).values_list("customer__public_id", flat=True)
    assert listed(cluster=0) == {str(public_id) for public_id in largest}
    refused = api.get("/customers", segment="最好的客户")
    assert refused.status_code == 422
    assert "segment" in str(refused.json())


@pytest.mark.django_db(transaction=True)
def test_the_list_page_filters_by_class_in_chinese(client: object) -> None:
    from django.test import Client

    demo_load(customers=80, seed=4)
    analyst = make_user("ana", Role.ANALYST)
    job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    browser = client if isinstance(client, Client) else Client()
    browser.force_login(analyst)
    scores = CustomerScore.objects.select_related("customer")
    valuable = [str(score.customer.public_id) for score in scores.filter(china_class="important_value")]
    others = [str(score.customer.public_id) for score in scores.exclude(china_class="important_value")]
    page = browser.get("/customers/", {"segment": "important_value", "per": 100}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert "重要价值客户" in html  # the choice, in Chinese
    assert valuable
    assert all(public_id in html for public_id in valuable)
    assert not any(public_id in html for public_id in others)


@pytest.mark.django_db(transaction=True)
def test_the_360_page_explains_the_score() -> None:
    from django.test import Client

    demo_load(customers=80, seed=4)
    analyst = make_user("ana", Role.ANALYST)
    job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    score = CustomerScore.objects.select_related("customer").filter(china_class="important_retention").first()
    assert score is not None
    browser = Client()
    browser.force_login(analyst)
    html = browser.get(f"/customers/{score.customer.public_id}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "重要保持客户" in html
    assert f"R{score.recency_score} F{score.frequency_score} M{score.monetary_score}" in html
    assert "最近一次购买早于平均客户" in html  # important retention: long ago, but often and much
    assert f"流失风险 {round(score.churn_risk * 100)}%" in html  # type: ignore[operator]
    unscored = CustomerScore.objects.select_related("customer").filter(segment="").first()
    assert unscored is not None
    page = browser.get(f"/customers/{unscored.customer.public_id}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert 'data-testid="score"' in page.content.decode()  # the card is there, without a class


@pytest.mark.django_db(transaction=True)
def test_rfm_over_a_chosen_period_from_the_page() -> None:
    from django.test import Client

    from kehu.analytics.features import compute

    demo_load(customers=200, seed=5)
    analyst = make_user("ana", Role.ANALYST)
    browser = Client()
    browser.force_login(analyst)
    assert browser.post("/analytics/run/", {"rfm_months": "12", "clusters": "3"}).status_code == 302
    job = Job.objects.get(kind="analytics")
    assert job.params == {"clusters": 3, "rfm_months": 12}
    job.params["as_of"] = DEMO_END.isoformat()
    job.save()
    job_run(job.pk)
    job.refresh_from_db()
    # only the customers who bought in the last 12 months have RFM scores, computed on those months' orders
    since = DEMO_END - dt.timedelta(days=365)
    bought = [row for row in compute(as_of=DEMO_END, since=since).to_pylist() if row["orders"]]
    assert job.result["rfm_customers"] == len(bought) < job.result["with_orders"]
    assert sum(job.result["segments"].values()) == len(bought)
    assert CustomerScore.objects.exclude(segment="").count() == len(bought)
    frequency = quintile_scores(np.array([row["orders"] for row in bought], dtype=float))
    for index in (0, len(bought) // 2, len(bought) - 1):
        stored = CustomerScore.objects.get(customer_id=bought[index]["customer_id"])
        assert stored.frequency_score == frequency[index]
    assert job.result["clusters"]["k"] == 3
    assert browser.post("/analytics/run/", {"rfm_months": "7"}).status_code == 302  # not offered: refused
    assert Job.objects.filter(kind="analytics").count() == 1
