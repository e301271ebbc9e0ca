"""The customer record: Customer, ContactPoint, Address, Tag and custom field definitions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kehu.core.fields import EncryptedDateField, EncryptedTextField
from kehu.core.models import PublicIdModel, TimeStampedModel


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANIZATION = "organization", _("Organisation")


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")


class LifecycleStage(models.TextChoices):
    LEAD = "lead", _("Lead")
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    CHURNED = "churned", _("Churned")


class SourceChannel(models.TextChoices):
    """Where the customer came from; the first four are online, the rest offline."""

    WEBSITE = "website", _("Website")
    ECOMMERCE = "ecommerce", _("E-commerce")
    SOCIAL = "social", _("Social media")
    APP = "app", _("App")
    EVENT = "event", _("Event / trade fair")
    STORE = "store", _("Store")
    PHONE = "phone", _("Phone")
    REFERRAL = "referral", _("Referral")
    OTHER = "other", _("Other")


class Industry(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    RETAIL = "retail", _("Retail")
    WHOLESALE = "wholesale", _("Wholesale")
    IT = "it", _("Information technology")
    FINANCE = "finance", _("Finance")
    EDUCATION = "education", _("Education")
    HEALTHCARE = "healthcare", _("Healthcare")
    REAL_ESTATE = "real_estate", _("Real estate")
    LOGISTICS = "logistics", _("Logistics")
    CATERING = "catering", _("Catering")
    GOVERNMENT = "government", _("Government")
    OTHER = "other", _("Other")


class CustomerType(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    CONSUMER = "consumer", _("Consumer")
    SMB = "smb", _("Small or mid-size business")
    ENTERPRISE = "enterprise", _("Enterprise")
    DISTRIBUTOR = "distributor", _("Distributor")
    PARTNER = "partner", _("Partner")
    PUBLIC = "public", _("Public sector")


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=7, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Customer(PublicIdModel):
    kind = models.CharField(_("kind"), max_length=20, choices=CustomerKind.choices, default=CustomerKind.PERSON)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        limit_choices_to={"kind": CustomerKind.ORGANIZATION},
    )
    display_name = models.CharField(_("name"), max_length=200)
    family_name = models.CharField(_("family name"), max_length=100, blank=True)
    given_name = models.CharField(_("given name"), max_length=100, blank=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True, default="")
    birthday = EncryptedDateField(_("birthday"), null=True, blank=True, group="birthday")
    # Resident identity card (居民身份证) and bank account: always encrypted; the index finds duplicates.
    id_number = EncryptedTextField(_("ID number"), blank=True, default="", group="id_number")
    id_number_index = models.CharField(max_length=32, blank=True, default="", db_index=True, editable=False)
    bank_account = EncryptedTextField(_("bank account"), blank=True, default="", group="bank_account")
    industry = models.CharField(_("industry"), max_length=30, choices=Industry.choices, blank=True, default="")
    region = models.CharField(_("region"), max_length=50, blank=True)
    customer_type = models.CharField(
        _("customer type"), max_length=20, choices=CustomerType.choices, blank=True, default=""
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    source_channel = models.CharField(
        _("source channel"), max_length=20, choices=SourceChannel.choices, blank=True, default=""
    )
    source_campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers")
    attributes = models.JSONField(_("custom fields"), default=dict, blank=True)
    source_system = models.CharField(_("source system"), max_length=50, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    import_batch = models.CharField(_("import batch"), max_length=64, blank=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    # Set when the person was erased (kehu.privacy.services.customer_erase): the row stays, anonymised, for orders.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)
    # Set when this record was merged into another (kehu.dedup.merge): it stays whole, out of every list and
    # search, so that the merge can be undone exactly; lookups by its keys lead to the survivor.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="merged_records"
    )
    merged_at = models.DateTimeField(_("merged"), null=True, blank=True, editable=False)
    # Maintained by the customer services; see kehu.core.search for what the tokens are.
    search_document = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                condition=~Q(external_id=""),
                name="customer_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="customer_owner_created"),
            models.Index(fields=["team", "-created_at"], name="customer_team_created"),
            # The list pages: the stage filter and the name sort in each scope (own, team, all) walk an index in
            # the order shown instead of sorting a rep's 300,000 customers (docs/benchmarks.md, pages).
            models.Index(fields=["owner", "lifecycle_stage", "-created_at"], name="customer_owner_stage"),
            models.Index(fields=["team", "lifecycle_stage", "-created_at"], name="customer_team_stage"),
            models.Index(fields=["lifecycle_stage", "-created_at"], name="customer_stage"),
            models.Index(fields=["owner", "display_name", "id"], name="customer_owner_name"),
            models.Index(fields=["team", "display_name", "id"], name="customer_team_name"),
            models.Index(fields=["display_name", "id"], name="customer_name"),
            models.Index(fields=["-updated_at", "-id"], name="customer_updated"),
            # The quick search walks a user's newest customers (kehu.customers.search_index.newest_matches).
            models.Index(fields=["owner", "id"], name="customer_owner_id"),
            models.Index(fields=["team", "id"], name="customer_team_id"),
        ]

    def __str__(self) -> str:
        return self.display_name


class ContactKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    QQ = "qq", _("QQ")
    OTHER = "other", _("Other")


class ContactPoint(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(_("kind"), max_length=10, choices=ContactKind.choices)
    raw_value = EncryptedTextField(_("value as entered"), max_length=200, group="contact")
    value = EncryptedTextField(_("normalised value"), max_length=200, group="contact")
    # Blind index of `value` (kehu.customers.services.contact_value_index): every lookup by value uses it.
    value_index = models.CharField(max_length=32, default="", db_index=True, editable=False)
    label = models.CharField(_("label"), max_length=50, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    verified = models.BooleanField(_("verified"), default=False)
    source = models.CharField(_("source"), max_length=50, blank=True)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Address(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("label"), max_length=50, blank=True)
    country = models.CharField(_("country"), max_length=2, default="CN", blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    street = EncryptedTextField(_("street"), max_length=200, blank=True, group="address")
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True)
    raw = EncryptedTextField(_("address as entered"), max_length=300, blank=True, group="address")
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        indexes = [models.Index(fields=["province", "city"], name="address_province_city")]

    def __str__(self) -> str:
        return f"{self.province}{self.city}{self.district}{self.street}"


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes / no")
    CHOICE = "choice", _("Choice")


class CustomFieldDefinition(TimeStampedModel):
    """A custom field on customers; values live in Customer.attributes under `key` and are validated here."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    max_length = models.PositiveIntegerField(_("maximum length"), null=True, blank=True)
    min_value = models.DecimalField(_("minimum"), max_digits=18, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(_("maximum"), max_digits=18, decimal_places=4, null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    def __str__(self) -> str:
        return self.key


class SavedView(models.Model):
    """A user's named customer-list view ("my key accounts"): the list's query string, filters, sort and columns."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_view_unique_name")]

    def __str__(self) -> str:
        return self.name
