"""Every write to the customer record. Each runs in one transaction with its audit record."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType, Role, Scope, role_scope
from kehu.audit.models import AuditEvent
from kehu.audit.services import AuditEntry, audit_record, audit_record_many
from kehu.core.address import ParsedAddress, parse_address
from kehu.core.bulkwrite import new_instance
from kehu.core.changes import apply_changes
from kehu.core.errors import FieldError, ServiceValidationError, length_errors, one_of
from kehu.core.fields import index_of
from kehu.core.normalize import (
    NormalisationError,
    cn_mobile_e164,
    normalize_bank_account,
    normalize_email,
    normalize_id_number,
    normalize_name,
    normalize_other,
    normalize_phone,
    normalize_qq,
    normalize_wechat,
)
from kehu.customers.custom_fields import attributes_clean
from kehu.customers.models import (
    Address,
    ContactKind,
    ContactPoint,
    Customer,
    CustomerKind,
    CustomerType,
    CustomFieldDefinition,
    FieldType,
    Gender,
    Industry,
    LifecycleStage,
    SourceChannel,
    Tag,
)
from kehu.customers.search_index import index_refresh

# Scalar fields a caller may set on a customer; everything else goes through its own argument.
CUSTOMER_FIELDS = (
    "kind",
    "display_name",
    "family_name",
    "given_name",
    "company_name",
    "job_title",
    "gender",
    "birthday",
    "industry",
    "region",
    "customer_type",
    "lifecycle_stage",
    "source_channel",
    "source_campaign",
    "source_system",
    "external_id",
    "import_batch",
    "id_number",
    "bank_account",
)
NAME_FIELDS = ("display_name", "family_name", "given_name", "company_name")


@dataclass(frozen=True)
class ContactPointInput:
    kind: str
    value: str
    label: str = ""
    is_primary: bool = False
    verified: bool = False
    source: str = ""


@dataclass(frozen=True)
class AddressInput:
    """Either `raw` (one free-text Chinese address, parsed into parts) or the parts themselves."""

    raw: str = ""
    label: str = ""
    country: str = "CN"
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    postal_code: str = ""
    is_primary: bool = False
    parsed: ParsedAddress | None = None  # `raw` already parsed (imports parse a whole batch at once)


def contact_value_normalize(kind: str, raw: str) -> str:
    """The canonical value of a contact point, or NormalisationError saying why there is none."""
    if kind == ContactKind.MOBILE:
        e164 = normalize_phone(raw)
        if e164.startswith("+861") and cn_mobile_e164(e164):
            return e164  # libphonenumber's mobile pattern matched: a mobile
        number_type = phonenumbers.number_type(phonenumbers.parse(e164))
        if number_type not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            raise NormalisationError(
                _("%(value)s is a landline number, not a mobile; save it as a phone") % {"value": raw.strip()}
            )
        return e164
    if kind == ContactKind.PHONE:
        return normalize_phone(raw)
    if kind == ContactKind.EMAIL:
        return normalize_email(raw)
    if kind == ContactKind.WECHAT:
        return normalize_wechat(raw)
    if kind == ContactKind.QQ:
        return normalize_qq(raw)
    return normalize_other(raw)


def contact_value_index(kind: str, value: str) -> str:
    """The blind index of a normalised contact value; mobiles and landlines share one domain (both E.164)."""
    domain = "phone" if kind in (ContactKind.MOBILE, ContactKind.PHONE) else f"contact:{kind}"
    return index_of(domain, value)


def id_number_index(id_number: str) -> str:
    return index_of("id_number", id_number)


def external_id_index(source_system: str, external_id: str) -> str:
    return index_of("external_id", f"{source_system}\x00{external_id}") if external_id else ""


def identifying_indexes(customer: Customer, points: Sequence[ContactPoint] | None = None) -> list[str]:
    """Blind indexes of what identifies a person: contact values, ID number, external id (for tombstones)."""
    contact = [point.value_index for point in (customer.contact_points.all() if points is None else points)]
    indexes = [*contact, customer.id_number_index, external_id_index(customer.source_system, customer.external_id)]
    return [index for index in dict.fromkeys(indexes) if index]


def _refuse_erased(customer: Customer, points: Sequence[ContactPoint]) -> None:
    """A person who was erased is not re-created from an old spreadsheet or a replayed sync."""
    from kehu.privacy.selectors import erased_match  # privacy builds on customers; the reverse is this one read

    erased_at = erased_match(identifying_indexes(customer, points))
    if erased_at is not None:
        raise ServiceValidationError.single(
            "contact_points",
            gettext(
                "this person's data was erased at their request on %(date)s; "
                "add them again only with their new consent (erased_policy=allow)"
            )
            % {"date": f"{erased_at:%Y-%m-%d}"},
        )


def customer_anonymise(*, customer: Customer, label: str) -> list[str]:
    """Remove all that identifies the person from the record; the row stays for orders. Caller audits.

    Returns the blind indexes of the removed identifying values, for the erasure tombstones.
    """
    indexes = identifying_indexes(customer)
    customer.contact_points.all().delete()
    customer.addresses.all().delete()
    customer.tags.clear()
    blank = ("family_name", "given_name", "company_name", "job_title", "gender", "region", "source_campaign")
    for name in blank:
        setattr(customer, name, "")
    customer.display_name = label
    customer.birthday = None
    customer.id_number = customer.id_number_index = customer.bank_account = ""
    customer.external_id = ""
    customer.attributes = {}
    now = timezone.now()
    customer.erased_at = now
    customer.archived_at = customer.archived_at or now
    customer.save()
    _refresh(customer)
    return indexes


def _clean_scalars(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(CUSTOMER_FIELDS))
    if unknown:
        raise ServiceValidationError([FieldError(name, gettext("is not a customer field")) for name in unknown])
    cleaned = dict(values)
    errors: list[FieldError] = []
    for name, normalise in (("id_number", normalize_id_number), ("bank_account", normalize_bank_account)):
        if isinstance(cleaned.get(name), str):
            try:
                cleaned[name] = normalise(cleaned[name])
            except NormalisationError as error:
                errors.append(FieldError(name, str(error)))
    if errors:
        raise ServiceValidationError(errors)
    for name in NAME_FIELDS:
        if isinstance(cleaned.get(name), str):
            cleaned[name] = normalize_name(cleaned[name])
    for name in ("region", "job_title", "source_campaign", "source_system", "external_id", "import_batch"):
        if isinstance(cleaned.get(name), str):
            cleaned[name] = cleaned[name].strip()
    return cleaned


_CODED_FIELDS = {
    "kind": CustomerKind,
    "gender": Gender,
    "industry": Industry,
    "customer_type": CustomerType,
    "lifecycle_stage": LifecycleStage,
    "source_channel": SourceChannel,
}


_CODED_VALUES = {name: frozenset((*choices.values, "")) for name, choices in _CODED_FIELDS.items()}
_CONTACT_KINDS = frozenset(ContactKind.values)


def _validate_customer(customer: Customer, *, clashes: bool = True) -> None:
    """Refuse what a customer may not hold; `clashes` also looks for another customer with its ID number or
    external id (an import checks a whole batch at once instead)."""
    errors = length_errors(customer)
    for name, choices in _CODED_FIELDS.items():
        if getattr(customer, name) not in _CODED_VALUES[name]:
            allowed = ", ".join(value for value in choices.values if value)
            errors.append(
                FieldError(
                    name,
                    gettext("%(value)r is not one of: %(allowed)s")
                    % {"value": getattr(customer, name), "allowed": allowed},
                )
            )
    if not customer.display_name:
        person = f"{customer.family_name}{customer.given_name}"
        customer.display_name = customer.company_name if customer.kind == CustomerKind.ORGANIZATION else person
    if not customer.display_name:
        errors.append(FieldError("display_name", gettext("is required (or give family_name and given_name)")))
    if customer.kind == CustomerKind.ORGANIZATION and (customer.gender or customer.birthday):
        errors.append(
            FieldError("gender" if customer.gender else "birthday", gettext("applies to people, not organisations"))
        )
    if customer.birthday and customer.birthday > timezone.localdate():
        errors.append(FieldError("birthday", gettext("is in the future")))
    if customer.parent_id is not None:
        if customer.parent_id == customer.pk:
            errors.append(FieldError("parent", gettext("a customer cannot be its own parent")))
        elif customer.parent is not None and customer.parent.kind != CustomerKind.ORGANIZATION:
            errors.append(FieldError("parent", gettext("the parent must be an organisation")))
        elif customer.pk and _is_ancestor(customer.pk, customer.parent_id):
            errors.append(
                FieldError("parent", gettext("the parent belongs to this customer already; that would be a loop"))
            )
    customer.id_number_index = id_number_index(customer.id_number)
    if customer.id_number and clashes:
        same_person = Customer.objects.filter(id_number_index=customer.id_number_index)
        if customer.pk:
            same_person = same_person.exclude(pk=customer.pk)
        if same_person.exists():
            errors.append(FieldError("id_number", gettext("another customer has this ID number: the same person?")))
    if customer.external_id and clashes:
        clash = Customer.objects.filter(source_system=customer.source_system, external_id=customer.external_id)
        if customer.pk:
            clash = clash.exclude(pk=customer.pk)
        if clash.exists():
            errors.append(
                FieldError("external_id", gettext("another customer from this source system has this external id"))
            )
    if errors:
        raise ServiceValidationError(errors)


def _is_ancestor(customer_id: int, parent_id: int, *, depth: int = 50) -> bool:
    """Whether `customer_id` is `parent_id` or one of its ancestors (organisation trees are shallow)."""
    current: int | None = parent_id
    for _step in range(depth):
        if current is None:
            return False
        if current == customer_id:
            return True
        current = Customer.objects.filter(pk=current).values_list("parent_id", flat=True).first()
    return True  # deeper than any real group structure: refuse rather than loop


def _check_owner(actor: User, owner: User | None) -> None:
    """Reps own what they create; managers assign within their team; admins assign to anyone."""
    if owner is None or owner == actor:
        return
    scope = role_scope(actor.role)
    if scope is Scope.ALL and actor.role in (Role.ADMIN,):
        return
    if scope is Scope.TEAM and actor.team_id is not None and owner.team_id == actor.team_id:
        return
    raise ServiceValidationError.single("owner", gettext("you may not assign customers to this user"))


def _contact_point_build(customer: Customer, index: int | None, item: ContactPointInput) -> ContactPoint:
    prefix = "" if index is None else f"contact_points.{index}."
    if item.kind not in _CONTACT_KINDS:
        raise ServiceValidationError.single(f"{prefix}kind", one_of(ContactKind.values))
    try:
        value = contact_value_normalize(item.kind, item.value)
    except NormalisationError as error:
        raise ServiceValidationError.single(f"{prefix}value", str(error)) from None
    point = new_instance(
        ContactPoint,
        customer=customer,
        kind=item.kind,
        raw_value=item.value.strip(),
        value=value,
        value_index=contact_value_index(item.kind, value),
        label=item.label.strip(),
        is_primary=item.is_primary,
        verified=item.verified,
        source=item.source.strip(),
    )
    errors = length_errors(point, prefix)
    if errors:
        raise ServiceValidationError(errors)
    return point


def _address_build(customer: Customer, index: int | None, item: AddressInput) -> Address:
    prefix = "" if index is None else f"addresses.{index}."
    parts = {
        "country": item.country.strip().upper(),
        "province": item.province.strip(),
        "city": item.city.strip(),
        "district": item.district.strip(),
        "street": item.street.strip(),
        "postal_code": item.postal_code.strip(),
    }
    if item.raw.strip():
        parsed = item.parsed or parse_address(item.raw)
        for name, value in parsed.__dict__.items():
            if not parts.get(name) or (name == "country" and parts[name] == "CN"):
                parts[name] = value or parts[name]
        if not parsed.province and not any(parts[name] for name in ("province", "city", "district")):
            parts["street"] = parts["street"] or item.raw.strip()
    if not any(parts[name] for name in ("province", "city", "district", "street")):
        raise ServiceValidationError.single(f"{prefix}raw", gettext("give an address or its parts"))
    if (
        parts["postal_code"]
        and parts["country"] == "CN"
        and not (len(parts["postal_code"]) == 6 and parts["postal_code"].isdigit())
    ):
        raise ServiceValidationError.single(f"{prefix}postal_code", gettext("a Chinese postal code has 6 digits"))
    address = new_instance(
        Address, customer=customer, label=item.label.strip(), raw=item.raw.strip(), is_primary=item.is_primary, **parts
    )
    errors = length_errors(address, prefix)
    if errors:
        raise ServiceValidationError(errors)
    return address


def _primaries_fix(customer: Customer) -> None:
    """Exactly one primary per contact kind and one primary address: the flagged one, else the oldest."""
    points = list(customer.contact_points.order_by("-is_primary", "-updated_at", "id"))
    seen: set[str] = set()
    for point in points:
        should = point.kind not in seen
        seen.add(point.kind)
        if point.is_primary != should:
            point.is_primary = should
            point.save(update_fields=["is_primary"])
    addresses = list(customer.addresses.order_by("-is_primary", "-updated_at", "id"))
    for index, address in enumerate(addresses):
        if address.is_primary != (index == 0):
            address.is_primary = index == 0
            address.save(update_fields=["is_primary"])


def _refresh(customer: Customer) -> None:
    fresh = Customer.objects.prefetch_related("contact_points").get(pk=customer.pk)
    index_refresh([fresh])
    customer.search_document = fresh.search_document


@transaction.atomic
def customer_create(
    *,
    actor: User,
    values: Mapping[str, Any],
    contact_points: Sequence[ContactPointInput] = (),
    addresses: Sequence[AddressInput] = (),
    tags: Sequence[str] = (),
    attributes: Mapping[str, Any] | None = None,
    owner: User | None = None,
    parent: Customer | None = None,
    erased_policy: str = "refuse",
) -> Customer:
    """Create a customer with contact points, addresses, tags and custom fields; owned by the actor by default.

    A person erased at their request is refused (`erased_policy="refuse"`) unless the caller records new consent.
    """
    require(actor, ObjectType.CUSTOMER, Action.CREATE)
    _check_owner(actor, owner)
    owner = owner or actor
    customer = Customer(owner=owner, team_id=owner.team_id, parent=parent, **_clean_scalars(values))
    # Collect every problem before refusing, so the user fixes the form in one go.
    points: list[ContactPoint] = []
    places: list[Address] = []
    steps: list[Callable[[], object]] = [
        lambda: setattr(customer, "attributes", attributes_clean(attributes or {})),
        lambda: _validate_customer(customer),
        *[
            lambda i=i, item=item: points.append(_contact_point_build(customer, i, item))
            for i, item in enumerate(contact_points)
        ],
        lambda: _reject_repeated_points(points),
        *[lambda i=i, item=item: places.append(_address_build(customer, i, item)) for i, item in enumerate(addresses)],
    ]
    errors = collect_errors(steps)
    if errors:
        raise ServiceValidationError(errors)
    if erased_policy != "allow":
        _refuse_erased(customer, points)
    customer.save()
    ContactPoint.objects.bulk_create(points)
    Address.objects.bulk_create(places)
    if tags:
        customer.tags.set(_tags_get_or_create(actor, tags))
    _primaries_fix(customer)
    _refresh(customer)
    audit_record(
        event=AuditEvent.CUSTOMER_CREATED,
        actor=actor,
        target_type="customer",
        target_id=str(customer.public_id),
        customer_id=customer.pk,
        fields=[name for name in values if values[name] not in (None, "")],
        extra={"contact_points": len(points), "addresses": len(places), "tags": len(tags)},
    )
    return customer


def collect_errors(steps: Iterable[Callable[[], object]]) -> list[FieldError]:
    """Run every step and gather the field errors they raise, so that one answer names every problem."""
    errors: list[FieldError] = []
    for step in steps:
        try:
            step()
        except ServiceValidationError as error:
            errors.extend(error.errors)
    return errors


def _reject_repeated_points(points: Sequence[ContactPoint]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for index, point in enumerate(points):
        key = (point.kind, point.value)
        if key in seen:
            raise ServiceValidationError.single(
                f"contact_points.{index}.value",
                gettext("repeats contact_points.%(index)s (%(value)s)") % {"index": seen[key], "value": point.value},
            )
        seen[key] = index


@transaction.atomic
def customer_update(
    *,
    actor: User,
    customer: Customer,
    values: Mapping[str, Any],
    attributes: Mapping[str, Any] | None = None,
    owner: User | None = None,
    parent: Customer | None = None,
    clear_parent: bool = False,
) -> Customer:
    """Change fields of a customer; only fields whose value really changes are saved and audited."""
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    cleaned = _clean_scalars(values)
    changed = apply_changes(customer, cleaned)
    if attributes is not None:
        merged = attributes_clean(attributes, existing=customer.attributes)
        if merged != customer.attributes:
            customer.attributes = merged
            changed.append("attributes")
    if owner is not None and owner.pk != customer.owner_id:
        _check_owner(actor, owner)
        customer.owner, customer.team_id = owner, owner.team_id
        changed += ["owner", "team"]
    if clear_parent and customer.parent_id is not None:
        customer.parent = None
        changed.append("parent")
    elif parent is not None and parent.pk != customer.parent_id:
        customer.parent = parent
        changed.append("parent")
    if not changed:
        return customer
    _validate_customer(customer)
    if "id_number" in changed:
        changed.append("id_number_index")
    customer.save(update_fields=[*changed, "updated_at"])
    if set(changed) & {*NAME_FIELDS, "owner"}:
        _refresh(customer)
    audit_record(
        event=AuditEvent.CUSTOMER_UPDATED,
        actor=actor,
        target_type="customer",
        target_id=str(customer.public_id),
        customer_id=customer.pk,
        fields=changed,
    )
    return customer


def _archived_set(*, actor: User, customer: Customer, archived: bool) -> Customer:
    require(actor, ObjectType.CUSTOMER, Action.ARCHIVE)
    if (customer.archived_at is not None) == archived:
        return customer
    customer.archived_at = timezone.now() if archived else None
    customer.save(update_fields=["archived_at", "updated_at"])
    _refresh(customer)
    audit_record(
        event=AuditEvent.CUSTOMER_ARCHIVED if archived else AuditEvent.CUSTOMER_RESTORED,
        actor=actor,
        target_type="customer",
        target_id=str(customer.public_id),
        customer_id=customer.pk,
        fields=["archived_at"],
    )
    return customer


@transaction.atomic
def customer_archive(*, actor: User, customer: Customer) -> Customer:
    """Hide a customer from lists and search; everything about them stays and can be restored."""
    return _archived_set(actor=actor, customer=customer, archived=True)


@transaction.atomic
def customer_restore(*, actor: User, customer: Customer) -> Customer:
    return _archived_set(actor=actor, customer=customer, archived=False)


def _child_changed(
    *,
    actor: User,
    customer: Customer,
    event: AuditEvent,
    target_type: str,
    target_ids: Sequence[int],
    fields: Sequence[str] = (),
    reindex: bool = False,
    primaries: bool = True,
) -> None:
    """After contact points, addresses or tags changed: fix primaries, bump the customer, reindex, audit each."""
    if primaries:
        _primaries_fix(customer)
    customer.updated_at = timezone.now()
    customer.save(update_fields=["updated_at"])
    if reindex:
        _refresh(customer)
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(event, target_type, str(target_id), customer.pk, tuple(fields)) for target_id in target_ids
        ],
    )


@transaction.atomic
def contact_point_add(*, actor: User, customer: Customer, item: ContactPointInput) -> ContactPoint:
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    point = _contact_point_build(customer, None, item)
    if customer.contact_points.filter(value_index=point.value_index).exists():
        raise ServiceValidationError.single(
            "value", gettext("%(value)s is already on this customer") % {"value": point.value}
        )
    point.save()
    if point.is_primary:
        customer.contact_points.filter(kind=point.kind).exclude(pk=point.pk).update(is_primary=False)
    _child_changed(
        actor=actor,
        customer=customer,
        event=AuditEvent.CONTACT_POINT_ADDED,
        target_type="contact_point",
        target_ids=[point.pk],
        fields=["kind", "value"],
        reindex=True,
    )
    point.refresh_from_db()
    return point


@transaction.atomic
def contact_point_update(
    *,
    actor: User,
    point: ContactPoint,
    value: str | None = None,
    label: str | None = None,
    is_primary: bool | None = None,
    verified: bool | None = None,
) -> ContactPoint:
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    changed: list[str] = []
    if value is not None:
        try:
            normalised = contact_value_normalize(point.kind, value)
        except NormalisationError as error:
            raise ServiceValidationError.single("value", str(error)) from None
        if normalised != point.value or value.strip() != point.raw_value:
            index = contact_value_index(point.kind, normalised)
            clash = point.customer.contact_points.filter(value_index=index).exclude(pk=point.pk)
            if clash.exists():
                raise ServiceValidationError.single(
                    "value", gettext("%(value)s is already on this customer") % {"value": normalised}
                )
            point.raw_value, point.value, point.value_index = value.strip(), normalised, index
            changed += ["raw_value", "value", "value_index"]
    for name, new in (("label", label), ("is_primary", is_primary), ("verified", verified)):
        if new is not None and getattr(point, name) != new:
            setattr(point, name, new.strip() if isinstance(new, str) else new)
            changed.append(name)
    if not changed:
        return point
    point.save(update_fields=[*changed, "updated_at"])
    if is_primary:
        point.customer.contact_points.filter(kind=point.kind).exclude(pk=point.pk).update(is_primary=False)
    _child_changed(
        actor=actor,
        customer=point.customer,
        event=AuditEvent.CONTACT_POINT_UPDATED,
        target_type="contact_point",
        target_ids=[point.pk],
        fields=changed,
        reindex=True,
    )
    point.refresh_from_db()
    return point


@transaction.atomic
def contact_point_remove(*, actor: User, point: ContactPoint) -> None:
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    customer, point_id = point.customer, point.pk
    point.delete()
    _child_changed(
        actor=actor,
        customer=customer,
        event=AuditEvent.CONTACT_POINT_REMOVED,
        target_type="contact_point",
        target_ids=[point_id],
        reindex=True,
    )


@transaction.atomic
def address_add(*, actor: User, customer: Customer, item: AddressInput) -> Address:
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    address = _address_build(customer, None, item)
    address.save()
    if address.is_primary:
        customer.addresses.exclude(pk=address.pk).update(is_primary=False)
    _child_changed(
        actor=actor,
        customer=customer,
        event=AuditEvent.ADDRESS_ADDED,
        target_type="address",
        target_ids=[address.pk],
        fields=[name for name in ("province", "city", "district", "street", "postal_code") if getattr(address, name)],
    )
    address.refresh_from_db()
    return address


@transaction.atomic
def address_update(*, actor: User, address: Address, item: AddressInput) -> Address:
    """Replace an address's parts with `item` (parsed again when `raw` is given)."""
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    rebuilt = _address_build(address.customer, None, item)
    fields = (
        "label",
        "country",
        "province",
        "city",
        "district",
        "street",
        "postal_code",
        "raw",
        "is_primary",
    )
    changed = apply_changes(address, {name: getattr(rebuilt, name) for name in fields})
    if not changed:
        return address
    address.save(update_fields=[*changed, "updated_at"])
    if address.is_primary:
        address.customer.addresses.exclude(pk=address.pk).update(is_primary=False)
    _child_changed(
        actor=actor,
        customer=address.customer,
        event=AuditEvent.ADDRESS_UPDATED,
        target_type="address",
        target_ids=[address.pk],
        fields=changed,
    )
    address.refresh_from_db()
    return address


