"""RFM scores, segments and the Chinese eight classes, checked by hand on a small base."""

from __future__ import annotations

import numpy as np
from django.utils import translation

from kehu.analytics.rfm import CLASS_NAMES, SEGMENTS, quintile_scores, rfm


def test_quintile_scores_give_ties_one_score() -> None:
    # ten customers: 1 + ⌊5 · (customers with a smaller value) / 10⌋
    values = np.array([1, 1, 1, 1, 1, 1, 2, 2, 5, 9], dtype=float)
    assert quintile_scores(values).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # recency: fewer days since the last purchase is better
    days = np.array([3, 10, 30, 60, 90, 120, 200, 250, 300, 365], dtype=float)
    assert quintile_scores(days, higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert quintile_scores(np.array([])).tolist() == []


def test_quintile_scores_are_one_plus_five_times_the_share_worse() -> None:
    """The definition counted customer by customer, on random bases with many ties and without."""
    rng = np.random.default_rng(4)
    for trial in range(300):
        size = int(rng.integers(1, 40))
        values = rng.integers(0, 4, size).astype(float) if trial % 2 else rng.normal(size=size)
        for higher_is_better in (True, False):
            oriented = values if higher_is_better else -values
            expected = [1 + (5 * int((oriented < value).sum())) // size for value in oriented]
            assert quintile_scores(values, higher_is_better=higher_is_better).tolist() == expected


def test_segments_and_classes_worked_by_hand() -> None:
    #            days since last purchase, purchases, spent
    customers = [
        (5, 12, 9_800.0),  # A: bought last week, often, much
        (8, 1, 150.0),  # B: first purchase last week
        (40, 6, 4_200.0),  # C
        (95, 3, 700.0),  # D
        (150, 1, 3_900.0),  # E: one large order five months ago
        (200, 8, 5_100.0),  # F: a good customer who stopped
        (260, 2, 260.0),  # G
        (330, 1, 90.0),  # H
        (20, 2, 480.0),  # I
        (365, 1, 60.0),  # J: a year ago, once, little
    ]
    days, purchases, spent = (np.array(column, dtype=float) for column in zip(*customers, strict=True))
    result = rfm(days, purchases, spent)
    # averages: 1,473 / 10 = 147.3 days, 37 / 10 = 3.7 purchases, 24,740 / 10 = 2,474 spent
    assert result.averages == (147.3, 3.7, 2474.0)
    assert result.recency_score.tolist() == [5, 5, 4, 3, 3, 2, 2, 1, 4, 1]
    assert result.frequency_score.tolist() == [5, 1, 4, 4, 1, 5, 3, 1, 3, 1]
    assert result.monetary_score.tolist() == [5, 2, 4, 3, 4, 5, 2, 1, 3, 1]
    assert result.segment == [
        "champions", "new", "loyal", "loyal", "about_to_sleep", "cant_lose", "at_risk", "lost",
        "potential_loyalists", "lost",
    ]  # fmt: skip
    assert result.china_class == [
        "important_value",  # A: recent, frequent, above-average spend
        "general_development",  # B: recent, not yet frequent, little spent
        "important_value",  # C
        "general_development",  # D: 95 days ≤ 147.3, 3 < 3.7, 700 < 2,474
        "important_winback",  # E: 150 days > 147.3, once, 3,900 ≥ 2,474
        "important_retention",  # F: stopped, but frequent and big
        "general_winback",  # G
        "general_winback",  # H
        "general_development",  # I
        "general_winback",  # J
    ]
    with translation.override("zh-hans"):
        assert str(CLASS_NAMES["important_value"]) == "重要价值客户"
        assert str(CLASS_NAMES["general_winback"]) == "一般挽留客户"
        assert str(SEGMENTS["champions"]) == "冠军客户"
    with translation.override("en"):
        assert str(CLASS_NAMES["important_value"]) == "Important value customers"
