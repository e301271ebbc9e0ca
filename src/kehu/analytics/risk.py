"""A risk score a credit controller or a service lead can check by hand: points for each warning sign, with the
signs named.

Four signs, each worth up to its weight in points, growing linearly to the level where it is worth them all:

| sign | full points at | weight |
| --- | --- | --- |
| overdue payments (share of orders overdue, counted only while money is overdue) | half the orders | 35 |
| refunds (share of spend refunded) | half the spend | 25 |
| complaints (contacts rated 2 of 5 or lower, last 180 days) | 2 complaints | 20 |
| falling spend (last 180 days against the 180 before) | spend gone | 20 |

The score is their sum, 0–100; a customer at `FLAG_AT` or above is flagged. The weights are set, not learnt:
the point is that anyone can see why a customer is on the list and what would take them off it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _

from kehu.analytics.clv import Array

FLAG_AT = 40
# sign → (weight, level at which the sign earns its whole weight)
SIGNS: dict[str, tuple[float, float]] = {
    "overdue": (35, 0.5),
    "refunds": (25, 0.5),
    "complaints": (20, 2),
    "falling_spend": (20, 1.0),
}
SIGN_NAMES = {
    "overdue": _("overdue payments"),
    "refunds": _("refunds"),
    "complaints": _("complaints"),
    "falling_spend": _("falling spend"),
}


@dataclass(frozen=True)
class Risk:
    score: Array  # 0–100 per customer
    reasons: list[list[list[float | str]]]  # per customer: [sign, points, measured value], most points first


def risk(
    *,
    overdue_rate: Array,
    overdue_amount: Array,
    refund_rate: Array,
    complaints: Array,
    spend_recent: Array,
    spend_prior: Array,
) -> Risk:
    """The score and its reasons for each customer (arrays aligned; NaN counts as no sign)."""
    clean = {
        name: np.nan_to_num(np.asarray(values, dtype=np.float64))
        for name, values in (
            ("overdue_rate", overdue_rate),
            ("overdue_amount", overdue_amount),
            ("refund_rate", refund_rate),
            ("complaints", complaints),
            ("spend_recent", spend_recent),
            ("spend_prior", spend_prior),
        )
    }
    prior = clean["spend_prior"]
    drop = np.where(prior > 0, np.clip(1 - clean["spend_recent"] / np.where(prior > 0, prior, 1), 0, 1), 0.0)
    measured = {
        "overdue": np.where(clean["overdue_amount"] > 0, clean["overdue_rate"], 0.0),
        "refunds": clean["refund_rate"],
        "complaints": clean["complaints"],
        "falling_spend": drop,
    }
    points = {sign: weight * np.clip(measured[sign] / full, 0, 1) for sign, (weight, full) in SIGNS.items()}
    score = np.round(np.sum(list(points.values()), axis=0), 1)
    reasons: list[list[list[float | str]]] = []
    for i in range(len(score)):
        earned = [(sign, round(float(points[sign][i]), 1), round(float(measured[sign][i]), 4)) for sign in SIGNS]
        reasons.append([[sign, got, value] for sign, got, value in sorted(earned, key=lambda s: -s[1]) if got > 0])
    return Risk(score=np.asarray(score, dtype=np.float64), reasons=reasons)
