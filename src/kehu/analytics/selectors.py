"""A customer's latest scores as the 360 page shows them: names in the user's language, and why."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kehu.analytics.models import CustomerScore
from kehu.analytics.rfm import CLASS_NAMES, CLASSES, SEGMENTS

_HIGH = {key: signs for signs, (key, _name) in CLASSES.items()}


def score_explained(customer_id: int) -> dict[str, Any] | None:
    """The customer's scores (None before any analytics run): segment and class names, the RFM scores, what
    the models expect, and a sentence saying how the class was reached."""
    score = CustomerScore.objects.filter(customer_id=customer_id).first()
    if score is None:
        return None
    reasons = []
    if score.china_class in _HIGH:
        recent, often, much = _HIGH[score.china_class]
        reasons = [
            _("bought more recently than the average customer") if recent else _("last bought longer ago than average"),
            _("buys at least as often as average") if often else _("buys less often than average"),
            _("spends at least the average") if much else _("spends less than average"),
        ]
    return {
        "computed_at": score.computed_at,
        "segment": SEGMENTS.get(score.segment, ""),
        "china_class": CLASS_NAMES.get(score.china_class, ""),
        "rfm": (score.recency_score, score.frequency_score, score.monetary_score) if score.recency_score else None,
        "reasons": reasons,
        "probability_alive": score.probability_alive,
        "churn_risk": score.churn_risk,
        "churn_percent": None if score.churn_risk is None else round(score.churn_risk * 100),
        "expected_purchases": score.expected_purchases,
        "lifetime_value": score.lifetime_value,
    }
