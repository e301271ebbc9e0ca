"""The analytics page: who may open it and run it, the latest run's figures and charts, and its progress."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from kehu.accounts.models import Role
from kehu.analytics.services import analytics_start
from kehu.core.jobs import job_run
from kehu.core.models import Job, JobState
from kehu.demo.generate import DEMO_END, demo_load
from tests.conftest import make_user


def _chart(html: str, name: str) -> dict:
    found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', html, re.S)
    assert found, f"no chart data {name}"
    return json.loads(found.group(1))


@pytest.mark.django_db(transaction=True)
def test_the_page_shows_the_latest_run_and_how_well_it_predicts() -> None:
    demo_load(customers=300, seed=1)
    analyst = make_user("ana", Role.ANALYST)
    browser = Client()
    browser.force_login(analyst)
    empty = browser.get("/analytics/", HTTP_ACCEPT_LANGUAGE="en")
    assert empty.status_code == 200
    assert "No analysis yet." in empty.content.decode()
    # two runs, so that the classes' sizes over time have two points
    for _run in range(2):
        job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    html = browser.get("/analytics/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<dd data-count="customers">300</dd>' in html
    assert '<dd data-count="with-orders">237</dd>' in html
    classes = _chart(html, "classes-data")
    assert dict(zip(classes["xAxis"]["data"], classes["series"][0]["data"], strict=True))["重要价值客户"] == 27
    assert sum(classes["series"][0]["data"]) == 237
    assert sum(_chart(html, "rfm-data")["series"][0]["data"]) == 237
    assert len(_chart(html, "history-data")["xAxis"]["data"]) == 2
    # the second run scored the same base as the first: every customer stayed in their class
    flows = _chart(html, "flows-data")["series"][0]
    assert sum(link["value"] for link in flows["links"]) == 237
    assert all(link["source"].split(" (")[0] == link["target"].split(" (")[0] for link in flows["links"])
    assert sum(_chart(html, "value-data")["series"][0]["data"]) == 237  # every buyer has an expected value
    revenue = _chart(html, "revenue-data")
    assert len(revenue["xAxis"]["data"]) == len(revenue["series"][1]["data"]) > 0
    assert 'href="/customers/?segment=important_value">重要价值客户 · 27</a>' in html
    # the buy-again comparison: both AUCs, the chosen model marked, its calibration and importance drawn
    assert '<tr data-chosen="true"><td>gradient boosting' in html
    assert "<td>0.8211</td>" in html
    assert "<td>0.8058</td>" in html
    calibration = _chart(html, "calibration-data")
    assert [series["name"] for series in calibration["series"]][1:] == ["BG/NBD", "gradient boosting"]
    assert _chart(html, "importance-data")["yAxis"]["data"][0] == "BG/NBD 预测的购买概率"
    # cross-sell: the recommendation test against popularity, and the strongest category rule named
    cross_sell = html.split('data-testid="cross-sell"')[1]
    assert "<td>0.289</td>" in cross_sell
    assert "<td>0.202</td>" in cross_sell
    assert '<table class="list" data-testid="rules-category">' in cross_sell
    assert "<td>手机</td><td>手机配件</td>" in cross_sell or "<td>手机配件</td><td>手机</td>" in cross_sell


@pytest.mark.django_db(transaction=True)
def test_who_may_open_and_run_it() -> None:
    analyst, manager, rep = (make_user(name, role) for name, role in
                             (("ana", Role.ANALYST), ("mia", Role.MANAGER), ("rep", Role.SALES_REP)))  # fmt: skip
    browser = Client()
    browser.force_login(rep)
    assert browser.get("/analytics/").status_code == 404
    assert browser.post("/analytics/run/").status_code == 404
    assert 'href="/analytics/"' not in browser.get("/customers/").content.decode()
    browser.force_login(manager)
    page = browser.get("/analytics/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Analyse now" not in page  # managers read the results; analysts and administrators run it
    assert browser.post("/analytics/run/").status_code == 404
    assert not Job.objects.filter(kind="analytics").exists()
    browser.force_login(analyst)
    response = browser.post("/analytics/run/")
    assert response.status_code == 302
    job = Job.objects.get(kind="analytics")
    assert (job.state, job.created_by) == (JobState.QUEUED, analyst)
    status = browser.get("/analytics/?part=status", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert 'hx-trigger="every 1s"' in status.content.decode()  # still queued: the page keeps asking
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, checkpoint={"phase": "buy_again"})
    running = browser.get("/analytics/?part=status", HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert '<p data-testid="run-phase">comparing the buy-again models…</p>' in running.content.decode()
    Job.objects.filter(pk=job.pk).update(state=JobState.QUEUED, checkpoint={})
    job_run(job.pk)
    done = browser.get("/analytics/?part=status", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
