"""Reads of duplicate groups and merges that the API and the review page share; all apply the user's scope.

A group is shown only to a user who may change every customer still in it (a group that spans two teams is
for someone who sees both), and only while two or more of its customers are live records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kehu.accounts.access import scope_q
from kehu.accounts.models import User
from kehu.accounts.roles import Action
from kehu.core.errors import NotFoundError
from kehu.customers.models import Address, ContactKind, ContactPoint, Customer
from kehu.customers.selectors import customers_for_user
from kehu.dedup.merge import MERGE_FIELDS, completeness
from kehu.dedup.models import GroupState, MatchGroup, MatchPair, Merge

# What each comparison of the model is called where people read it.
COMPARISON_LABELS = {
    "name": _("Name"),
    "phone": _("Phone"),
    "email": _("Email"),
    "company": _("Company"),
    "address": _("Address"),
    "birthday": _("Birthday"),
    "id_number": _("ID number"),
}


def groups_for_user(user: User, state: str | None = GroupState.OPEN) -> QuerySet[MatchGroup]:
    """Groups in `state` (any if None) whose live customers the user may all change, most confident first."""
    customers_for_user(user, Action.CHANGE)  # refuses a role that may not change customers
    live = Q(customers__merged_into__isnull=True, customers__erased_at__isnull=True)
    groups = MatchGroup.objects.all() if state is None else MatchGroup.objects.filter(state=state)
    groups = groups.annotate(live=Count("customers", filter=live)).filter(live__gte=2)
    if scope_q(user) != Q():
        # Through the group memberships (few), not the customers outside the scope (most of a large base).
        memberships = MatchGroup.customers.through.objects.filter(customer__merged_into__isnull=True)
        outside = memberships.exclude(scope_q(user, prefix="customer__")).values("matchgroup_id")
        groups = groups.exclude(pk__in=outside)
    return groups.order_by("-confidence", "id")


def group_get_for_user(user: User, group_id: int | str, state: str | None = GroupState.OPEN) -> MatchGroup:
    try:
        key = int(group_id)
    except (TypeError, ValueError):
        raise NotFoundError from None
    group = groups_for_user(user, state).filter(pk=key).first()
    if group is None:
        raise NotFoundError
    return group


@dataclass(frozen=True)
class FieldRow:
    """One line of the side-by-side view: a field's value in each record, and whether they agree."""

    name: str
    label: str
    values: list[str]
    agree: bool | None  # None when fewer than two records have a value


def _text(value: Any) -> str:
    return "" if value in (None, "", {}) else str(value)


def _contact_values(customer: Customer, kinds: tuple[str, ...]) -> list[ContactPoint]:
    return [point for point in customer.contact_points.all() if point.kind in kinds]


def group_members(user: User, group: MatchGroup) -> list[Customer]:
    """The group's live customers, fetched through scope, with what the side-by-side view shows and how many
    orders and interactions each has (counted one relation at a time: counting both in one join multiplies
    200 orders by 300 interactions)."""
    members = list(
        customers_for_user(user, Action.CHANGE)
        .filter(match_groups=group, erased_at__isnull=True)
        .select_related("owner", "parent")
        .prefetch_related("contact_points", "addresses", "tags")
        .order_by("created_at", "id")
    )
    ids = [member.pk for member in members]
    counts = {
        relation: dict(Customer.objects.filter(pk__in=ids).annotate(n=Count(relation)).values_list("pk", "n"))
        for relation in ("orders", "interactions")
    }
    for member in members:
        member.order_count = counts["orders"][member.pk]  # type: ignore[attr-defined]
        member.interaction_count = counts["interactions"][member.pk]  # type: ignore[attr-defined]
    return members


@dataclass(frozen=True)
class GroupReview:
    """What the review of a group shows, for the page and the API alike: the members (as the user may see
    them), the survivor kehu suggests, the side-by-side rows, and the scored pairs."""

    members: list[Customer]
    shown: dict[int, dict[str, Any]]
    survivor: Customer
    rows: list[FieldRow]
    pairs: list[dict[str, Any]]


def group_review(user: User, group: MatchGroup) -> GroupReview:
    from kehu.customers.rendering import customer_out, may_see_names

    members = group_members(user, group)
    names = may_see_names(user)
    shown = {member.pk: customer_out(member, names) for member in members}
    return GroupReview(
        members=members,
        shown=shown,
        survivor=suggested_survivor(members),
        rows=side_by_side(members, shown),
        pairs=group_pairs(group, members),
    )


Member = tuple[int, uuid.UUID, str]  # id, public id, name


def queue_members(user: User, groups: list[MatchGroup]) -> dict[int, list[Member]]:
    """Each listed group's live customers the user may change, in one query."""
    members: dict[int, list[Member]] = {group.pk: [] for group in groups}
    visible = customers_for_user(user, Action.CHANGE).filter(erased_at__isnull=True)
    rows = MatchGroup.customers.through.objects.filter(matchgroup_id__in=members, customer__in=visible)
    for group_id, customer_id, public_id, name in rows.values_list(
        "matchgroup_id", "customer_id", "customer__public_id", "customer__display_name"
    ).order_by("customer_id"):
        members[group_id].append((customer_id, public_id, name))
    return members


