"""Consent, data-subject requests, erasure tombstones and retention rules."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.models import PublicIdModel, TimeStampedModel


class ConsentPurpose(models.TextChoices):
    MARKETING_EMAIL = "marketing_email", _("Marketing by email")
    MARKETING_SMS = "marketing_sms", _("Marketing by SMS")
    MARKETING_PHONE = "marketing_phone", _("Marketing by phone")
    MARKETING_WECHAT = "marketing_wechat", _("Marketing on WeChat")
    PROFILING = "profiling", _("Profiling and automated analysis")
    SHARING = "sharing", _("Sharing with third parties")
    SENSITIVE = "sensitive", _("Processing sensitive personal data")


class LegalBasis(models.TextChoices):
    """PIPL art. 13 (with the GDPR art. 6 counterparts)."""

    CONSENT = "consent", _("Consent")
    SEPARATE_CONSENT = "separate_consent", _("Separate consent (sensitive data, sharing)")
    CONTRACT = "contract", _("Necessary for a contract with the person")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal duty or obligation")
    VITAL_INTEREST = "vital_interest", _("Health, life or property in an emergency")
    PUBLISHED = "published", _("Information the person published")


class Consent(TimeStampedModel):
    """One grant of consent for a purpose (and channel), with what the person was shown; withdrawal ends it."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=30, choices=ConsentPurpose.choices)
    channel = models.CharField(_("channel"), max_length=20, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=20, choices=LegalBasis.choices)
    source = models.CharField(_("source"), max_length=100)
    wording = models.TextField(_("wording shown"))
    given_at = models.DateTimeField(_("given at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawal_source = models.CharField(_("withdrawn through"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "purpose", "channel"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            )
        ]
        indexes = [models.Index(fields=["purpose", "customer"], name="consent_purpose_customer")]

    def __str__(self) -> str:
        return f"{self.purpose} {'withdrawn' if self.withdrawn_at else 'given'}"


class SubjectRequestKind(models.TextChoices):
    ACCESS = "access", _("Access and copy")
    CORRECTION = "correction", _("Correction")
    DELETION = "deletion", _("Deletion")
    WITHDRAWAL = "withdrawal", _("Withdrawal of consent")


class SubjectRequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")


class SubjectRequest(PublicIdModel):
    """A data-subject request (PIPL arts. 44-47, GDPR arts. 15-20) with its deadline and outcome."""

    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="subject_requests"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SubjectRequestKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=SubjectRequestStatus.choices, default=SubjectRequestStatus.OPEN
    )
    received_at = models.DateTimeField(_("received at"))
    due_at = models.DateTimeField(_("due by"), db_index=True)
    received_through = models.CharField(_("received through"), max_length=100, blank=True)
    details = models.TextField(_("details"), blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.kind} {self.status}"


class ErasureTombstone(models.Model):
    """A blind index of a value of an erased person: re-imports that carry it are refused, nothing else is kept."""

    value_index = models.CharField(max_length=32, unique=True)
    erased_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"tombstone {self.value_index[:8]}…"


class RetentionDataType(models.TextChoices):
    UNTOUCHED_LEADS = "untouched_leads", _("Leads and prospects with no order, contact or change")
    ARCHIVED_CUSTOMERS = "archived_customers", _("Archived customers")
    INTERACTION_TEXT = "interaction_text", _("Text of interactions (notes, call and chat records)")


class RetentionAction(models.TextChoices):
    FLAG = "flag", _("Flag for review")
    ANONYMISE = "anonymise", _("Anonymise")


class RetentionRule(TimeStampedModel):
    data_type = models.CharField(_("data type"), max_length=30, choices=RetentionDataType.choices, unique=True)
    months = models.PositiveIntegerField(_("kept for (months)"))
    action = models.CharField(_("then"), max_length=20, choices=RetentionAction.choices)
    active = models.BooleanField(_("active"), default=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.data_type} {self.months}m {self.action}"


class RetentionFlag(models.Model):
    """A customer a retention rule flagged for review; cleared when the customer is touched again."""

    rule = models.ForeignKey(RetentionRule, on_delete=models.CASCADE, related_name="flags")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="retention_flags")
    flagged_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "customer"], name="retention_flag_once")]

    def __str__(self) -> str:
        return f"flag {self.rule_id}/{self.customer_id}"
