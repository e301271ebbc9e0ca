"""What customer analytics leaves where people work: each customer's latest scores, and segment sizes per run."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.customers.models import SourceChannel


class CustomerScore(models.Model):
    """The latest analytics of one customer and when they were computed (None: not enough purchases to say)."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    computed_at = models.DateTimeField(_("computed at"))
    recency_score = models.PositiveSmallIntegerField(_("R score"), null=True)
    frequency_score = models.PositiveSmallIntegerField(_("F score"), null=True)
    monetary_score = models.PositiveSmallIntegerField(_("M score"), null=True)
    segment = models.CharField(_("RFM segment"), max_length=24, blank=True, db_index=True)
    china_class = models.CharField(_("customer class"), max_length=24, blank=True, db_index=True)
    probability_alive = models.FloatField(_("probability still a customer"), null=True)
    expected_purchases = models.FloatField(_("expected purchases, next 90 days"), null=True)
    lifetime_value = models.FloatField(_("expected value, next 12 months"), null=True)
    churn_risk = models.FloatField(_("churn risk"), null=True, db_index=True)
    risk_score = models.FloatField(_("risk score"), null=True, db_index=True)  # 0–100, kehu.analytics.risk
    # the signs behind it, most points first: [[sign, points, measured value], …]
    risk_reasons = models.JSONField(_("risk reasons"), default=list, blank=True)
    cluster = models.PositiveSmallIntegerField(_("cluster"), null=True, db_index=True)  # 0: the largest
    # products to offer, best first: [[product id, score], …] (item-to-item or the learnt ranking, whichever
    # found more on the last 90 days; popularity where that has nothing)
    recommendations = models.JSONField(_("recommended products"), default=list, blank=True)

    def __str__(self) -> str:
        return f"score of {self.customer_id} at {self.computed_at:%Y-%m-%d}"


class SegmentCount(models.Model):
    """How many customers a segment held after one run: the sizes over time show movement between segments."""

    job = models.ForeignKey("core.Job", on_delete=models.CASCADE, related_name="segment_counts")
    computed_at = models.DateTimeField()
    scheme = models.CharField(max_length=10)  # "rfm" (named segments) or "china" (the eight classes)
    segment = models.CharField(max_length=24)
    customers = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["scheme", "computed_at"], name="segment_count_time")]

    def __str__(self) -> str:
        return f"{self.scheme}:{self.segment} = {self.customers}"


class BasketRule(models.Model):
    """An association rule one run found: baskets holding `antecedent` also hold `consequent`.

    Items are product ids (level "product") or category names (level "category"), several joined by "|", sorted.
    """

    job = models.ForeignKey("core.Job", on_delete=models.CASCADE, related_name="basket_rules")
    level = models.CharField(max_length=10)  # "product" or "category"
    antecedent = models.CharField(max_length=300)
    consequent = models.CharField(max_length=300)
    support = models.FloatField()
    confidence = models.FloatField()
    lift = models.FloatField()
    baskets = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["job", "level", "antecedent"], name="basket_rule_lookup")]

    def __str__(self) -> str:
        return f"{self.antecedent} → {self.consequent} (lift {self.lift:.2f})"


class MarketingSpend(models.Model):
    """What one acquisition channel cost in one month, as marketing entered it (for the cost per new customer)."""

    channel = models.CharField(_("channel"), max_length=20, choices=SourceChannel.choices)
    month = models.DateField(_("month"))  # the first day of the month
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "month"], name="marketing_spend_unique_month")]

    def __str__(self) -> str:
        return f"{self.channel} {self.month:%Y-%m}: {self.amount} {self.currency}"