def queue_reasons(members: dict[int, list[Member]]) -> dict[int, list[dict[str, Any]]]:
    """The agreeing comparisons of each group's strongest pair among its live members, in one query."""
    live = {group_id: {member[0] for member in listed} for group_id, listed in members.items()}
    reasons: dict[int, list[dict[str, Any]]] = {}
    for pair in MatchPair.objects.filter(group_id__in=live).order_by("group_id", "-probability"):
        if pair.group_id in reasons or not {pair.customer_a_id, pair.customer_b_id} <= live[pair.group_id]:
            continue
        reasons[pair.group_id] = [item for item in _comparisons(pair) if item["agrees"]][:3]
    return reasons


def _agreement(values: list[str]) -> bool | None:
    present = [value for value in values if value]
    if len(present) < 2:
        return None
    return len(set(present)) == 1


def side_by_side(members: list[Customer], display: dict[int, dict[str, Any]]) -> list[FieldRow]:
    """The rows of the review view. `display` holds each member's values as the user may see them (masked);
    agreement is decided on the stored values, so that two masked phones that differ are shown to differ."""
    rows: list[FieldRow] = []
    fields = {field.name: field for field in Customer._meta.concrete_fields}
    for name in MERGE_FIELDS:
        attname = "parent_id" if name == "parent" else name
        stored = [_text(getattr(c, attname)) for c in members]
        if not any(stored):
            continue  # nobody has it: nothing to compare or choose
        choices = {str(key): str(label) for key, label in fields[name].flatchoices}
        if name == "parent":
            shown = [_text(c.parent.display_name if c.parent else "") for c in members]
        else:
            shown = [choices.get(value, value) for value in (_text(display[c.pk].get(name)) for c in members)]
        label = str(_("Parent organisation")) if name == "parent" else str(fields[name].verbose_name)
        rows.append(FieldRow(name=name, label=label, values=shown, agree=_agreement(stored)))
    for name, title, kinds in (
        ("phones", _("Phones"), (ContactKind.MOBILE, ContactKind.PHONE)),
        ("emails", _("Emails"), (ContactKind.EMAIL,)),
    ):
        points = [
            ", ".join(point["value"] for point in display[c.pk]["contact_points"] if point["kind"] in kinds)
            for c in members
        ]
        keys = [sorted(p.value_index for p in _contact_values(c, kinds)) for c in members]
        agree = None if sum(bool(k) for k in keys) < 2 else _overlap(keys)
        rows.append(FieldRow(name=name, label=str(title), values=points, agree=agree))
    addresses = [list(c.addresses.all()) for c in members]
    rows.append(
        FieldRow(
            name="addresses",
            label=str(_("Address")),
            values=[" / ".join(_place(a) for a in places) for places in addresses],
            agree=None
            if sum(bool(p) for p in addresses) < 2
            else _overlap([sorted(_place(a) for a in places) for places in addresses]),
        )
    )
    return rows


def _place(address: Address) -> str:
    return f"{address.province}{address.city}{address.district}"


def _overlap(keys: list[list[str]]) -> bool:
    """Whether every record that has values shares at least one with the first such record."""
    present = [set(k) for k in keys if k]
    return all(present[0] & other for other in present[1:])


def group_pairs(group: MatchGroup, members: list[Customer]) -> list[dict[str, Any]]:
    """The scored pairs among the live members, with each comparison's level and weight, strongest first."""
    ids = {member.pk: member for member in members}
    pairs = []
    for pair in MatchPair.objects.filter(group=group).order_by("-probability"):
        if pair.customer_a_id not in ids or pair.customer_b_id not in ids:
            continue
        pairs.append(
            {
                "a": ids[pair.customer_a_id],
                "b": ids[pair.customer_b_id],
                "probability": pair.probability,
                "weight": pair.weight,
                "comparisons": _comparisons(pair),
            }
        )
    return pairs


def _comparisons(pair: MatchPair) -> list[dict[str, Any]]:
    """A pair's comparisons as people read them (translated), strongest evidence first."""
    return [
        {
            "comparison": item["comparison"],
            "label": str(COMPARISON_LABELS.get(item["comparison"], item["comparison"])),
            "level": gettext(item["level"]),
            "weight": item["weight"],
            "agrees": item["weight"] > 0,
        }
        for item in sorted(pair.explanation, key=lambda item: -abs(item["weight"]))
    ]


def suggested_survivor(members: list[Customer]) -> Customer:
    """The record a merge keeps unless the person picks another: the one with the most history (orders and
    interactions), then the most complete, then the oldest — so that links and URLs people use keep working."""
    return min(
        members,
        key=lambda c: (
            -(getattr(c, "order_count", 0) + getattr(c, "interaction_count", 0)),
            -completeness(c),
            c.created_at,
            c.pk,
        ),
    )


def merges_for_user(user: User) -> QuerySet[Merge]:
    """Merges whose survivor the user may change, newest first."""
    customers_for_user(user, Action.CHANGE)
    merges = Merge.objects.select_related("survivor", "created_by", "undone_by")
    if scope_q(user) != Q():
        merges = merges.filter(survivor__in=Customer.objects.filter(scope_q(user)))
    return merges.order_by("-created_at", "-id")


def merge_get_for_user(user: User, public_id: uuid.UUID | str) -> Merge:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise NotFoundError from None
    merge = merges_for_user(user).filter(public_id=key).first()
    if merge is None:
        raise NotFoundError
    return merge
