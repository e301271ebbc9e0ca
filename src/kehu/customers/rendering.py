"""Customer data as the API and the pages show it: masking applies here, once, for every reader.

Personal data leaves kehu masked for everyone; revealing it in full is a separate, audited request for roles
that may (POST /customers/{id}/reveal, or the reveal button on the 360 page). Roles that neither change customers
nor reveal (marketers, analysts) see names masked too.
"""

from __future__ import annotations

from typing import Any

from kehu.accounts.access import allows
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.core.masking import mask_bank_account, mask_birthday, mask_contact, mask_id_number, mask_name, mask_text
from kehu.customers import selectors
from kehu.customers.models import Address, ContactPoint, Customer, CustomerKind


def may_see_names(user: User) -> bool:
    return allows(user, ObjectType.CUSTOMER, Action.CHANGE) or allows(user, ObjectType.CUSTOMER, Action.REVEAL)


def contact_point_out(point: ContactPoint, *, revealed: bool = False) -> dict[str, Any]:
    value = point.value if revealed else mask_contact(point.kind, point.value)
    return {
        "id": point.pk,
        "kind": point.kind,
        "value": value,
        "raw_value": point.raw_value if revealed else value,
        "label": point.label,
        "is_primary": point.is_primary,
        "verified": point.verified,
        "source": point.source,
        "masked": not revealed,
    }


def address_out(address: Address, *, revealed: bool = False) -> dict[str, Any]:
    return {
        "id": address.pk,
        "label": address.label,
        "country": address.country,
        "province": address.province,
        "city": address.city,
        "district": address.district if revealed else mask_text(address.district),
        "street": address.street if revealed else mask_text(address.street, keep=0),
        "postal_code": address.postal_code if revealed else "",
        "is_primary": address.is_primary,
        "masked": not revealed,
    }


def masked_name(value: str, names: bool) -> str:
    return value if names or not value else mask_name(value)


def customer_summary_out(summary: selectors.CustomerSummary, names: bool) -> dict[str, Any]:
    """A list row as a plain dict: the response schema validates it once."""
    phone = summary.primary_phone
    email = summary.primary_email
    return {
        "id": summary.public_id,
        "kind": summary.kind,
        "display_name": masked_name(summary.display_name, names or summary.kind == CustomerKind.ORGANIZATION),
        "company_name": summary.company_name,
        "lifecycle_stage": summary.lifecycle_stage,
        "source_channel": summary.source_channel,
        "owner": {"id": summary.owner_public_id, "name": summary.owner_name} if summary.owner_public_id else None,
        "primary_phone": mask_contact(*phone) if phone else None,
        "primary_email": mask_contact("email", email) if email else None,
        "tags": list(summary.tags),
        "created_at": summary.created_at,
        "updated_at": summary.updated_at,
        "archived": summary.archived,
    }


def customer_out(customer: Customer, names: bool) -> dict[str, Any]:
    person_names = names or customer.kind == CustomerKind.ORGANIZATION
    return {
        "id": customer.public_id,
        "kind": customer.kind,
        "parent": customer.parent.public_id if customer.parent else None,
        "display_name": masked_name(customer.display_name, person_names),
        "family_name": masked_name(customer.family_name, person_names),
        "given_name": masked_name(customer.given_name, person_names),
        "company_name": customer.company_name,
        "job_title": customer.job_title,
        "gender": customer.gender,
        "birthday": mask_birthday(customer.birthday.isoformat()) if customer.birthday else None,
        "id_number": mask_id_number(customer.id_number),
        "bank_account": mask_bank_account(customer.bank_account),
        "industry": customer.industry,
        "region": customer.region,
        "customer_type": customer.customer_type,
        "lifecycle_stage": customer.lifecycle_stage,
        "source_channel": customer.source_channel,
        "source_campaign": customer.source_campaign,
        "source_system": customer.source_system,
        "external_id": customer.external_id,
        "owner": {"id": customer.owner.public_id, "name": str(customer.owner)} if customer.owner else None,
        "team": customer.team.name if customer.team else None,
        "tags": [tag.name for tag in customer.tags.all()],
        "attributes": customer.attributes,
        "contact_points": [contact_point_out(point) for point in customer.contact_points.all()],
        "addresses": [address_out(address) for address in customer.addresses.all()],
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "archived_at": customer.archived_at,
    }
