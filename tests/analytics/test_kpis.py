"""Cohort retention and the repeat rate worked by hand on a small purchase log; the run's charts on the page."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from django.test import Client

from kehu.accounts.roles import Role
from kehu.analytics.kpis import cohorts, repeat_rate
from kehu.analytics.services import analytics_start
from kehu.core.jobs import job_run
from kehu.demo.generate import DEMO_END, demo_load
from tests.conftest import make_user

# customer 1: Jan, Feb, Apr; customer 2: Jan (twice), Mar; customer 3: Feb; customer 4: Apr
LOG = [(1, "2026-01-05"), (1, "2026-02-10"), (1, "2026-04-01"), (2, "2026-01-20"), (2, "2026-01-21"),
       (2, "2026-03-03"), (3, "2026-02-14"), (4, "2026-04-30")]  # fmt: skip
CUSTOMERS = np.array([c for c, _ in LOG], dtype=np.int64)
DAYS = np.array([d for _, d in LOG], dtype="datetime64[D]")


def test_cohorts_worked_by_hand() -> None:
    found = cohorts(CUSTOMERS, DAYS, last=4)
    assert found.months == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert found.sizes == [2, 1, 0, 1]
    assert found.retention[0] == [1.0, 0.5, 0.5, 0.5]  # of 1 and 2: Feb only 1, Mar only 2, Apr only 1
    assert found.retention[1] == [1.0, 0.0, 0.0, None]  # 3 never came back; May is not yet known
    assert found.retention[2] == [None] * 4  # nobody started in March
    assert found.retention[3] == [1.0, None, None, None]


def test_repeat_rate_worked_by_hand() -> None:
    found = repeat_rate(CUSTOMERS, DAYS)
    assert found.months == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert found.buyers == [2, 2, 1, 2]
    assert found.returning == [0, 1, 1, 1]  # Feb: 1 (3 is new); Mar: 2; Apr: 1 (4 is new)
    assert repeat_rate(CUSTOMERS[:0], DAYS[:0]).months == []


@pytest.mark.django_db(transaction=True)
def test_the_page_draws_cohorts_repeat_rate_rfm_grid_and_validation() -> None:
    demo_load(customers=300, seed=1)
    analyst = make_user("ana", Role.ANALYST)
    job = job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    assert job is not None
    result = job.result
    assert sum(map(sum, result["rfm_grid"])) == 237
    validation = result["validation"]
    assert validation["calibration_end"] == "2026-05-03"  # half a year (182 days) before the last day known
    assert sum(bucket[1] for bucket in validation["buckets"]) == validation["customers"]
    assert validation["actual"] > 0
    browser = Client()
    browser.force_login(analyst)
    html = browser.get("/analytics/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    def chart(name: str) -> dict:
        found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', html, re.S)
        assert found, name
        return json.loads(found.group(1))

    heat = chart("cohorts-data")
    assert len(heat["yAxis"]["data"]) == 12
    assert all(0 <= cell[2] <= 100 for cell in heat["series"][0]["data"])
    repeat = chart("repeat-data")
    assert len(repeat["xAxis"]["data"]) == len(repeat["series"][0]["data"]) == 24
    assert sum(cell[2] for cell in chart("rfm-grid-data")["series"][0]["data"]) == 237
    bars = chart("validation-data")
    assert [series["name"] for series in bars["series"]] == ["predicted", "actual"]
    # the page names the purchase model the run chose for the validation (BG/NBD or its two-class form)
    named = {"bgnbd": ", BG/NBD predicted", "bgnbd_two_classes": ", two-class BG/NBD predicted"}
    assert validation["model"] in named
    assert named[validation["model"]] in html


@pytest.mark.django_db(transaction=True)
def test_flows_count_each_customer_moving_between_classes() -> None:
    import datetime as dt
    from collections import Counter

    from kehu.analytics.models import CustomerScore

    demo_load(customers=200, seed=2)
    analyst = make_user("ana", Role.ANALYST)
    first = job_run(analytics_start(actor=analyst, as_of=DEMO_END - dt.timedelta(days=120)).pk)
    assert first is not None
    assert first.result["flows"] is None  # nothing to compare with yet
    then = dict(CustomerScore.objects.values_list("customer_id", "china_class"))
    second = job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    assert second is not None
    now = dict(CustomerScore.objects.values_list("customer_id", "china_class"))
    expected = Counter((then[c], now[c]) for c in now if then[c] or now[c])
    assert {(a, b): n for a, b, n in second.result["flows"]} == dict(expected)
    assert any(a != b for a, b, _n in second.result["flows"])  # in 120 days some customers changed class
    assert any(a == "" and b for a, b, _n in second.result["flows"])  # and some bought for the first time
