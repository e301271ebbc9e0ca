"""What a duplicate search found: groups of customers that are probably one, the scored pairs in them, and the
pairs people said are not the same (never suggested again)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class GroupState(models.TextChoices):
    OPEN = "open", _("To review")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Not the same")
    SKIPPED = "skipped", _("Skipped")


class MatchGroup(models.Model):
    """Customers a dedup run clustered together; `confidence` is the lowest probability that holds it together."""

    job = models.ForeignKey("core.Job", on_delete=models.CASCADE, related_name="match_groups")
    confidence = models.FloatField()
    size = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=GroupState.choices, default=GroupState.OPEN)
    customers = models.ManyToManyField("customers.Customer", related_name="match_groups")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["job", "state", "-confidence"], name="match_group_queue")]

    def __str__(self) -> str:
        return f"group {self.pk} ({self.size}, {self.confidence:.3f})"


class MatchPair(models.Model):
    """Two customers scored as one: the probability, the match weight, and each comparison's level and weight."""

    group = models.ForeignKey(MatchGroup, on_delete=models.CASCADE, related_name="pairs")
    customer_a = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    customer_b = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    weight = models.FloatField()
    # [{"comparison": "phone", "level": "same phone", "weight": 9.1}, …]: the reasons, no personal values
    explanation = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.customer_a_id} ~ {self.customer_b_id} ({self.probability:.3f})"


class NotSamePair(models.Model):
    """Two customers a person said are different people; `customer_low` holds the smaller id."""

    customer_low = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    customer_high = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer_low", "customer_high"], name="not_same_pair_unique"),
            models.CheckConstraint(
                condition=models.Q(customer_low__lt=models.F("customer_high")), name="not_same_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_low_id} ≠ {self.customer_high_id}"
