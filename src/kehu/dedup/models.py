"""What a duplicate search found: groups of customers that are probably one, the scored pairs in them, and the
pairs people said are not the same (never suggested again)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.fields import EncryptedTextField


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


class SurvivorRule(models.TextChoices):
    """How a merge picks each field's value when the person merging does not pick it."""

    COMPLETE = "complete", _("Most complete record first")
    RECENT = "recent", _("Most recently updated first")
    TRUSTED = "trusted", _("Most trusted source first")


class DedupPolicy(models.Model):
    """The administrator's settings for duplicates: one row (pk 1)."""

    # Groups at or above this probability are merged when a search ends; None: every merge is a person's.
    auto_merge_threshold = models.FloatField(_("merge automatically from"), null=True, blank=True)
    rule = models.CharField(_("survivorship rule"), max_length=10, choices=SurvivorRule.choices, default="complete")
    # Source systems from most to least trusted, for the "trusted" rule: "erp, shop, import".
    trusted_sources = models.CharField(_("trusted sources, most trusted first"), max_length=300, blank=True)
    # Whether a search learns from people's decisions on earlier groups (merged: the same; "not the same").
    learn_from_decisions = models.BooleanField(_("learn from merges and “not the same” decisions"), default=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "dedup policy"

    def trusted(self) -> list[str]:
        """The trusted source systems, most trusted first, as the "trusted" rule compares them."""
        return [name.strip().lower() for name in self.trusted_sources.split(",") if name.strip()]


class Merge(models.Model):
    """One merge: who survived, who was merged into it, and — encrypted, until undone — what undoes it exactly.

    `snapshot` holds the survivor's fields as they were, the rows moved to it and from whom, the primaries it
    demoted and the tags it added; `choices` names the record each field's value came from (never values).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    survivor = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    merged = models.ManyToManyField("customers.Customer", related_name="+")
    group = models.ForeignKey(MatchGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="merges")
    rule = models.CharField(max_length=10, choices=SurvivorRule.choices)
    choices = models.JSONField(default=dict)
    automatic = models.BooleanField(default=False)
    snapshot = EncryptedTextField(group="merge", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"merge {self.public_id} into {self.survivor_id}"
