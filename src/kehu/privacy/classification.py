"""The one declared place that says which fields hold personal data, how sensitive, and why kehu keeps them.

Every field of a model that describes a customer is listed here, as personal or as not personal; a test
fails when a field is added without a decision. Masking, encryption, exports, erasure and the record of
processing (`kehu privacy ropa`) read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models

from kehu.commerce.models import Order, OrderLine, OrderReturn
from kehu.customers.models import Address, ContactPoint, Customer
from kehu.interactions.models import Interaction
from kehu.privacy.models import Consent, SubjectRequest


class Level(StrEnum):
    NONE = "none"
    PERSONAL = "personal"  # identifies or describes a person (PIPL art. 4)
    SENSITIVE = "sensitive"  # PIPL art. 28: harm if leaked; separate consent, masked by default


class Category(StrEnum):
    IDENTITY = "identity"
    CONTACT = "contact"
    LOCATION = "location"
    DEMOGRAPHIC = "demographic"
    FINANCIAL = "financial"
    COMMERCIAL = "commercial"
    COMMUNICATION = "communication"
    ADMINISTRATIVE = "administrative"


class Purpose(StrEnum):
    CUSTOMER_RELATIONSHIP = "managing the customer relationship"
    CONTRACT = "performing orders and contracts"
    ACCOUNTING = "accounting and tax records"
    SERVICE = "customer service"
    SECURITY = "security and audit"
    COMPLIANCE = "proving consent and answering data-subject requests"


@dataclass(frozen=True)
class FieldClass:
    level: Level
    category: Category
    purpose: Purpose


def _p(category: Category, purpose: Purpose = Purpose.CUSTOMER_RELATIONSHIP) -> FieldClass:
    return FieldClass(Level.PERSONAL, category, purpose)


def _s(category: Category, purpose: Purpose = Purpose.CUSTOMER_RELATIONSHIP) -> FieldClass:
    return FieldClass(Level.SENSITIVE, category, purpose)


_ADMIN = FieldClass(Level.NONE, Category.ADMINISTRATIVE, Purpose.SECURITY)

CLASSIFICATION: dict[type[models.Model], dict[str, FieldClass]] = {
    Customer: {
        "display_name": _p(Category.IDENTITY),
        "family_name": _p(Category.IDENTITY),
        "given_name": _p(Category.IDENTITY),
        "company_name": _p(Category.IDENTITY),
        "job_title": _p(Category.IDENTITY),
        "gender": _p(Category.DEMOGRAPHIC),
        "birthday": _s(Category.DEMOGRAPHIC),
        "id_number": _s(Category.IDENTITY, Purpose.CONTRACT),
        "id_number_index": _p(Category.IDENTITY),  # keyed hash: finds duplicates, reveals nothing without the key
        "bank_account": _s(Category.FINANCIAL, Purpose.CONTRACT),
        "attributes": _p(Category.IDENTITY),
        "search_document": _p(Category.IDENTITY),  # derived from names, phones and emails
        "external_id": _p(Category.IDENTITY),
        "industry": _ADMIN,
        "region": _ADMIN,
        "customer_type": _ADMIN,
        "lifecycle_stage": _ADMIN,
        "source_channel": _ADMIN,
        "source_campaign": _ADMIN,
        "source_system": _ADMIN,
        "import_batch": _ADMIN,
        "kind": _ADMIN,
        "parent": _ADMIN,
        "owner": _ADMIN,
        "team": _ADMIN,
        "tags": _ADMIN,
        "archived_at": _ADMIN,
        "erased_at": _ADMIN,
        "merged_into": _ADMIN,
        "merged_at": _ADMIN,
        "created_at": _ADMIN,
        "updated_at": _ADMIN,
        "public_id": _ADMIN,
        "id": _ADMIN,
    },
    ContactPoint: {
        "value": _s(Category.CONTACT),
        "raw_value": _s(Category.CONTACT),
        "value_index": _p(Category.CONTACT),  # keyed hash for lookups and duplicate checks
        "label": _ADMIN,
        "kind": _ADMIN,
        "is_primary": _ADMIN,
        "verified": _ADMIN,
        "source": _ADMIN,
        "customer": _ADMIN,
        "created_at": _ADMIN,
        "updated_at": _ADMIN,
        "id": _ADMIN,
    },
    Address: {
        "street": _s(Category.LOCATION, Purpose.CONTRACT),
        "district": _p(Category.LOCATION, Purpose.CONTRACT),
        "postal_code": _p(Category.LOCATION, Purpose.CONTRACT),
        "raw": _s(Category.LOCATION, Purpose.CONTRACT),
        "city": _p(Category.LOCATION, Purpose.CONTRACT),
        "province": _p(Category.LOCATION, Purpose.CONTRACT),
        "country": _ADMIN,
        "label": _ADMIN,
        "is_primary": _ADMIN,
        "customer": _ADMIN,
        "created_at": _ADMIN,
        "updated_at": _ADMIN,
        "id": _ADMIN,
    },
    Order: {
        "total": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "subtotal": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "discount": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "placed_at": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "payment_status": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "payment_due": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "channel": _p(Category.COMMERCIAL, Purpose.CONTRACT),
        "number": _ADMIN,
        "status": _ADMIN,
        "currency": _ADMIN,
        "customer": _ADMIN,
        "created_by": _ADMIN,
        "source_system": _ADMIN,
        "external_id": _ADMIN,
        "created_at": _ADMIN,
        "updated_at": _ADMIN,
        "public_id": _ADMIN,
        "id": _ADMIN,
    },
    OrderLine: {
        "product": _p(Category.COMMERCIAL, Purpose.CONTRACT),
        "quantity": _p(Category.COMMERCIAL, Purpose.CONTRACT),
        "unit_price": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "line_total": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "order": _ADMIN,
        "id": _ADMIN,
    },
    OrderReturn: {
        "reason": _p(Category.COMMERCIAL, Purpose.SERVICE),
        "quantity": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "amount": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "returned_at": _p(Category.COMMERCIAL, Purpose.ACCOUNTING),
        "order": _ADMIN,
        "line": _ADMIN,
        "created_at": _ADMIN,
        "updated_at": _ADMIN,
        "id": _ADMIN,
    },
    Interaction: {
        "subject": _p(Category.COMMUNICATION, Purpose.SERVICE),
        "body": _p(Category.COMMUNICATION, Purpose.SERVICE),
        "outcome": _p(Category.COMMUNICATION, Purpose.SERVICE),
        "satisfaction": _p(Category.COMMUNICATION, Purpose.SERVICE),
        "occurred_at": _p(Category.COMMUNICATION, Purpose.SERVICE),
        "kind": _ADMIN,
        "direction": _ADMIN,
        "channel": _ADMIN,
        "customer": _ADMIN,
        "user": _ADMIN,
        "created_at": _ADMIN,
        "updated_at": _ADMIN,
        "public_id": _ADMIN,
        "id": _ADMIN,
    },
    Consent: {
        "purpose": _p(Category.ADMINISTRATIVE, Purpose.COMPLIANCE),
        "channel": _p(Category.ADMINISTRATIVE, Purpose.COMPLIANCE),
        "legal_basis": _p(Category.ADMINISTRATIVE, Purpose.COMPLIANCE),
        "source": _p(Category.ADMINISTRATIVE, Purpose.COMPLIANCE),
        "wording": _ADMIN,
        "given_at": _p(Category.ADMINISTRATIVE, Purpose.COMPLIANCE),
        "withdrawn_at": _p(Category.ADMINISTRATIVE, Purpose.COMPLIANCE),
        "withdrawal_source": _p(Category.ADMINISTRATIVE, Purpose.COMPLIANCE),
        "customer": _ADMIN,
        "recorded_by": _ADMIN,
        "created_at": _ADMIN,
        "updated_at": _ADMIN,
        "id": _ADMIN,
    },
    SubjectRequest: {
        "details": _p(Category.COMMUNICATION, Purpose.COMPLIANCE),
        "outcome": _p(Category.COMMUNICATION, Purpose.COMPLIANCE),
        "received_through": _p(Category.ADMINISTRATIVE, Purpose.COMPLIANCE),
        "received_at": _p(Category.ADMINISTRATIVE, Purpose.COMPLIANCE),
        "kind": _ADMIN,
        "status": _ADMIN,
        "due_at": _ADMIN,
        "closed_at": _ADMIN,
        "customer": _ADMIN,
        "opened_by": _ADMIN,
        "closed_by": _ADMIN,
        "created_at": _ADMIN,
        "updated_at": _ADMIN,
        "public_id": _ADMIN,
        "id": _ADMIN,
    },
}


def model_field_names(model: type[models.Model]) -> set[str]:
    """Every column and forward many-to-many of a model: what the table must decide about."""
    return {
        field.name
        for field in model._meta.get_fields()
        if field.concrete or (field.many_to_many and not field.auto_created)
    }


def personal_fields(level: Level | None = None) -> list[tuple[type[models.Model], str, FieldClass]]:
    return [
        (model, name, field_class)
        for model, fields in CLASSIFICATION.items()
        for name, field_class in fields.items()
        if field_class.level != Level.NONE and (level is None or field_class.level == level)
    ]
