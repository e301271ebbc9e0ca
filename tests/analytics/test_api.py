"""The analytics API: start a run, follow it, read what it found, and a customer's scores as stored."""

from __future__ import annotations

import pytest

from kehu.accounts.roles import Role
from kehu.analytics.models import CustomerScore
from kehu.commerce.models import Product
from kehu.core.jobs import job_run
from kehu.core.models import Job
from kehu.demo.generate import demo_load
from tests.conftest import make_user


@pytest.mark.django_db(transaction=True)
def test_runs_and_scores_through_the_api(api_for: object) -> None:
    demo_load(customers=120, seed=3)
    analyst = make_user("ana", Role.ANALYST)
    api = api_for(analyst)  # type: ignore[operator]
    started = api.post("/analytics/runs", {"as_of": "2026-11-01T00:00:00+08:00", "clusters": 3})
    assert started.status_code == 202, started.json()
    job = Job.objects.get(public_id=started.json()["job"])
    assert job.params == {"as_of": "2026-10-31T16:00:00+00:00", "clusters": 3}
    job_run(job.pk)
    listed = api.get("/analytics/runs").json()
    assert [run["id"] for run in listed] == [str(job.public_id)]
    assert listed[0]["state"] == "succeeded"
    assert listed[0]["customers"] == 120
    detail = api.get(f"/analytics/runs/{job.public_id}").json()
    assert detail["result"]["clusters"]["k"] == 3
    assert {"risk", "cross_sell", "cohorts", "validation", "acquisition"} <= set(detail["result"])
    assert api.get("/analytics/runs/00000000-0000-0000-0000-000000000000").status_code == 404
    stored = CustomerScore.objects.select_related("customer").exclude(segment="").first()
    assert stored is not None
    score = api.get(f"/customers/{stored.customer.public_id}/score").json()
    assert score["segment"] == stored.segment
    assert score["china_class"] == stored.china_class
    assert score["churn_risk"] == pytest.approx(stored.churn_risk)
    assert score["risk_score"] == pytest.approx(stored.risk_score)
    assert score["cluster"] == stored.cluster
    first_pk, first_score = stored.recommendations[0]
    assert score["recommendations"][0] == {
        "sku": Product.objects.get(pk=first_pk).sku, "name": Product.objects.get(pk=first_pk).name,
        "score": pytest.approx(first_score),
    }  # fmt: skip
    marketer = api_for(make_user("mia", Role.MARKETER))  # type: ignore[operator]
    assert marketer.get("/analytics/runs").status_code == 200
    assert marketer.post("/analytics/runs", {}).status_code == 403
    bad = api.post("/analytics/runs", {"clusters": 40})
    assert bad.status_code == 422