@transaction.atomic
def address_remove(*, actor: User, address: Address) -> None:
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    customer, address_id = address.customer, address.pk
    address.delete()
    _child_changed(
        actor=actor, customer=customer, event=AuditEvent.ADDRESS_REMOVED, target_type="address", target_ids=[address_id]
    )


def _tag_name_clean(name: str) -> str:
    clean = normalize_name(name)
    if not clean:
        raise ServiceValidationError.single("name", gettext("a tag needs a name"))
    if len(clean) > Tag._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ServiceValidationError.single("name", gettext("a tag name has at most 50 characters"))
    return clean


def _tags_get_or_create(actor: User, names: Iterable[str]) -> list[Tag]:
    wanted = list(dict.fromkeys(_tag_name_clean(name) for name in names))
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=wanted)}
    return [existing.get(name) or tag_create(actor=actor, name=name) for name in wanted]


@transaction.atomic
def tag_create(*, actor: User, name: str, color: str = "") -> Tag:
    require(actor, ObjectType.TAG, Action.CREATE)
    clean = _tag_name_clean(name)
    if Tag.objects.filter(name=clean).exists():
        raise ServiceValidationError.single("name", gettext("the tag %(name)s already exists") % {"name": clean})
    if color and not (len(color) == 7 and color.startswith("#")):
        raise ServiceValidationError.single("color", gettext("write the colour as #rrggbb"))
    tag = Tag.objects.create(name=clean, color=color)
    audit_record(event=AuditEvent.TAG_CREATED, actor=actor, target_type="tag", target_id=str(tag.pk))
    return tag


