"""What an import keeps: the uploaded file, saved column mappings, which rows are done, and the rows refused."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kehu.core.fields import EncryptedTextField
from kehu.core.models import Job


class ImportType(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    PRODUCTS = "products", _("Products")
    ORDERS = "orders", _("Orders (one row per order line)")
    INTERACTIONS = "interactions", _("Interactions (calls, visits, notes…)")


class ErrorPolicy(models.TextChoices):
    SKIP = "skip", _("Skip bad rows and import the rest")
    STOP = "stop", _("Stop at the first bad row")


class Upload(models.Model):
    """A file a user uploaded for import, stored encrypted under KEHU_UPLOAD_DIR until it is deleted."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    name = models.CharField(_("file name"), max_length=255)
    size = models.BigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64, db_index=True)
    stored_as = models.CharField(max_length=255)
    file_format = models.CharField(_("format"), max_length=10)  # csv | xlsx
    encoding = models.CharField(_("encoding"), max_length=30, blank=True)  # detected; CSV only
    import_type = models.CharField(
        _("what the rows are"), max_length=20, choices=ImportType.choices, default=ImportType.CUSTOMERS
    )

    def __str__(self) -> str:
        return self.name


class ImportTemplate(models.Model):
    """A column mapping saved by a user for files of the same shape ("trade fair sign-in sheet")."""

    name = models.CharField(_("name"), max_length=100)
    import_type = models.CharField(_("type"), max_length=20, choices=ImportType.choices)
    mapping = models.JSONField(_("column mapping"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["created_by", "import_type", "name"], name="import_template_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ImportedRange(models.Model):
    """Rows first_row…last_row of the file with this hash were imported as this type: each batch writes one in
    its own transaction, so a resumed job or a second run of the same file skips them."""

    file_sha256 = models.CharField(max_length=64)
    import_type = models.CharField(max_length=20)
    first_row = models.PositiveIntegerField()
    last_row = models.PositiveIntegerField()
    job = models.ForeignKey(Job, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["file_sha256", "import_type", "first_row"], name="imported_range_unique_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.import_type} rows {self.first_row}-{self.last_row} of {self.file_sha256[:12]}"


class ImportIssue(models.Model):
    """A row an import refused, with why and the row as it was in the file (encrypted: it holds personal data)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="import_issues")
    row_number = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=200, blank=True)
    message = models.TextField(_("reason"))
    values = EncryptedTextField(_("row as in the file"), blank=True, group="import")

    class Meta:
        indexes = [models.Index(fields=["job", "row_number"], name="import_issue_job_row")]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.column}"


class WebhookSource(models.Model):
    """A platform that sends orders to `POST /api/v1/hooks/orders/<name>`, signed with its own secret.

    The orders and customers it brings are recorded as `actor` (who needs to be allowed to create them)."""

    name = models.SlugField(_("name"), max_length=50, unique=True)
    secret = EncryptedTextField(_("signing secret"), group="secret")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("order channel"), max_length=20, default="ecommerce")
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_received_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class LeadFormField(models.TextChoices):
    NAME = "name", _("Name")
    MOBILE = "mobile", _("Mobile")
    EMAIL = "email", _("Email")
    COMPANY = "company", _("Company")
    JOB_TITLE = "job_title", _("Job title")
    CITY = "city", _("City")
    MESSAGE = "message", _("Message")


def _form_key() -> str:
    import secrets

    return secrets.token_urlsafe(12)


class LeadForm(models.Model):
    """A sign-up form for a website or a landing page, at /f/<key>/ (and embeddable in a frame).

    What people submit becomes a customer of `owner` (or updates the one with the same mobile or email), with
    the form's source channel and campaign; the consent box records consent for `consent_purpose` in the words
    of `consent_text`."""

    key = models.CharField(max_length=32, unique=True, default=_form_key, editable=False)
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title shown"), max_length=200)
    intro = models.TextField(_("text above the form"), blank=True)
    fields = models.JSONField(
        _("fields"), default=list, help_text=_("which of: name, mobile, email, company, job_title, city, message")
    )
    required = models.JSONField(_("required fields"), default=list)
    consent_purpose = models.CharField(_("consent asked for"), max_length=30, blank=True)
    consent_text = models.TextField(_("consent wording"), blank=True)
    consent_required = models.BooleanField(_("consent required to submit"), default=False)
    source_channel = models.CharField(_("source channel"), max_length=20, default="website")
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    thanks = models.CharField(_("thank-you text"), max_length=300, blank=True)
    allowed_origins = models.CharField(
        _("sites that may embed it"),
        max_length=500,
        blank=True,
        help_text=_("e.g. https://www.example.com (space-separated)"),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class LeadSubmission(models.Model):
    """One submission: when, from which address (as a keyed hash: for the rate limit), and what it did."""

    form = models.ForeignKey(LeadForm, on_delete=models.CASCADE, related_name="submissions")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    address_index = models.CharField(max_length=32, db_index=True)
    outcome = models.CharField(max_length=20)  # created | updated | unchanged | refused | honeypot
    customer = models.ForeignKey("customers.Customer", null=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"{self.form} {self.created_at:%Y-%m-%d %H:%M} {self.outcome}"
