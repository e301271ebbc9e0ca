"""Merging duplicate customers into one, and undoing a merge exactly.

A merge keeps one record, the survivor, and gives it each field's value from the record the person merging
picked, or by the survivorship rule (most complete record, most recently updated, most trusted source).
Every row that points at a merged record — contact points, addresses, orders, interactions, consents,
requests, child organisations, and whatever table points at customers next — moves to the survivor; tags
are added to it. The merged records are not deleted: they are marked `merged_into` and drop out of every
list and search (`customers_for_user`), so nothing about them is lost and the undo puts each moved row back.
A contact point or address the survivor already holds stays where it was instead of appearing twice.

Both run in one transaction with their audit records, and only for a user who may change (and archive,
since merged records leave the lists) every customer involved: otherwise nothing changes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext

from kehu.accounts.access import require, scope_q
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditEvent
from kehu.audit.services import AuditEntry, audit_record_many
from kehu.core.errors import FieldError, NotFoundError, ServiceValidationError
from kehu.customers.models import Address, ContactPoint, Customer
from kehu.customers.search_index import index_refresh
from kehu.customers.services import CUSTOMER_FIELDS, id_number_index
from kehu.dedup.models import DedupPolicy, GroupState, MatchGroup, Merge, NotSamePair, SurvivorRule

# The fields a merge chooses a value for: those a caller may set on a customer, and the parent organisation.
# The survivor keeps its own kind, provenance (source system, external id, import batch), owner and team; the
# merged records keep theirs, and a lookup by them leads to the survivor.
_SURVIVOR_KEEPS = {"kind", "source_system", "external_id", "import_batch"}
MERGE_FIELDS = (*(name for name in CUSTOMER_FIELDS if name not in _SURVIVOR_KEEPS), "parent")
# Relations a merge leaves alone: the dedup app's own bookkeeping, and the merge chain itself.
_UNMOVED_APPS = {"dedup"}
_UNMOVED_FIELDS = {"merged_into"}


# Below this, a machine's merge would too often join two people; people review such groups instead.
AUTO_MERGE_FLOOR = 0.9


def policy() -> DedupPolicy:
    """The administrator's settings, or the defaults while none were saved."""
    return DedupPolicy.objects.filter(pk=1).first() or DedupPolicy(pk=1)


@transaction.atomic
def policy_set(
    *,
    actor: User,
    auto_merge_threshold: float | None,
    rule: str,
    trusted_sources: str,
    learn_from_decisions: bool = True,
) -> DedupPolicy:
    """The administrator sets when groups merge without review (None: never), the survivorship rule, and whether
    searches learn from people's decisions."""
    require(actor, ObjectType.DEDUP_POLICY, Action.CHANGE)
    errors = []
    if auto_merge_threshold is not None and not AUTO_MERGE_FLOOR <= auto_merge_threshold <= 1:
        errors.append(
            FieldError(
                "auto_merge_threshold",
                gettext("is a match probability from %(floor)s to 1, or empty for never") % {"floor": AUTO_MERGE_FLOOR},
            )
        )
    if rule not in SurvivorRule.values:
        errors.append(FieldError("rule", gettext("is not a survivorship rule")))
    sources = ", ".join(name.strip().lower() for name in trusted_sources.split(",") if name.strip())
    if len(sources) > 300:
        errors.append(FieldError("trusted_sources", gettext("is longer than 300 characters")))
    if errors:
        raise ServiceValidationError(errors)
    current = policy()
    current.auto_merge_threshold = auto_merge_threshold
    current.rule = rule
    current.trusted_sources = sources
    current.learn_from_decisions = learn_from_decisions
    current.updated_by = actor
    current.save()
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                AuditEvent.DEDUP_POLICY_SET,
                "dedup_policy",
                "1",
                None,
                ("auto_merge_threshold", "rule", "trusted_sources", "learn_from_decisions"),
                {
                    "auto_merge_threshold": auto_merge_threshold,
                    "rule": rule,
                    "learn_from_decisions": learn_from_decisions,
                },
            )
        ],
    )
    return current