@transaction.atomic
def customer_tags_add(*, actor: User, customer: Customer, names: Sequence[str]) -> list[Tag]:
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    tags = _tags_get_or_create(actor, names)
    present = set(customer.tags.values_list("pk", flat=True))
    new = [tag for tag in tags if tag.pk not in present]
    if new:
        customer.tags.add(*new)
        _child_changed(
            actor=actor,
            customer=customer,
            event=AuditEvent.CUSTOMER_TAGGED,
            target_type="tag",
            target_ids=[tag.pk for tag in new],
            fields=["tags"],
            primaries=False,
        )
    return tags


@transaction.atomic
def customer_tag_remove(*, actor: User, customer: Customer, tag: Tag) -> None:
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    if customer.tags.filter(pk=tag.pk).exists():
        customer.tags.remove(tag)
        _child_changed(
            actor=actor,
            customer=customer,
            event=AuditEvent.CUSTOMER_UNTAGGED,
            target_type="tag",
            target_ids=[tag.pk],
            fields=["tags"],
            primaries=False,
        )


def _definition_validate(definition: CustomFieldDefinition) -> None:
    errors: list[FieldError] = []
    if definition.field_type not in FieldType.values:
        errors.append(FieldError("field_type", one_of(FieldType.values)))
    if definition.field_type == FieldType.CHOICE and not definition.choices:
        errors.append(FieldError("choices", gettext("a choice field needs at least one choice")))
    if definition.field_type != FieldType.CHOICE and definition.choices:
        errors.append(FieldError("choices", gettext("only choice fields have choices")))
    if (
        definition.min_value is not None
        and definition.max_value is not None
        and definition.min_value > definition.max_value
    ):
        errors.append(FieldError("min_value", gettext("is greater than max_value")))
    if errors:
        raise ServiceValidationError(errors)


