"""Clusters found where they were planted and named by what sets them apart, rules read from a tree that match the
data they came from, and the run's persona table with the customer list filtered by cluster."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from kehu.accounts.roles import Role
from kehu.analytics.clusters import CLUSTER_FEATURES, churn_rules, cluster
from kehu.analytics.models import CustomerScore
from kehu.analytics.services import analytics_start
from kehu.core.jobs import job_run
from kehu.core.models import JobState
from kehu.demo.generate import DEMO_END, demo_load
from tests.conftest import make_user


def _planted(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Three groups: recent frequent big spenders, lapsed one-off buyers, and newcomers in between."""
    rng = np.random.default_rng(seed)
    groups = np.repeat([0, 1, 2], [300, 500, 200])
    typical = {  # per group: recency, orders, revenue, aov, tenure, categories, refund rate, contacts
        0: (10, 12, 12_000, 1_000, 700, 5, 0.02, 8),
        1: (400, 1, 150, 150, 500, 1, 0.02, 0),
        2: (20, 2, 600, 300, 40, 2, 0.02, 1),
    }
    columns = {}
    for index, (name, *_rest) in enumerate(CLUSTER_FEATURES):
        centre = np.array([typical[g][index] for g in groups], dtype=float)
        columns[name] = np.maximum(centre * rng.normal(1, 0.1, len(groups)), 0)
    return columns, groups


def test_k_means_finds_the_planted_groups_and_names_them() -> None:
    columns, groups = _planted()
    found = cluster(columns)
    assert found is not None
    assert found.k == 3
    assert found.silhouette[3] == max(found.silhouette.values())
    assert found.sizes == [500, 300, 200]  # numbered by size, largest first
    # every planted group lands in one cluster whole
    for planted in range(3):
        assert len(set(found.labels[groups == planted].tolist())) == 1
    # named by the two features furthest from the base's mean, in standard deviations
    assert found.words == [["lapsed", "single_category"], ["frequent", "big_spenders"], ["newcomers", "recent"]]


def test_k_can_be_chosen_and_tiny_bases_are_not_clustered() -> None:
    columns, _groups = _planted()
    assert cluster(columns, k=5).k == 5  # type: ignore[union-attr]
    assert cluster({name: values[:10] for name, values in columns.items()}) is None


def test_tree_rules_state_what_the_data_says() -> None:
    rng = np.random.default_rng(1)
    rows = 2_000
    lapsed = rng.uniform(0, 400, rows)
    repeat = rng.integers(0, 8, rows).astype(float)
    # not buying again: long since the last purchase and few repeat purchases, with some noise
    did_not = (lapsed > 120) & (repeat < 3)
    did_not = np.where(rng.random(rows) < 0.1, ~did_not, did_not)
    X = np.column_stack([repeat, lapsed, rng.normal(size=rows)])
    names = ("repeat purchases", "days since the last purchase", "BG/NBD probability alive")
    rules = churn_rules(X, names, ~did_not)
    top = rules[0]
    assert {name for name, _op, _value in top.conditions} == {"repeat purchases", "days since the last purchase"}
    assert ("days since the last purchase", ">", pytest.approx(120, abs=10)) in top.conditions
    assert ("repeat purchases", "<=", pytest.approx(2.5, abs=0.6)) in top.conditions
    assert top.share > 0.85
    assert sum(rule.customers for rule in rules) == rows  # the leaves cover every customer once
    assert all("BG/NBD" not in name for rule in rules for name, _op, _value in rule.conditions)
    # the share stated is the share in the data
    inside = np.ones(rows, dtype=bool)
    for name, op, value in top.conditions:
        column = X[:, names.index(name)]
        inside &= column <= value if op == "<=" else column > value
    assert top.customers == inside.sum()
    assert top.share == pytest.approx(did_not[inside].mean())


@pytest.mark.django_db(transaction=True)
def test_the_run_draws_portraits_and_the_list_filters_by_cluster() -> None:
    demo_load(customers=300, seed=1)
    analyst = make_user("ana", Role.ANALYST)
    job = job_run(analytics_start(actor=analyst, as_of=DEMO_END, clusters=4).pk)
    assert job is not None
    assert job.state == JobState.SUCCEEDED, job.error
    clusters = job.result["clusters"]
    assert clusters["k"] == 4
    personas = clusters["personas"]
    assert sum(p["customers"] for p in personas) == 237 == CustomerScore.objects.exclude(cluster=None).count()
    for persona in personas:
        assert CustomerScore.objects.filter(cluster=persona["cluster"]).count() == persona["customers"]
        band, share = persona["age_band"]
        assert band is None or band in {"<25", "25–34", "35–44", "45–54", "55+"}
        assert 0 <= share <= 1
    assert [p["customers"] for p in personas] == sorted((p["customers"] for p in personas), reverse=True)
    assert job.result["churn_rules"]
    browser = Client()
    browser.force_login(analyst)
    html = browser.get("/analytics/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="personas"' in html
    assert 'href="/customers/?cluster=0"' in html
    assert "内未再购买" in html  # the tree's rules in words
    listed = browser.get("/customers/?cluster=1&per=100").content.decode()
    members = CustomerScore.objects.filter(cluster=1).select_related("customer")
    assert 0 < members.count() <= 100
    assert all(str(score.customer.public_id) in listed for score in members)
    others = CustomerScore.objects.exclude(cluster=1).select_related("customer")
    assert not any(str(score.customer.public_id) in listed for score in others)
