"""/api/v1: duplicate searches, the review queue (merge, not the same, skip), merges and their undo, and the
administrator's policy. Customers appear masked as everywhere else (kehu.customers.rendering)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kehu.accounts.access import require
from kehu.accounts.roles import Action, ObjectType
from kehu.core.api_support import ErrorOut, request_user
from kehu.core.errors import ServiceValidationError
from kehu.customers.api import PossibleDuplicateOut
from kehu.customers.models import Customer
from kehu.customers.selectors import customer_get_for_user
from kehu.dedup import merge as merging
from kehu.dedup import selectors
from kehu.dedup.check import Entered, candidates_out, likely_duplicates
from kehu.dedup.models import DedupPolicy, GroupState, MatchGroup, Merge
from kehu.dedup.services import DEFAULT_THRESHOLD, dedup_start

router = Router(tags=["duplicates"])
ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
RuleName = Literal["complete", "recent", "trusted"]


class RunIn(Schema):
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.5, lt=1, description="match probability that joins a group")


class CheckContactIn(Schema):
    kind: Literal["mobile", "phone", "email", "wechat", "qq", "other"]
    value: str = Field(max_length=200)


class CheckAddressIn(Schema):
    raw: str = Field("", max_length=300)
    city: str = Field("", max_length=50)


class CheckIn(Schema):
    """What is being entered, in the shape of POST /customers; every part optional."""

    display_name: str = Field("", max_length=200)
    company_name: str = Field("", max_length=200)
    birthday: dt.date | None = None
    id_number: str = Field("", max_length=40)
    contact_points: list[CheckContactIn] = Field(default_factory=list, max_length=20)
    addresses: list[CheckAddressIn] = Field(default_factory=list, max_length=5)


class RunOut(Schema):
    job: uuid.UUID
    state: str


class ComparisonOut(Schema):
    comparison: str
    label: str
    level: str
    weight: float
    agrees: bool


class PairOut(Schema):
    a: uuid.UUID
    b: uuid.UUID
    probability: float
    weight: float
    comparisons: list[ComparisonOut]


class FieldRowOut(Schema):
    name: str
    label: str
    values: list[str]
    agree: bool | None


class GroupSummaryOut(Schema):
    id: int
    confidence: float
    size: int
    state: str
    customers: list[uuid.UUID]


class GroupOut(GroupSummaryOut):
    suggested_survivor: uuid.UUID
    members: list[dict[str, Any]]
    fields: list[FieldRowOut]
    pairs: list[PairOut]


class MergeIn(Schema):
    survivor: uuid.UUID | None = Field(None, description="the record to keep; kehu suggests one when left out")
    customers: list[uuid.UUID] | None = Field(None, description="the group's customers to merge; all when left out")
    picks: dict[str, uuid.UUID] = Field(
        default_factory=dict, description="field (or attributes.<key>) → the customer whose value it takes"
    )
    rule: RuleName | None = Field(None, description="for fields not picked; the administrator's rule when left out")


class CustomersMergeIn(Schema):
    survivor: uuid.UUID
    others: list[uuid.UUID] = Field(min_length=1, max_length=20)
    picks: dict[str, uuid.UUID] = Field(default_factory=dict)
    rule: RuleName | None = None


class MergeOut(Schema):
    id: uuid.UUID
    survivor: uuid.UUID
    merged: list[uuid.UUID]
    group: int | None
    rule: str
    choices: dict[str, str]
    automatic: bool
    created_at: dt.datetime
    undone_at: dt.datetime | None


class DecisionOut(Schema):
    id: int
    state: str


class PolicyIO(Schema):
    auto_merge_threshold: float | None = Field(None, description="merge groups at or above it without review")
    rule: RuleName = "complete"
    trusted_sources: str = Field("", max_length=300, description="source systems, most trusted first")
    learn_from_decisions: bool = Field(True, description="searches learn from merged and 'not the same' groups")


def _merge_out(merge: Merge) -> dict[str, Any]:
    return {
        "id": merge.public_id,
        "survivor": merge.survivor.public_id,
        "merged": list(merge.merged.values_list("public_id", flat=True)),
        "group": merge.group_id,
        "rule": merge.rule,
        "choices": merge.choices,
        "automatic": merge.automatic,
        "created_at": merge.created_at,
        "undone_at": merge.undone_at,
    }


def _policy_out(policy: DedupPolicy) -> dict[str, Any]:
    return {
        "auto_merge_threshold": policy.auto_merge_threshold,
        "rule": policy.rule,
        "trusted_sources": policy.trusted_sources,
        "learn_from_decisions": policy.learn_from_decisions,
    }


def _group_summary(group: MatchGroup, ids: list[uuid.UUID]) -> dict[str, Any]:
    return {"id": group.pk, "confidence": group.confidence, "size": len(ids), "state": group.state, "customers": ids}


@router.post("/dedup/check", response={200: list[PossibleDuplicateOut], **ERRORS})
def dedup_check(request: HttpRequest, payload: CheckIn) -> list[dict[str, Any]]:
    """Customers you may see that are probably the one being entered, with why — before it is saved."""
    user = request_user(request)
    place = payload.addresses[0] if payload.addresses else None
    entered = Entered(
        name=payload.display_name,
        company=payload.company_name,
        contacts=[(item.kind, item.value) for item in payload.contact_points],
        address=place.raw if place else "",
        city=place.city if place else "",
        birthday=payload.birthday,
        id_number=payload.id_number,
    )
    return candidates_out(user, likely_duplicates(user, entered))


@router.post("/dedup/runs", response={202: RunOut, **ERRORS})
def dedup_runs_start(request: HttpRequest, payload: RunIn) -> Status[dict[str, Any]]:
    job = dedup_start(actor=request_user(request), threshold=payload.threshold)
    return Status(202, {"job": job.public_id, "state": job.state})


@router.get("/dedup/groups", response={200: list[GroupSummaryOut], **ERRORS})
def dedup_groups_list(
    request: HttpRequest, state: Literal["open", "merged", "dismissed", "skipped"] = "open", limit: int = 50
) -> list[dict[str, Any]]:
    user = request_user(request)
    groups = list(selectors.groups_for_user(user, state)[: max(1, min(limit, 500))])
    members = selectors.queue_members(user, groups)
    return [_group_summary(group, [public_id for _pk, public_id, _name in members[group.pk]]) for group in groups]


@router.get("/dedup/groups/{group_id}", response={200: GroupOut, **ERRORS})
def dedup_groups_get(request: HttpRequest, group_id: int) -> dict[str, Any]:
    user = request_user(request)
    group = selectors.group_get_for_user(user, group_id, state=None)
    review = selectors.group_review(user, group)
    return {
        **_group_summary(group, [member.public_id for member in review.members]),
        "suggested_survivor": review.survivor.public_id,
        "members": [
            {**review.shown[m.pk], "orders": m.order_count, "interactions": m.interaction_count}  # type: ignore[attr-defined]
            for m in review.members
        ],
        "fields": [row.__dict__ for row in review.rows],
        "pairs": [{**pair, "a": pair["a"].public_id, "b": pair["b"].public_id} for pair in review.pairs],
    }


def _picked(user: Any, picks: dict[str, uuid.UUID], allowed: dict[uuid.UUID, Customer]) -> dict[str, Customer]:
    chosen = {}
    for name, public_id in picks.items():
        if public_id not in allowed:
            raise ServiceValidationError.single(f"picks.{name}", "is not one of the customers being merged")
        chosen[name] = allowed[public_id]
    return chosen


@router.post("/dedup/groups/{group_id}/merge", response={201: MergeOut, **ERRORS})
def dedup_groups_merge(request: HttpRequest, group_id: int, payload: MergeIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    require(user, ObjectType.CUSTOMER, Action.ARCHIVE)
    group = selectors.group_get_for_user(user, group_id)
    members = {member.public_id: member for member in selectors.group_members(user, group)}
    chosen = [members[key] for key in payload.customers] if payload.customers else list(members.values())
    if payload.customers and any(key not in members for key in payload.customers):
        raise ServiceValidationError.single("customers", "are not all in this group")
    survivor = members.get(payload.survivor) if payload.survivor else selectors.suggested_survivor(chosen)
    if survivor is None or survivor not in chosen:
        raise ServiceValidationError.single("survivor", "is not one of the customers being merged")
    merge = merging.customers_merge(
        actor=user,
        survivor=survivor,
        others=[member for member in chosen if member.pk != survivor.pk],
        rule=payload.rule,
        picks=_picked(user, payload.picks, {member.public_id: member for member in chosen}),
        group=group,
    )
    return Status(201, _merge_out(merge))


@router.post("/dedup/groups/{group_id}/not-same", response={200: DecisionOut, **ERRORS})
def dedup_groups_dismiss(request: HttpRequest, group_id: int) -> dict[str, Any]:
    user = request_user(request)
    group = selectors.group_get_for_user(user, group_id)
    merging.group_dismiss(actor=user, group=group)
    return {"id": group.pk, "state": GroupState.DISMISSED}


@router.post("/dedup/groups/{group_id}/skip", response={200: DecisionOut, **ERRORS})
def dedup_groups_skip(request: HttpRequest, group_id: int) -> dict[str, Any]:
    user = request_user(request)
    group = selectors.group_get_for_user(user, group_id)
    merging.group_skip(actor=user, group=group)
    return {"id": group.pk, "state": GroupState.SKIPPED}


@router.post("/dedup/merges", response={201: MergeOut, **ERRORS})
def customers_merge(request: HttpRequest, payload: CustomersMergeIn) -> Status[dict[str, Any]]:
    """Merge customers found any way (not only by a search); every one must be in the user's scope."""
    user = request_user(request)
    survivor = customer_get_for_user(user, payload.survivor, Action.CHANGE)
    others = [customer_get_for_user(user, key, Action.CHANGE) for key in payload.others]
    allowed = {customer.public_id: customer for customer in [survivor, *others]}
    merge = merging.customers_merge(
        actor=user, survivor=survivor, others=others, rule=payload.rule, picks=_picked(user, payload.picks, allowed)
    )
    return Status(201, _merge_out(merge))