@transaction.atomic
def custom_field_define(*, actor: User, key: str, label: str, field_type: str, **options: Any) -> CustomFieldDefinition:
    require(actor, ObjectType.CUSTOM_FIELD, Action.CREATE)
    if CustomFieldDefinition.objects.filter(key=key).exists():
        raise ServiceValidationError.single("key", gettext("the custom field %(key)s already exists") % {"key": key})
    definition = CustomFieldDefinition(key=key, label=label.strip(), field_type=field_type, **options)
    _definition_validate(definition)
    definition.save()
    audit_record(
        event=AuditEvent.CUSTOM_FIELD_DEFINED,
        actor=actor,
        target_type="custom_field",
        target_id=definition.key,
    )
    return definition


@transaction.atomic
def custom_field_update(*, actor: User, definition: CustomFieldDefinition, **changes: Any) -> CustomFieldDefinition:
    """Change a definition's label, rules or choices; its key and type are fixed once values exist."""
    require(actor, ObjectType.CUSTOM_FIELD, Action.CHANGE)
    allowed = {"label", "required", "choices", "max_length", "min_value", "max_value", "active"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ServiceValidationError([FieldError(name, gettext("cannot be changed")) for name in unknown])
    changed = apply_changes(definition, changes)
    if not changed:
        return definition
    _definition_validate(definition)
    definition.save(update_fields=[*changed, "updated_at"])
    audit_record(
        event=AuditEvent.CUSTOM_FIELD_UPDATED,
        actor=actor,
        target_type="custom_field",
        target_id=definition.key,
        fields=changed,
    )
    return definition