def _attname(name: str) -> str:
    return "parent_id" if name == "parent" else name


def _blank(value: Any) -> bool:
    return value in (None, "", {}, [])


def completeness(customer: Customer) -> int:
    """How many of the merge fields and custom fields a record fills: the 'most complete' rule's measure."""
    return sum(not _blank(getattr(customer, _attname(name))) for name in MERGE_FIELDS) + sum(
        not _blank(value) for value in customer.attributes.values()
    )


def _trust_rank(trusted: Sequence[str], customer: Customer) -> int:
    system = customer.source_system.strip().lower()
    return trusted.index(system) if system in trusted else len(trusted)


def preference(records: Sequence[Customer], rule: str, trusted: Sequence[str] = ()) -> list[Customer]:
    """The records in the order a rule consults them; the first with a value gives it (survivor first on ties)."""
    first = records[0]

    def updated(customer: Customer) -> float:
        return -customer.updated_at.timestamp()

    if rule == SurvivorRule.RECENT:
        key: Any = lambda c: (updated(c), c is not first)  # noqa: E731
    elif rule == SurvivorRule.TRUSTED:
        key = lambda c: (_trust_rank(trusted, c), updated(c), c is not first)  # noqa: E731
    else:
        key = lambda c: (c is not first, -completeness(c), updated(c))  # noqa: E731
    return sorted(records, key=key)


def resolve(
    records: Sequence[Customer], rule: str, picks: dict[str, Customer], trusted: Sequence[str] = ()
) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    """Each field's value for the survivor (records[0]), its custom fields, and which record gave each value."""
    order = preference(records, rule, trusted)
    values: dict[str, Any] = {}
    source: dict[str, int] = {}
    for name in MERGE_FIELDS:
        attname = _attname(name)
        giver = picks.get(name) or next((c for c in order if not _blank(getattr(c, attname))), records[0])
        values[attname] = getattr(giver, attname)
        source[name] = giver.pk
    attributes: dict[str, Any] = {}
    keys = dict.fromkeys(key for customer in order for key in customer.attributes)
    for key in keys:
        giver = picks.get(f"attributes.{key}") or next(c for c in order if not _blank(c.attributes.get(key)))
        if not _blank(giver.attributes.get(key)):
            attributes[key] = giver.attributes[key]
        source[f"attributes.{key}"] = giver.pk
    return values, attributes, source


def _json_value(value: Any) -> Any:
    # Not DjangoJSONEncoder: it cuts datetimes to milliseconds, and the undo must put back the exact value.
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    return value


def _row_state(instance: Model) -> dict[str, Any]:
    """Every column of a row as JSON values (full precision), to be put back by `_row_restore`."""
    return {
        field.attname: _json_value(field.value_from_object(instance))
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }


def _row_restore(model: type[Model], pk: int, state: dict[str, Any]) -> None:
    fields = {field.attname: field for field in model._meta.concrete_fields}
    values = {attname: None if value is None else fields[attname].to_python(value) for attname, value in state.items()}
    # A queryset update writes the values as they are: no auto_now, and encrypted columns encrypted again.
    model._base_manager.filter(pk=pk).update(**values)


def _moving_relations() -> list[Any]:
    """Every foreign key to Customer whose rows follow a customer into a merge."""
    found = []
    for relation in Customer._meta.related_objects:
        field = relation.field
        model = field.model
        if model._meta.app_label in _UNMOVED_APPS or field.name in _UNMOVED_FIELDS:
            continue
        if relation.many_to_many:
            raise NotImplementedError(f"{model.__name__}.{field.name}: teach the merge to move it")
        found.append(field)
    return found


