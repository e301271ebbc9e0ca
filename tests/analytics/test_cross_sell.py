"""Cross-sell: basket rules with hand-computed support, confidence and lift; item-to-item recommendations that
never offer what a customer has and fall back on popularity; the time-holdout comparison; and the run storing
rules and lists on the demo base."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from kehu.accounts.roles import Role
from kehu.analytics.crosssell import (
    ITEM_TO_ITEM,
    LEARNT,
    POPULARITY,
    ItemToItem,
    LearntRanking,
    Lines,
    association_rules,
    evaluate,
)
from kehu.analytics.models import BasketRule, CustomerScore
from kehu.analytics.services import analytics_start
from kehu.commerce.models import OrderLine
from kehu.core.jobs import JobContext, job_run
from kehu.core.models import Job, JobState
from kehu.demo.generate import DEMO_END, demo_load
from tests.conftest import make_user


def _baskets(*contents: str) -> tuple[np.ndarray, np.ndarray]:
    baskets = [number for number, items in enumerate(contents) for _ in items]
    items = [item for items in contents for item in items]
    return np.array(baskets, dtype=np.int64), np.array(items, dtype=np.str_)


def test_rules_have_the_support_confidence_and_lift_counted_by_hand() -> None:
    # 20 baskets × 5: "ab" ×8, "a" ×4, "b" ×2, "c" ×6. a in 12, b in 10, ab in 8.
    baskets, items = _baskets(*(["ab"] * 8 + ["a"] * 4 + ["b"] * 2 + ["c"] * 6) * 5)
    rules = {(r.antecedent, r.consequent): r for r in association_rules(baskets, items, min_confidence=0.5)}
    a_to_b = rules[(("a",), ("b",))]
    assert a_to_b.support == pytest.approx(8 / 20)
    assert a_to_b.confidence == pytest.approx(8 / 12)
    assert a_to_b.lift == pytest.approx((8 / 12) / (10 / 20))
    assert a_to_b.baskets == 40
    b_to_a = rules[(("b",), ("a",))]
    assert b_to_a.confidence == pytest.approx(8 / 10)
    assert set(rules) == {(("a",), ("b",)), (("b",), ("a",))}  # c is bought alone: no rule names it


def test_rules_need_enough_baskets_and_two_items() -> None:
    baskets, items = _baskets("ab", "ab", "c")
    assert association_rules(baskets, items) == []  # fewer than MIN_BASKETS baskets hold "ab"
    baskets, items = _baskets(*["a"] * 50)
    assert association_rules(baskets, items) == []


def test_item_to_item_offers_what_alike_customers_bought_and_never_what_they_have() -> None:
    # phones (1, 2) go with cases (10, 11); tea (20) with teapots (21); 30 is popular with everyone else
    customers, products = [], []
    for customer in range(40):
        bought = [1, 10] if customer < 12 else [20, 21] if customer < 22 else [30]
        if customer < 5:
            bought.append(11)
        customers.extend([customer] * len(bought))
        products.extend(bought)
    model = ItemToItem(np.array(customers), np.array(products))
    chosen, scores = model.recommend(np.array([100, 40, 0, 5]), n=3)
    # customers 100 and 40 bought nothing the model knows of: the most popular products (30 by 18, 1 and 10 by 12)
    assert chosen[0].tolist() == chosen[1].tolist() == [30, 1, 10]
    # customer 0 has 1, 10 and 11: nothing to add from likeness; popularity fills the list, no product repeated
    assert not {1, 10, 11} & set(chosen[2].tolist())
    assert len(set(chosen[2].tolist())) == 3
    # customer 5 has 1 and 10: case 11 (bought by others with a phone) comes first
    assert chosen[3][0] == 11
    assert scores[3][0] > scores[3][1]
    assert model.popular(np.array([5]), n=2).tolist() == [[30, 20]]  # 20 and 21 tie at 10: the lower id first


def test_evaluate_scores_both_on_what_customers_bought_new_after_the_day() -> None:
    rng = np.random.default_rng(0)
    rows = []
    start = dt.date(2026, 1, 1)
    for customer in range(400):
        family = customer % 4  # four tastes, each a set of five products; 90 is everybody's favourite
        owned = rng.permutation([family * 10 + k for k in range(5)])
        for when, product in enumerate([90, *owned[:2]]):
            rows.append((customer * 10 + when, customer, start + dt.timedelta(days=when * 30), int(product)))
        rows.append((customer * 10 + 9, customer, dt.date(2026, 6, 1), int(owned[2])))
    orders, who, days, products = zip(*rows, strict=True)
    lines = Lines(
        np.array(orders), np.array(who), np.array(days, dtype="datetime64[D]"), np.array(products),
        np.array(["x"] * len(rows)), np.ones(len(rows)),
    )  # fmt: skip
    result = evaluate(lines, dt.date(2026, 4, 1), horizon_days=90, n=3)
    assert result is not None
    assert result.customers == 400
    assert result.recall[ITEM_TO_ITEM] == 1.0  # the three other products of their taste, one of them the new one
    assert result.recall[POPULARITY] < 0.5
    assert LEARNT not in result.recall  # before 1 January nothing but product 90 was sold: nothing to learn from
    assert result.chosen == ITEM_TO_ITEM
    assert evaluate(lines, dt.date(2025, 1, 1), horizon_days=90) is None  # nothing bought before that day


def test_evaluate_fits_no_model_when_nobody_bought_anything_new_in_the_horizon(monkeypatch: pytest.MonkeyPatch) -> None:
    # two customers; the only purchase after 1 March is customer 1 buying again what they had
    lines = Lines(
        np.array([1, 2, 3, 4]), np.array([1, 2, 1, 2]),
        np.array(["2026-01-05", "2026-01-09", "2026-02-01", "2026-03-15"], dtype="datetime64[D]"),
        np.array([10, 20, 11, 20]), np.array(["x"] * 4), np.ones(4),
    )  # fmt: skip

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a model was fitted with nothing to measure it on")

    monkeypatch.setattr(LearntRanking, "fit", refuse)
    monkeypatch.setattr(ItemToItem, "__init__", refuse)
    assert evaluate(lines, dt.date(2026, 3, 1), horizon_days=90) is None


def _tiers() -> Lines:
    """300 customers in three price tiers (cheap, middle, dear), each buying one product a month, in a category
    of eight they have not bought yet, always at their tier: product 10 × category + tier + 1, priced by tier."""
    rng = np.random.default_rng(1)
    rows = []
    for customer in range(300):
        tier = customer % 3
        for month, category in enumerate(rng.permutation(8)):
            product = 10 * int(category) + tier + 1
            rows.append((customer * 10 + month, customer, dt.date(2025, 1, 1) + dt.timedelta(days=30 * month),
                         product, f"c{category}", 10.0 * (tier + 1) + category))  # fmt: skip
    orders, who, days, products, categories, prices = zip(*rows, strict=True)
    return Lines(
        np.array(orders), np.array(who), np.array(days, dtype="datetime64[D]"), np.array(products),
        np.array(categories), np.array(prices),
    )  # fmt: skip


def test_the_learnt_ranking_learns_the_price_level_customers_buy_at() -> None:
    lines = _tiers()
    day = dt.date(2025, 5, 1)  # five purchases each (days 0–120); it learns from what they bought after 31 January
    ranking = LearntRanking.fit(lines, day, 90)
    assert ranking is not None
    assert ranking.learnt_from == 900  # three new products each in (31 January, 1 May]
    customers = np.arange(300)
    chosen, scores = ranking.recommend(customers, 3)
    have = lines.before(day)
    for customer, offered, probability in zip(customers, chosen, scores, strict=True):
        owned = set(have.products[have.customers == customer].tolist())
        assert not owned & set(offered.tolist()), "offered a product the customer has"
        assert all(product % 10 == customer % 3 + 1 for product in offered), "offered outside their price level"
        assert list(probability) == sorted(probability, reverse=True)
    unknown, _ = ranking.recommend(np.array([999]), 3)  # bought nothing: the most popular, as item-to-item's
    assert unknown.tolist() == ranking.standing.model.recommend(np.array([999]), 3)[0].tolist()


def test_a_learnt_list_is_shorter_where_the_customer_has_fewer_candidates() -> None:
    lines = _tiers()
    ranking = LearntRanking.fit(lines, dt.date(2025, 5, 1), 90)
    assert ranking is not None
    chosen, scores = ranking.recommend(np.array([0]), 30)  # 24 products sold by then, 5 of them customer 0's
    assert (chosen[0] >= 0).sum() == 19
    assert (chosen[0, 19:] == -1).all()
    assert np.isnan(scores[0, 19:]).all()
    assert not np.isnan(scores[0, :19]).any()


def test_the_learnt_ranking_needs_earlier_horizons_with_new_purchases() -> None:
    lines = _tiers()
    assert LearntRanking.fit(lines, dt.date(2025, 1, 15), 90) is None  # no sale before its one horizon
    assert LearntRanking.fit(lines.before(dt.date(2025, 1, 1)), dt.date(2025, 4, 1), 90) is None  # none bought since


@pytest.mark.django_db(transaction=True)
def test_the_run_stores_rules_and_lists_for_every_customer() -> None:
    demo_load(customers=300, seed=1)
    job = job_run(analytics_start(actor=make_user("ana", Role.ANALYST), as_of=DEMO_END).pk)
    assert job is not None
    assert job.state == JobState.SUCCEEDED, job.error
    cross_sell = job.result["cross_sell"]
    stored = BasketRule.objects.filter(job=job)
    assert cross_sell["rules"] == {
        "product": stored.filter(level="product").count(),
        "category": stored.filter(level="category").count(),
    }
    phones = stored.get(level="category", antecedent="手机", consequent="手机配件")
    assert phones.lift > 2  # the demo sells accessories with phones
    for score in CustomerScore.objects.all()[:50]:
        offered = [product for product, _score in score.recommendations]
        assert len(offered) == len(set(offered)) == 10
        have = set(OrderLine.objects.filter(order__customer_id=score.customer_id).values_list("product", flat=True))
        assert not have & set(offered), "offered a product the customer already bought"
    evaluation = cross_sell["evaluation"]
    assert evaluation["fitted_until"] == "2026-08-03"  # as the buy-again comparison: 90 days before the run
    # 44 customers bought something new to them after 3 August: item-to-item found more of it than popularity
    assert evaluation["customers"] == 44
    assert evaluation["recall"] == {
        ITEM_TO_ITEM: pytest.approx(0.2886, abs=1e-4),
        LEARNT: pytest.approx(0.2742, abs=1e-4),  # 300 customers are too few to learn from: it found less …
        POPULARITY: pytest.approx(0.2023, abs=1e-4),
    }
    assert evaluation["chosen"] == ITEM_TO_ITEM  # … so the lists offered are item-to-item's


@pytest.mark.django_db(transaction=True)
def test_the_360_page_says_what_to_offer_next() -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kehu.commerce.models import Product

    demo_load(customers=300, seed=1)
    analyst = make_user("ana", Role.ANALYST)
    job_run(analytics_start(actor=analyst, as_of=DEMO_END).pk)
    browser = Client()
    browser.force_login(analyst)
    queries, together = [], []
    for score in CustomerScore.objects.select_related("customer").exclude(segment="")[:3]:
        with CaptureQueriesContext(connection) as seen:
            html = browser.get(
                f"/customers/{score.customer.public_id}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
            ).content.decode()
        queries.append(len(seen))
        first = Product.objects.get(pk=score.recommendations[0][0])
        assert 'data-testid="cross-sell"' in html
        assert "下一步推荐" in html
        assert first.name in html.split('data-testid="cross-sell"')[1]
        together.append("的订单同时购买了" in html)  # bought together, as a sentence with its share and lift
    assert any(together)
    assert len(set(queries)) == 1, f"queries vary with what the customer bought: {queries}"


@pytest.mark.django_db(transaction=True)
def test_the_cross_sell_step_keeps_the_heartbeat_fresh_between_its_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    from kehu.analytics import services

    demo_load(customers=300, seed=1)
    beats: list[tuple[str, object]] = []
    original = services._phase

    def recorded(context: JobContext, name: str, total: int | None = None) -> None:
        original(context, name, total)
        stored = Job.objects.values_list("heartbeat_at", flat=True).get(pk=context.job.pk)
        beats.append((name, stored))

    monkeypatch.setattr(services, "_phase", recorded)
    job = job_run(analytics_start(actor=make_user("ana", Role.ANALYST), as_of=DEMO_END).pk)
    assert job is not None
    assert job.state == JobState.SUCCEEDED, job.error
    # the step starts, then beats after the evaluation, after the learnt ranking's fit and after the lists: each
    # beat stored a later heartbeat
    cross_sell = [moment for name, moment in beats if name == "cross_sell"]
    assert len(cross_sell) == 4
    assert all(earlier < later for earlier, later in itertools.pairwise(cross_sell))
