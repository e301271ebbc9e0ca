"""A customer's latest scores as the 360 page shows them: names in the user's language, and why."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kehu.analytics.models import BasketRule, CustomerScore
from kehu.analytics.rfm import CLASS_NAMES, CLASSES, SEGMENTS
from kehu.analytics.risk import FLAG_AT, SIGN_NAMES
from kehu.core.models import Job, JobState

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
        "recommendations": score.recommendations,
        "risk_score": None if score.risk_score is None else round(score.risk_score),
        "flagged": score.risk_score is not None and score.risk_score >= FLAG_AT,
        "risk_reasons": [_reason(sign, points, value) for sign, points, value in score.risk_reasons],
    }


def _reason(sign: str, points: float, value: float) -> str:
    """One sign behind a risk score in words, with what was measured and the points it earned."""
    if sign == "overdue":
        said = _("%(share)s%% of orders overdue") % {"share": round(value * 100)}
    elif sign == "refunds":
        said = _("%(share)s%% of spend refunded") % {"share": round(value * 100)}
    elif sign == "complaints":
        said = _("%(n)s complaints in the last 180 days") % {"n": round(value)}
    else:
        said = _("spend down %(share)s%% on the half year before") % {"share": round(value * 100)}
    return _("%(sign)s: %(said)s (+%(points)s)") % {
        "sign": SIGN_NAMES.get(sign, sign),
        "said": said,
        "points": round(points),
    }


SHOWN = 5


def latest_run() -> Job | None:
    """The latest analytics run that finished well, or None: what the pages show."""
    return Job.objects.filter(kind="analytics", state=JobState.SUCCEEDED).order_by("-created_at").first()


def cross_sell(customer_id: int, recommendations: list[list[float]]) -> dict[str, Any] | None:
    """What to offer the customer (the latest run's list, products by name) and what is bought together with what
    they bought (the latest run's rules: by product, or by category where no product rule applies). Four queries
    whatever the customer bought."""
    from kehu.commerce.models import OrderLine, OrderStatus, Product

    job = latest_run()
    if job is None or not recommendations:
        return None
    bought = set(
        OrderLine.objects.filter(order__customer_id=customer_id)
        .exclude(order__status=OrderStatus.CANCELLED)
        .values_list("product_id", "product__category")
        .distinct()
    )
    products = {str(product) for product, _category in bought}
    categories = {category for _product, category in bought if category}
    rules = list(
        BasketRule.objects.filter(job=job, level="product", antecedent__in=products)
        .exclude(consequent__in=products)
        .exclude(consequent__contains="|")
        .order_by("-lift")[:SHOWN]
    ) or list(
        BasketRule.objects.filter(job=job, level="category", antecedent__in=categories)
        .exclude(consequent__in=categories)
        .exclude(consequent__contains="|")
        .order_by("-lift")[:SHOWN]
    )
    wanted = {int(product) for product, _score in recommendations[:SHOWN]}
    for rule in rules:
        if rule.level == "product":
            wanted |= {int(rule.antecedent), int(rule.consequent)}
    named = {product.pk: product for product in Product.objects.filter(pk__in=wanted)}
    together = [
        {
            "if": named[int(rule.antecedent)].name if rule.level == "product" else rule.antecedent,
            "then": named[int(rule.consequent)].name if rule.level == "product" else rule.consequent,
            "confidence": round(rule.confidence * 100),
            "lift": rule.lift,
        }
        for rule in rules
        if rule.level == "category" or {int(rule.antecedent), int(rule.consequent)} <= set(named)
    ]
    offers = [named[int(product)] for product, _score in recommendations[:SHOWN] if int(product) in named]
    return {"offers": offers, "together": together, "by_category": bool(rules) and rules[0].level == "category"}