def _check_scope(actor: User, ids: set[int], *, merged_ok: bool, archive: bool = True) -> list[Customer]:
    """The customers, locked, if the actor may change (and, to merge, archive) every one; NotFoundError
    otherwise, so that nothing changes."""
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    if archive:
        require(actor, ObjectType.CUSTOMER, Action.ARCHIVE)
    rows = Customer.objects.select_for_update().filter(scope_q(actor), pk__in=ids, erased_at__isnull=True)
    if not merged_ok:
        rows = rows.filter(merged_into__isnull=True)
    found = list(rows.order_by("pk"))
    if len(found) != len(ids):
        raise NotFoundError
    return found


def _same_value(point: Model, kept: list[Model]) -> bool:
    if isinstance(point, ContactPoint):
        return any(point.kind == other.kind and point.value_index == other.value_index for other in kept)  # type: ignore[attr-defined]
    if isinstance(point, Address):
        place = (point.province, point.city, point.district, point.street.strip())
        return any(place == (o.province, o.city, o.district, o.street.strip()) for o in kept)  # type: ignore[attr-defined]
    return False


@transaction.atomic
def customers_merge(
    *,
    actor: User,
    survivor: Customer,
    others: Sequence[Customer],
    rule: str | None = None,
    picks: dict[str, Customer] | None = None,
    group: MatchGroup | None = None,
    automatic: bool = False,
) -> Merge:
    """Merge `others` into `survivor`; `picks` maps a field ("birthday", "attributes.vip") to the record whose
    value it takes, and the rule (the administrator's by default) decides the rest."""
    ids = {survivor.pk, *(other.pk for other in others)}
    if len(ids) != 1 + len(others) or not others:
        raise ServiceValidationError.single("customers", gettext("choose at least two different customers"))
    locked = {customer.pk: customer for customer in _check_scope(actor, ids, merged_ok=False)}
    settings = policy()
    rule = rule or settings.rule
    if rule not in SurvivorRule.values:
        raise ServiceValidationError.single("rule", gettext("is not a survivorship rule"))
    picks = picks or {}
    for name, giver in picks.items():
        if giver.pk not in ids:
            raise ServiceValidationError.single(name, gettext("takes its value from one of the merged customers"))
        if name not in MERGE_FIELDS and not name.startswith("attributes."):
            raise ServiceValidationError.single(name, gettext("is not a field a merge chooses"))
    head = locked[survivor.pk]
    records = [head, *(locked[other.pk] for other in others)]
    merged_ids = [other.pk for other in others]
    values, attributes, source = resolve(
        records, rule, {name: locked[giver.pk] for name, giver in picks.items()}, settings.trusted()
    )
    snapshot: dict[str, Any] = {"survivor": _row_state(head), "moved": [], "demoted": [], "tags": []}
    if values["parent_id"] in ids:
        values["parent_id"] = head.parent_id if head.parent_id not in ids else None

    moved_counts: dict[str, int] = {}
    for field in _moving_relations():
        model = field.model
        pointing = model._base_manager.filter(**{f"{field.attname}__in": merged_ids})
        if model is Customer:
            pointing = pointing.exclude(pk__in=ids)
        rows: list[Model] = list(pointing.order_by("pk"))
        if model in (ContactPoint, Address):
            kept = list(model._base_manager.filter(**{field.attname: head.pk}))
            staying = []
            for row in rows:
                if _same_value(row, kept):
                    staying.append(row)  # the survivor already holds this value: it stays on the merged record
                else:
                    kept.append(row)
            rows = [row for row in rows if row not in staying]
        if not rows:
            continue
        label = model._meta.label
        snapshot["moved"].append(
            {"model": label, "field": field.attname, "rows": [[row.pk, getattr(row, field.attname)] for row in rows]}
        )
        model._base_manager.filter(pk__in=[row.pk for row in rows]).update(**{field.attname: head.pk})
        moved_counts[label] = len(rows)
    snapshot["demoted"] = _demote_extra_primaries(head, snapshot["moved"])

    own_tags = set(head.tags.values_list("pk", flat=True))
    added = sorted(
        set(Customer.tags.through.objects.filter(customer_id__in=merged_ids).values_list("tag_id", flat=True))
        - own_tags
    )
    head.tags.add(*added)
    snapshot["tags"] = added

    for attname, value in values.items():
        setattr(head, attname, value)
    head.attributes = attributes
    if head.id_number != snapshot["survivor"]["id_number"]:
        head.id_number_index = id_number_index(head.id_number)
    head.save()
    now = timezone.now()
    Customer.objects.filter(pk__in=merged_ids).update(merged_into=head, merged_at=now)

    group_state = None
    if group is not None:
        group_state = group.state
        group.state = GroupState.MERGED
        group.save(update_fields=["state"])
    snapshot["group_state"] = group_state
    merge = Merge.objects.create(
        survivor=head,
        group=group,
        rule=rule,
        choices={name: str(locked[pk].public_id) for name, pk in source.items()},
        automatic=automatic,
        snapshot=json.dumps(snapshot, ensure_ascii=False),
        created_by=actor,
    )
    merge.merged.set(merged_ids)
    index_refresh(Customer.objects.prefetch_related("contact_points").filter(pk__in=ids))
    before = snapshot["survivor"]
    changed = [name for name in MERGE_FIELDS if before[_attname(name)] != _json_value(getattr(head, _attname(name)))]
    if head.attributes != before["attributes"]:
        changed.append("attributes")
    extra = {"merge": str(merge.public_id), "rule": rule, "automatic": automatic, "moved": moved_counts}
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                AuditEvent.CUSTOMERS_MERGED,
                "customer",
                str(head.public_id),
                head.pk,
                tuple(changed),
                {**extra, "merged": [str(locked[pk].public_id) for pk in merged_ids]},
            ),
            *[
                AuditEntry(
                    AuditEvent.CUSTOMERS_MERGED,
                    "customer",
                    str(locked[pk].public_id),
                    pk,
                    ("merged_into",),
                    {**extra, "survivor": str(head.public_id)},
                )
                for pk in merged_ids
            ],
        ],
    )
    return merge


