"""Writes of many customers at once, for imports: the same validation as `customer_create`, batched.

A batch is validated and built row by row (`customers_build`: each row's problems named by field; no database, so
an import runs it in a second process while the first writes), matched against existing customers on
exact keys — normalised phone or email (through their blind indexes), external id, ID number — and then
written with a handful of queries: new customers, their contact points, addresses and tags in bulk, matched
ones updated by the chosen policy, and one audit record per customer changed, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditEvent
from kehu.audit.services import AuditEntry, audit_record_many
from kehu.core.bulkwrite import new_instance, writer_for
from kehu.core.errors import FieldError, ServiceValidationError
from kehu.customers.custom_fields import active_definitions, attributes_clean
from kehu.customers.models import Address, ContactKind, ContactPoint, Customer, Tag
from kehu.customers.search_index import document_for, index_write, scope_of
from kehu.customers.selectors import survivors
from kehu.customers.services import (
    AddressInput,
    ContactPointInput,
    _address_build,
    _clean_scalars,
    _contact_point_build,
    _reject_repeated_points,
    _tag_name_clean,
    _validate_customer,
    collect_errors,
    external_id_index,
)

KEY_KINDS = (ContactKind.MOBILE, ContactKind.PHONE, ContactKind.EMAIL)


class MatchPolicy(models.TextChoices):
    """What a row does to the existing customer its phone, email, external id or ID number matches."""

    FILL_BLANKS = "fill_blanks", _("Fill in what is blank")
    OVERWRITE = "overwrite", _("Overwrite with the file's values")
    SKIP = "skip", _("Leave the customer as it is")


class LikelyPolicy(models.TextChoices):
    """What a row matching no key does when it is probably an existing customer (kehu.dedup.check): a name that
    sounds the same with the same company, city or birthday."""

    CREATE = "create", _("Create a new customer anyway")
    LINK = "link", _("Treat it as that customer (update it by the rule above)")
    SKIP = "skip", _("Leave the row out, with the reason in the report")


@dataclass
class ImportRow:
    """One row of a file, read into what `customer_create` takes."""

    number: int
    values: dict[str, Any] = field(default_factory=dict)
    contact_points: list[ContactPointInput] = field(default_factory=list)
    addresses: list[AddressInput] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportOutcome:
    number: int
    action: str  # created | updated | unchanged | failed
    customer_id: int | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class Built:
    row: ImportRow
    customer: Customer
    points: list[ContactPoint]
    places: list[Address]
    tags: list[str]
    keys: list[str]


def _build(actor: User, row: ImportRow, definitions: Mapping[str, Any], import_batch: str) -> Built:
    """A new customer from a row, validated as `customer_create` does; raises with every problem of the row."""
    customer = new_instance(Customer, owner=actor, team_id=actor.team_id, **_clean_scalars(row.values))
    customer.import_batch = import_batch
    points: list[ContactPoint] = []
    places: list[Address] = []
    tags: list[str] = []

    def clean_attributes() -> None:
        customer.attributes = attributes_clean(row.attributes, definitions=definitions)

    def add_tag(name: str) -> None:
        try:
            tags.append(_tag_name_clean(name))
        except ServiceValidationError as error:
            raise ServiceValidationError([FieldError("tags", item.reason) for item in error.errors]) from None

    errors = collect_errors(
        [
            clean_attributes,
            lambda: _validate_customer(customer, clashes=False),
            *[
                lambda i=i, item=item: points.append(_contact_point_build(customer, i, item))
                for i, item in enumerate(row.contact_points)
            ],
            lambda: _reject_repeated_points(points),
            *[
                lambda i=i, item=item: places.append(_address_build(customer, i, item))
                for i, item in enumerate(row.addresses)
            ],
            *[lambda name=name: add_tag(name) for name in row.tags],
        ]
    )
    if errors:
        raise ServiceValidationError(errors)
    keys = [point.value_index for point in points if point.kind in KEY_KINDS]
    keys += [
        index
        for index in (external_id_index(customer.source_system, customer.external_id), customer.id_number_index)
        if index
    ]
    return Built(row=row, customer=customer, points=points, places=places, tags=list(dict.fromkeys(tags)), keys=keys)


def _existing_matches(built: Sequence[Built]) -> dict[str, int]:
    """Blind index → id of the existing customer holding it, for every key in the batch."""
    contact = [key for item in built for key in (p.value_index for p in item.points if p.kind in KEY_KINDS)]
    matches: dict[str, int] = {}
    if contact:
        for index, customer_id in ContactPoint.objects.filter(value_index__in=contact).values_list(
            "value_index", "customer_id"
        ):
            matches.setdefault(index, customer_id)
    external = [(item.customer.source_system, item.customer.external_id) for item in built if item.customer.external_id]
    if external:
        systems = {system for system, _ in external}
        ids = {external_id for _, external_id in external}
        for system, external_id, customer_id in Customer.objects.filter(
            source_system__in=systems, external_id__in=ids
        ).values_list("source_system", "external_id", "id"):
            matches[external_id_index(system, external_id)] = customer_id
    id_indexes = [item.customer.id_number_index for item in built if item.customer.id_number_index]
    if id_indexes:
        for index, customer_id in Customer.objects.filter(id_number_index__in=id_indexes).values_list(
            "id_number_index", "id"
        ):
            matches.setdefault(index, customer_id)
    moved = survivors(set(matches.values()))  # a key of a record merged into another leads to the survivor
    return {index: moved.get(customer_id, customer_id) for index, customer_id in matches.items()}


def customers_build(
    *, actor: User, rows: Sequence[ImportRow], import_batch: str, definitions: Mapping[str, Any]
) -> list[Built | ImportOutcome]:
    """Each row validated and built into a customer with its contact points, addresses and search document,
    or refused with every problem of the row; no database access, so it may run in another process."""
    built: list[Built | ImportOutcome] = []
    for row in rows:
        try:
            item = _build(actor, row, definitions, import_batch)
        except ServiceValidationError as error:
            built.append(ImportOutcome(row.number, "failed", errors=error.errors))
            continue
        item.customer.search_document = document_for(item.customer, item.points)
        built.append(item)
    return built


def customers_import_batch(
    *,
    actor: User,
    rows: Sequence[ImportRow],
    policy: str = MatchPolicy.FILL_BLANKS,
    import_batch: str = "",
    likely: str = LikelyPolicy.CREATE,
    built: Sequence[Built | ImportOutcome] | None = None,
) -> list[ImportOutcome]:
    """Create or update a customer per row; returns each row's outcome in order. Runs in one transaction.

    A row matching an existing customer on a key updates it by `policy` (or leaves it); a row matching two
    different customers, a customer the actor may not change, or a person erased at their request is refused
    with the reason. Rows of the same batch that share a key update the customer the first one created.
    A row matching no key that is probably an existing customer is created, linked to it or left out by `likely`.
    """
    require(actor, ObjectType.CUSTOMER, Action.CREATE)
    if policy not in MatchPolicy.values:
        raise ValueError(f"unknown match policy {policy!r}")
    if likely not in LikelyPolicy.values:
        raise ValueError(f"unknown policy for likely duplicates {likely!r}")
    from kehu.privacy.selectors import erased_indexes  # privacy builds on customers; the reverse is this one read

    with transaction.atomic():
        if built is None:
            built = customers_build(actor=actor, rows=rows, import_batch=import_batch, definitions=active_definitions())
        outcomes = {position: item for position, item in enumerate(built) if isinstance(item, ImportOutcome)}
        positions = {id(item.row): position for position, item in enumerate(built) if isinstance(item, Built)}
        valid = [item for item in built if isinstance(item, Built)]
        matches = _existing_matches(valid)
        erased = erased_indexes([key for item in valid for key in _identifying(item)])
        matched_ids = set(matches.values())
        changeable = set(_changeable(actor, matched_ids)) if matched_ids else set()
        creating: list[Built] = []
        pending: dict[str, Built] = {}  # key → row of this batch that will create its customer
        updates: list[tuple[int, Built]] = []
        for item in valid:
            position = positions[id(item.row)]
            found = {matches[key] for key in item.keys if key in matches}
            earlier = {id(pending[key]): pending[key] for key in item.keys if key in pending}
            if any(key in erased for key in _identifying(item)):
                outcomes[position] = _refused(
                    item, gettext("this person's data was erased at their request; they are not imported again")
                )
            elif len(found) + len(earlier) > 1:
                outcomes[position] = _refused(
                    item,
                    gettext(
                        "matches more than one customer (by phone, email, external id or ID number): merge them first"
                    ),
                )
            elif found:
                customer_id = found.pop()
                if customer_id not in changeable:
                    outcomes[position] = _refused(
                        item, gettext("matches a customer you may not change; ask its owner or a manager")
                    )
                else:
                    updates.append((position, item))
                    item.customer.pk = customer_id
            elif earlier:
                first = next(iter(earlier.values()))
                updates.append((position, item))
                item.customer.pk = None
                item.customer._kehu_same_as = first  # type: ignore[attr-defined]
            else:
                creating.append(item)
                for key in item.keys:
                    pending[key] = item
        if likely != LikelyPolicy.CREATE:
            creating = _likely(actor, creating, likely, positions, outcomes, updates)
        _create(actor, creating)
        for item in creating:
            outcomes[positions[id(item.row)]] = ImportOutcome(item.row.number, "created", item.customer.pk)
        for position, item in updates:
            same_as = getattr(item.customer, "_kehu_same_as", None)
            customer_id = same_as.customer.pk if same_as is not None else item.customer.pk
            outcomes[position] = _update(actor, customer_id, item, policy)
        return [outcomes[position] for position in range(len(rows))]


def _likely(
    actor: User,
    creating: list[Built],
    likely: str,
    positions: dict[int, int],
    outcomes: dict[int, ImportOutcome],
    updates: list[tuple[int, Built]],
) -> list[Built]:
    """Rows about to create a customer that is probably one already there: linked to it or left out."""
    from kehu.dedup.check import Entered, likely_duplicates  # dedup builds on customers; this one read goes back

    kept: list[Built] = []
    for item in creating:
        found = likely_duplicates(actor, Entered.of(item.customer, item.points, item.places))
        if not found:
            kept.append(item)
            continue
        best = found[0]
        position = positions[id(item.row)]
        reasons = "、".join(best.reasons)
        if likely == LikelyPolicy.SKIP:
            outcomes[position] = _refused(
                item,
                gettext("probably customer %(id)s already (%(reasons)s); left out as chosen")
                % {"id": best.customer.public_id, "reasons": reasons},
            )
        elif not _changeable(actor, [best.customer.pk]):
            outcomes[position] = _refused(
                item, gettext("probably a customer you may not change; ask its owner or a manager")
            )
        else:
            item.customer.pk = best.customer.pk
            updates.append((position, item))
    return kept


def _identifying(item: Built) -> list[str]:
    """What identifies the person (as `identifying_indexes`): every contact value, external id, ID number."""
    return [*(point.value_index for point in item.points), *item.keys]


def _changeable(actor: User, ids: Iterable[int]) -> list[int]:
    from kehu.customers.selectors import customers_for_user

    return list(customers_for_user(actor, Action.CHANGE).filter(id__in=list(ids)).values_list("id", flat=True))


def _refused(item: Built, reason: str) -> ImportOutcome:
    field_name = "contact_points" if item.points else "external_id"
    return ImportOutcome(item.row.number, "failed", errors=[FieldError(field_name, reason)])


def _primaries(points: Sequence[ContactPoint], places: Sequence[Address]) -> None:
    """The first of each contact kind and the first address are primary, unless the row flagged others."""
    seen: set[str] = set()
    for point in points:
        point.is_primary = point.kind not in seen
        seen.add(point.kind)
    for index, place in enumerate(places):
        place.is_primary = index == 0


def _create(actor: User, creating: Sequence[Built]) -> None:
    if not creating:
        return
    for item in creating:
        _primaries(item.points, item.places)
    writer_for(Customer).insert_returning_ids([item.customer for item in creating])
    points: list[ContactPoint] = []
    places: list[Address] = []
    for item in creating:
        for point in item.points:
            point.customer = item.customer
            points.append(point)
        for place in item.places:
            place.customer = item.customer
            places.append(place)
    writer_for(ContactPoint).insert(points)
    writer_for(Address).insert(places)
    names = {name for item in creating for name in item.tags}
    if names:
        tags = _tags_by_name(actor, names)
        through = Customer.tags.through
        writer_for(through).insert(
            [through(customer_id=item.customer.pk, tag_id=tags[name].pk) for item in creating for name in item.tags]
        )
    index_write([(item.customer.pk, item.customer.search_document, scope_of(item.customer)) for item in creating])
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                event=AuditEvent.CUSTOMER_CREATED,
                target_type="customer",
                target_id=str(item.customer.public_id),
                customer_id=item.customer.pk,
                fields=[name for name, value in item.row.values.items() if value not in (None, "")],
                extra={
                    "import_batch": item.customer.import_batch,
                    "row": item.row.number,
                    "contact_points": len(item.points),
                    "addresses": len(item.places),
                    "tags": len(item.tags),
                },
            )
            for item in creating
        ],
    )


def _tags_by_name(actor: User, names: Iterable[str]) -> dict[str, Tag]:
    from kehu.customers.services import _tags_get_or_create

    return {tag.name: tag for tag in _tags_get_or_create(actor, sorted(names))}


def _blank(value: Any) -> bool:
    return value in (None, "")


def _update(actor: User, customer_id: int, item: Built, policy: str) -> ImportOutcome:
    """Apply a row to the customer it matched, by policy; one audit record names what changed."""
    number = item.row.number
    if policy == MatchPolicy.SKIP:
        return ImportOutcome(number, "unchanged", customer_id)
    customer = Customer.objects.prefetch_related("contact_points", "addresses", "tags").get(pk=customer_id)
    overwrite = policy == MatchPolicy.OVERWRITE
    changed: list[str] = []
    for name, value in _clean_scalars(item.row.values).items():
        if _blank(value) or name == "import_batch":
            continue
        current = getattr(customer, name)
        if current != value and (overwrite or _blank(current)):
            setattr(customer, name, value)
            changed.append(name)
    attributes = dict(customer.attributes)
    for key, value in item.customer.attributes.items():
        if attributes.get(key) != value and (overwrite or _blank(attributes.get(key))):
            attributes[key] = value
    if attributes != customer.attributes:
        customer.attributes = attributes
        changed.append("attributes")
    if changed:
        try:
            _validate_customer(customer)
        except ServiceValidationError as error:
            return ImportOutcome(number, "failed", customer_id, errors=error.errors)
        if "id_number" in changed:
            changed.append("id_number_index")
    held = {point.value_index for point in customer.contact_points.all()}
    new_points = [point for point in item.points if point.value_index not in held]
    existing_places = list(customer.addresses.all())
    new_places = [
        place
        for place in item.places
        if (not existing_places or overwrite) and not any(_same_place(place, other) for other in existing_places)
    ]
    held_tags = {tag.name for tag in customer.tags.all()}
    new_tags = [name for name in item.tags if name not in held_tags]
    if not (changed or new_points or new_places or new_tags):
        return ImportOutcome(number, "unchanged", customer_id)
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])
    kinds_held = {point.kind for point in customer.contact_points.all()}
    for point in new_points:
        point.customer = customer
        point.is_primary = point.kind not in kinds_held or overwrite
        kinds_held.add(point.kind)
        if point.is_primary:
            ContactPoint.objects.filter(customer=customer, kind=point.kind, is_primary=True).update(is_primary=False)
    ContactPoint.objects.bulk_create(new_points)
    for index, place in enumerate(new_places):
        place.customer = customer
        place.is_primary = (not existing_places and index == 0) or (overwrite and index == 0)
    if any(place.is_primary for place in new_places):
        Address.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    Address.objects.bulk_create(new_places)
    if new_tags:
        customer.tags.add(*_tags_by_name(actor, new_tags).values())
    if new_points or set(changed) & {"display_name", "family_name", "given_name", "company_name"}:
        points = list(ContactPoint.objects.filter(customer=customer))
        customer.search_document = document_for(customer, points)
        Customer.objects.filter(pk=customer.pk).update(search_document=customer.search_document)
        index_write([(customer.pk, customer.search_document, scope_of(customer))])
    fields = [*changed]
    fields += ["contact_points"] if new_points else []
    fields += ["addresses"] if new_places else []
    fields += ["tags"] if new_tags else []
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                event=AuditEvent.CUSTOMER_UPDATED,
                target_type="customer",
                target_id=str(customer.public_id),
                customer_id=customer.pk,
                fields=fields,
                extra={"import_batch": item.customer.import_batch, "row": number, "policy": policy},
            )
        ],
    )
    return ImportOutcome(number, "updated", customer_id)


def _same_place(one: Address, other: Address) -> bool:
    return all(getattr(one, name) == getattr(other, name) for name in ("province", "city", "district", "street"))
