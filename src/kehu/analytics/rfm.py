"""RFM: how recently, how often and how much each customer bought, as scores and as the segments people name.

- **Quintile scores** 1–5 for recency (5: bought most recently), frequency and monetary value (5: most). Customers
  with the same value get the same score — the one of the lowest rank they share — so that a base where most
  customers bought once does not split them into scores 1, 2 and 3 by chance.
- **Named segments** on the recency × frequency grid (the one most RFM tools use; Lost split off Hibernating at
  R 1 F 1): Champions, Loyal, Potential loyalists, New, Promising, Need attention, About to sleep, At risk,
  Can't lose them, Hibernating, Lost.
- **The Chinese eight classes** (RFM 八类客户): each of R, F and M compared with the base's average — high when a
  customer bought at least as recently (days since the last purchase at most the average), as often and as much
  as the average customer — giving 重要价值客户 … 一般挽留客户.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _
from numpy.typing import NDArray

# key → name shown; keys are stored, names translated
SEGMENTS = {
    "champions": _("Champions"),
    "loyal": _("Loyal"),
    "potential_loyalists": _("Potential loyalists"),
    "new": _("New customers"),
    "promising": _("Promising"),
    "need_attention": _("Need attention"),
    "about_to_sleep": _("About to sleep"),
    "at_risk": _("At risk"),
    "cant_lose": _("Can't lose them"),
    "hibernating": _("Hibernating"),
    "lost": _("Lost"),
}
# (R score, F score) → segment: rows R 1..5, columns F 1..5
_GRID = (
    ("lost", "hibernating", "at_risk", "at_risk", "cant_lose"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),
)
# (R high, F high, M high) → class; in Chinese the names users know (重要价值客户 …), in English their meaning
CLASSES = {
    (True, True, True): ("important_value", _("Important value customers")),
    (True, False, True): ("important_development", _("Important development customers")),
    (False, True, True): ("important_retention", _("Important retention customers")),
    (False, False, True): ("important_winback", _("Important win-back customers")),
    (True, True, False): ("general_value", _("General value customers")),
    (True, False, False): ("general_development", _("General development customers")),
    (False, True, False): ("general_retention", _("General retention customers")),
    (False, False, False): ("general_winback", _("General win-back customers")),
}
CLASS_NAMES = dict(CLASSES.values())
# the same as arrays, looked up for a whole base at once: by (R − 1, F − 1), and by 4·R high + 2·F high + M high
_GRID_KEYS = np.array(_GRID, dtype=object)
_CLASS_KEYS = np.array(
    [CLASSES[(r, f, m)][0] for r in (False, True) for f in (False, True) for m in (False, True)], dtype=object
)


def quintile_scores(values: NDArray[np.float64], *, higher_is_better: bool = True) -> NDArray[np.int64]:
    """1–5 by the share of customers with a worse value: 1 + ⌊5 · worse / n⌋ (ties share a score).

    A score is at least k + 1 exactly when at least m = ⌈k · n / 5⌉ customers are worse, that is when the value is
    above the m-th smallest: four order statistics (`np.partition`, linear time) and four comparisons give every
    score, without sorting the base."""
    oriented = np.asarray(values, dtype=np.float64) * (1 if higher_is_better else -1)
    count = len(oriented)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    positions = [-(-k * count // 5) - 1 for k in range(1, 5)]  # m − 1 for m = ⌈k · n / 5⌉
    bounds = np.partition(oriented, positions)[positions]
    scores = np.ones(count, dtype=np.int64)
    for bound in bounds:
        scores += oriented > bound
    return scores


@dataclass(frozen=True)
class Rfm:
    recency_score: NDArray[np.int64]
    frequency_score: NDArray[np.int64]
    monetary_score: NDArray[np.int64]
    segment: list[str]  # SEGMENTS keys
    china_class: list[str]  # CLASSES keys
    averages: tuple[float, float, float]  # days since the last purchase, purchases, monetary value


def rfm(recency_days: NDArray[np.float64], frequency: NDArray[np.float64], monetary: NDArray[np.float64]) -> Rfm:
    """Scores, segments and classes of customers who bought in the period (each array one value per customer)."""
    recency_days = np.asarray(recency_days, dtype=np.float64)
    frequency = np.asarray(frequency, dtype=np.float64)
    monetary = np.asarray(monetary, dtype=np.float64)
    r = quintile_scores(recency_days, higher_is_better=False)
    f = quintile_scores(frequency)
    m = quintile_scores(monetary)
    averages = (
        (float(recency_days.mean()), float(frequency.mean()), float(monetary.mean())) if len(r) else (0.0, 0.0, 0.0)
    )
    high_r = recency_days <= averages[0]
    high_f = frequency >= averages[1]
    high_m = monetary >= averages[2]
    return Rfm(
        recency_score=r,
        frequency_score=f,
        monetary_score=m,
        segment=_GRID_KEYS[r - 1, f - 1].tolist(),
        china_class=_CLASS_KEYS[4 * high_r + 2 * high_f + high_m].tolist(),
        averages=averages,
    )


def segment_lookup(value: str) -> tuple[str, str] | None:
    """("segment" | "china_class", key) for a segment or class written as its key or its name in either
    language (重要价值客户, Champions, important_value…); None when it is neither."""
    from django.utils import translation

    wanted = value.strip()
    if wanted in SEGMENTS:
        return "segment", wanted
    if wanted in CLASS_NAMES:
        return "china_class", wanted
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for key, name in SEGMENTS.items():
                if str(name).casefold() == wanted.casefold():
                    return "segment", key
            for key, name in CLASS_NAMES.items():
                if str(name).casefold() == wanted.casefold():
                    return "china_class", key
    return None