def _demote_extra_primaries(head: Customer, moved: list[dict[str, Any]]) -> list[list[Any]]:
    """One primary per contact kind and one primary address on the survivor: its own first; returns the
    [model, pk] of moved rows that stopped being primary, for the undo."""
    moved_ids = {entry["model"]: {row[0] for row in entry["rows"]} for entry in moved}
    demoted: list[list[Any]] = []
    for model, kind_of in ((ContactPoint, lambda row: row.kind), (Address, lambda row: "address")):
        label = model._meta.label
        seen: set[str] = set()
        # The survivor's own rows come first, so that its primaries stay primary.
        rows = sorted(
            model._base_manager.filter(customer_id=head.pk, is_primary=True),
            key=lambda row: (row.pk in moved_ids.get(label, set()), row.pk),
        )
        for row in rows:
            kind = kind_of(row)
            if kind in seen:
                demoted.append([label, row.pk])
            seen.add(kind)
        pks = [pk for name, pk in demoted if name == label]
        if pks:
            model._base_manager.filter(pk__in=pks).update(is_primary=False)
    return demoted


@transaction.atomic
def merge_undo(*, actor: User, merge: Merge) -> Merge:
    """Put everything back as it was before `merge`: the survivor's fields, every moved row, the primaries,
    the tags and the merged records. Rows added to the survivor since stay with it."""
    merge = Merge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise ServiceValidationError.single("merge", gettext("was already undone"))
    if not merge.snapshot:
        raise ServiceValidationError.single(
            "merge", gettext("cannot be undone: the person was erased since, and what undid it with them")
        )
    merged_ids = list(merge.merged.values_list("pk", flat=True))
    ids = {merge.survivor_id, *merged_ids}
    locked = {customer.pk: customer for customer in _check_scope(actor, ids, merged_ok=True)}
    head = locked[merge.survivor_id]
    if head.merged_into_id is not None:
        raise ServiceValidationError.single(
            "merge", gettext("the surviving customer was merged again since; undo that merge first")
        )
    if any(locked[pk].merged_into_id != head.pk for pk in merged_ids):
        raise ServiceValidationError.single("merge", gettext("the merged customers were changed since"))
    snapshot = json.loads(merge.snapshot)
    for entry in snapshot["moved"]:
        model = apps.get_model(entry["model"])
        back: dict[int, list[int]] = defaultdict(list)
        for pk, origin in entry["rows"]:
            back[origin].append(pk)
        for origin, pks in back.items():
            model._base_manager.filter(pk__in=pks, **{entry["field"]: head.pk}).update(**{entry["field"]: origin})
    for label, pk in snapshot["demoted"]:
        apps.get_model(label)._base_manager.filter(pk=pk).update(is_primary=True)
    head.tags.remove(*snapshot["tags"])
    _row_restore(Customer, head.pk, snapshot["survivor"])
    Customer.objects.filter(pk__in=merged_ids).update(merged_into=None, merged_at=None)
    if merge.group_id is not None and snapshot.get("group_state"):
        MatchGroup.objects.filter(pk=merge.group_id).update(state=snapshot["group_state"])
    merge.undone_at = timezone.now()
    merge.undone_by = actor
    merge.snapshot = ""  # what undid it is no longer kept
    merge.save(update_fields=["undone_at", "undone_by", "snapshot"])
    index_refresh(Customer.objects.prefetch_related("contact_points").filter(pk__in=ids))
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                AuditEvent.MERGE_UNDONE,
                "customer",
                str(locked[pk].public_id),
                pk,
                ("merged_into",) if pk != head.pk else (),
                {"merge": str(merge.public_id)},
            )
            for pk in sorted(ids)
        ],
    )
    return merge