@router.get("/dedup/merges", response={200: list[MergeOut], **ERRORS})
def dedup_merges_list(request: HttpRequest, limit: int = 50) -> list[dict[str, Any]]:
    merges = selectors.merges_for_user(request_user(request)).prefetch_related("merged")[: max(1, min(limit, 500))]
    return [_merge_out(merge) for merge in merges]


@router.post("/dedup/merges/{merge_id}/undo", response={200: MergeOut, **ERRORS})
def dedup_merges_undo(request: HttpRequest, merge_id: uuid.UUID) -> dict[str, Any]:
    user = request_user(request)
    merge = selectors.merge_get_for_user(user, merge_id)
    return _merge_out(merging.merge_undo(actor=user, merge=merge))


@router.get("/dedup/policy", response={200: PolicyIO, **ERRORS})
def dedup_policy_get(request: HttpRequest) -> dict[str, Any]:
    require(request_user(request), ObjectType.DEDUP_POLICY, Action.VIEW)
    return _policy_out(merging.policy())


@router.put("/dedup/policy", response={200: PolicyIO, **ERRORS})
def dedup_policy_put(request: HttpRequest, payload: PolicyIO) -> dict[str, Any]:
    return _policy_out(merging.policy_set(actor=request_user(request), **payload.dict()))