def merges_forget(customer_ids: Sequence[int]) -> int:
    """After an erasure: the merges of these people keep no copy of their data, and can no longer be undone."""
    merges = Merge.objects.filter(undone_at__isnull=True).exclude(snapshot="")
    touched = merges.filter(survivor_id__in=customer_ids) | merges.filter(merged__in=customer_ids)
    return Merge.objects.filter(pk__in=touched.values("pk")).update(snapshot="")


@transaction.atomic
def group_dismiss(*, actor: User, group: MatchGroup) -> int:
    """Mark the customers of a group as different people: never suggested together again. Returns pairs."""
    members = sorted(_live_ids(group))
    locked = _check_scope(actor, set(members), merged_ok=False, archive=False)
    pairs = [(low, high) for index, low in enumerate(members) for high in members[index + 1 :]]
    existing = set(
        NotSamePair.objects.filter(customer_low__in=members, customer_high__in=members).values_list(
            "customer_low", "customer_high"
        )
    )
    NotSamePair.objects.bulk_create(
        NotSamePair(customer_low_id=low, customer_high_id=high, decided_by=actor)
        for low, high in pairs
        if (low, high) not in existing
    )
    group.state = GroupState.DISMISSED
    group.save(update_fields=["state"])
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(
                AuditEvent.DUPLICATES_DISMISSED,
                "customer",
                str(customer.public_id),
                customer.pk,
                (),
                {"group": group.pk, "customers": len(members)},
            )
            for customer in locked
        ],
    )
    return len(pairs)


def _live_ids(group: MatchGroup) -> list[int]:
    """The group's customers that are still live records (not merged into another since)."""
    return list(group.customers.filter(merged_into__isnull=True, erased_at__isnull=True).values_list("pk", flat=True))


@transaction.atomic
def group_skip(*, actor: User, group: MatchGroup) -> None:
    _check_scope(actor, set(_live_ids(group)), merged_ok=False, archive=False)
    group.state = GroupState.SKIPPED
    group.save(update_fields=["state"])
