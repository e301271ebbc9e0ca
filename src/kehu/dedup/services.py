"""The duplicate search over the customers a user may change: read them into linkage records, score and group
them (`kehu.dedup.linkage`), store the groups for review, and write them out for evaluation.

Runs as a job (`kind="dedup"`): `kehu dedup run` in the terminal, the worker for the page. Pairs that a
person marked "not the same" are left out of every group. The run is audited with its counts; the stored
groups and pairs name customers by id and comparisons by level ("same phone"), never by value.
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from kehu.accounts.access import allows
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditEvent
from kehu.audit.services import AuditEntry, audit_record_many
from kehu.core.jobs import JobContext, JobFailed, job_submit
from kehu.core.models import Job
from kehu.customers.models import Address, ContactKind, ContactPoint, Customer
from kehu.customers.selectors import customers_for_user
from kehu.dedup.linkage import (
    Decisions,
    LinkageRecord,
    LinkResult,
    connected,
    level_of,
    link,
    linkage_record,
    records_table,
)
from kehu.dedup.merge import customers_merge, policy
from kehu.dedup.models import GroupState, MatchGroup, MatchPair, NotSamePair
from kehu.dedup.selectors import group_members, suggested_survivor

READ_BATCH = 5_000
DEFAULT_THRESHOLD = 0.7  # groups a person reviews; automatic merges will have a threshold of their own
PHONE_KINDS = (ContactKind.MOBILE, ContactKind.PHONE)
UNAUDITED = ("weight_histogram", "common_values", "untrained")  # the audit record keeps the counts


def dedup_start(*, actor: User, threshold: float = DEFAULT_THRESHOLD) -> Job:
    """Queue a duplicate search over the customers `actor` may change."""
    customers_for_user(actor, Action.CHANGE)  # refuses a role that may not change customers
    if not 0.5 <= threshold < 1:
        raise ValueError("the threshold is a probability from 0.5 to just under 1")
    return job_submit(actor=actor, kind="dedup", params={"threshold": threshold}, title="duplicates")


def _customers(actor: User) -> QuerySet[Customer]:
    return customers_for_user(actor, Action.CHANGE).filter(erased_at__isnull=True, archived_at__isnull=True)


CUSTOMER_VALUES = (
    "id",
    "display_name",
    "family_name",
    "given_name",
    "company_name",
    "birthday",
    "id_number_index",
    "external_id",
)


def _records(actor: User, context: JobContext, total: int) -> Iterator[LinkageRecord]:
    """Every customer in scope, read in batches by id (keyset), reporting progress as it goes.

    Values, not model instances: a million customers and their four million contact points and addresses are
    read (and decrypted) in about half the time that building their objects took."""
    base = _customers(actor).order_by("id").values_list(*CUSTOMER_VALUES)
    last, done = 0, 0
    while True:
        batch = list(base.filter(id__gt=last)[:READ_BATCH])
        if not batch:
            return
        ids = [row[0] for row in batch]
        phones: dict[int, list[str]] = defaultdict(list)
        emails: dict[int, list[str]] = defaultdict(list)
        points = ContactPoint.objects.filter(customer_id__in=ids, kind__in=(*PHONE_KINDS, ContactKind.EMAIL))
        for customer_id, kind, value in points.values_list("customer_id", "kind", "value"):
            (emails if kind == ContactKind.EMAIL else phones)[customer_id].append(value)
        place: dict[int, tuple[str, str, str, str]] = {}
        addresses = Address.objects.filter(customer_id__in=ids).order_by("customer_id", "-is_primary", "id")
        for customer_id, *parts in addresses.values_list("customer_id", "province", "city", "district", "street"):
            place.setdefault(customer_id, tuple(parts))  # type: ignore[arg-type]  # the primary, else the first
        for customer_id, name, family, given, company, birthday, id_key, external_id in batch:
            province, city, district, street = place.get(customer_id, ("", "", "", ""))
            yield linkage_record(
                customer_id,
                name=name,
                family=family,
                given=given,
                phones=phones.get(customer_id, ()),
                emails=emails.get(customer_id, ()),
                company=company,
                province=province,
                city=city,
                district=district,
                street=street,
                birthday=birthday.isoformat() if birthday else "",
                id_key=id_key,
                external_id=external_id,
            )
        last = ids[-1]
        done += len(batch)
        context.check_cancelled()
        context.commit(done=done, total=total)


def run_dedup(job: Job, context: JobContext) -> dict[str, Any]:
    actor = job.created_by
    if actor is None or not actor.is_active:
        raise JobFailed("the user who started this search no longer exists or was disabled")
    threshold = float(job.params.get("threshold", DEFAULT_THRESHOLD))
    started = time.perf_counter()
    total = _customers(actor).count()
    context.commit(done=0, total=total)
    records = list(_records(actor, context, total))
    if len(records) < 2:
        return _finish(job, actor, result=None, groups=[], records=len(records), seconds=time.perf_counter() - started)
    decisions = decisions_made() if policy().learn_from_decisions else None
    result = link(records_table(records), pair_floor=0.5, decisions=decisions)
    groups = _groups(result, threshold, _not_same({record.unique_id for record in records}))
    summary = _finish(
        job, actor, result=result, groups=groups, records=len(records), seconds=time.perf_counter() - started
    )
    if decisions is not None:
        summary["learnt"] = {
            "merged_pairs": len(decisions.confirmed),
            "decided_pairs": len(decisions.reviewed),
            "prior_shift_bits": round(result.prior_shift, 2),
        }
    summary["merged_automatically"] = _auto_merge(job, actor)
    return summary


def _auto_merge(job: Job, actor: User) -> int:
    """Merge the groups at or above the administrator's threshold, each by the survivorship rule, as the user
    who ran the search (whose scope and role apply); returns how many groups were merged."""
    threshold = policy().auto_merge_threshold
    if threshold is None or not allows(actor, ObjectType.CUSTOMER, Action.ARCHIVE):
        return 0
    merged = 0
    for group in MatchGroup.objects.filter(job=job, state=GroupState.OPEN, confidence__gte=threshold).order_by("id"):
        members = group_members(actor, group)
        if len(members) < 2:
            continue
        survivor = suggested_survivor(members)
        customers_merge(
            actor=actor,
            survivor=survivor,
            others=[member for member in members if member.pk != survivor.pk],
            group=group,
            automatic=True,
        )
        merged += 1
    return merged


def decisions_made() -> Decisions:
    """People's decisions on the groups of earlier searches: each pair of a merged group was the same person,
    each pair of a group marked "not the same" was not (only levels and weights: no values, no customers)."""
    decided = MatchPair.objects.filter(group__state__in=(GroupState.MERGED, GroupState.DISMISSED))
    decisions = Decisions()
    for weight, explanation, state in decided.values_list("weight", "explanation", "group__state").iterator():
        same = state == GroupState.MERGED
        decisions.reviewed.append((weight, same))
        if same:
            decisions.confirmed.append({reason["comparison"]: reason["level"] for reason in explanation})
    return decisions


def _not_same(ids: set[int]) -> set[tuple[int, int]]:
    return {
        (low, high)
        for low, high in NotSamePair.objects.values_list("customer_low", "customer_high")
        if low in ids and high in ids
    }


def _groups(result: LinkResult, threshold: float, excluded: set[tuple[int, int]]) -> list[dict[str, Any]]:
    """Connected customers over pairs at or above `threshold`, without the pairs people said are different."""
    kept = [
        pair
        for pair in result.pairs.to_pylist()
        if pair["match_probability"] >= threshold
        and (min(pair["unique_id_l"], pair["unique_id_r"]), max(pair["unique_id_l"], pair["unique_id_r"]))
        not in excluded
    ]
    group_of = connected((int(pair["unique_id_l"]), int(pair["unique_id_r"])) for pair in kept)
    members: dict[int, list[int]] = defaultdict(list)
    for customer_id, key in group_of.items():
        members[key].append(customer_id)
    inside: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for pair in kept:
        inside[group_of[int(pair["unique_id_l"])]].append(pair)
    return [
        {
            "customers": sorted(members[key]),
            "confidence": min(p["match_probability"] for p in inside[key]),
            "pairs": [_explained(p, result.reasons) for p in inside[key]],
        }
        for key in members
    ]


def _explained(pair: dict[str, Any], reasons: dict[str, list[tuple[str, float]]]) -> dict[str, Any]:
    explanation = []
    for comparison, levels in reasons.items():
        weight = pair.get(f"mw_{comparison}")
        if weight is None or weight == 0:
            continue  # a value missing on either side says nothing
        tf = pair.get(f"mw_tf_adj_{comparison}") or 0.0
        explanation.append(
            {"comparison": comparison, "level": level_of(levels, weight), "weight": round(weight + tf, 2)}
        )
    return {
        "a": int(pair["unique_id_l"]),
        "b": int(pair["unique_id_r"]),
        "probability": float(pair["match_probability"]),
        "weight": float(pair["match_weight"]),
        "explanation": explanation,
    }


def _finish(
    job: Job, actor: User, *, result: LinkResult | None, groups: list[dict[str, Any]], records: int, seconds: float
) -> dict[str, Any]:
    """Replace the open groups of earlier searches with these, audit the search, and say what it found."""
    with transaction.atomic():
        MatchGroup.objects.filter(state=GroupState.OPEN).exclude(job=job).filter(job__created_by=actor).delete()
        for found in groups:
            group = MatchGroup.objects.create(job=job, confidence=found["confidence"], size=len(found["customers"]))
            group.customers.set(found["customers"])
            MatchPair.objects.bulk_create(
                MatchPair(
                    group=group,
                    customer_a_id=pair["a"],
                    customer_b_id=pair["b"],
                    probability=pair["probability"],
                    weight=pair["weight"],
                    explanation=pair["explanation"],
                )
                for pair in found["pairs"]
            )
        summary = {
            "customers": records,
            "pairs_scored": result.comparisons_scored if result else 0,
            "groups": len(groups),
            "customers_in_groups": sum(len(group["customers"]) for group in groups),
            "weight_histogram": result.weight_histogram if result else [],
            # rule → values shared by more than BLOCK_MAX customers ("info" before an @): no sign of one person
            "common_values": result.common_values if result else {},
            # training sessions splink could not finish (a block where no duplicate shows some level)
            "untrained": result.untrained if result else [],
            "seconds": round(seconds, 1),
        }
        audit_record_many(
            actor=actor,
            entries=[
                AuditEntry(
                    event=AuditEvent.DUPLICATES_SEARCHED,
                    target_type="job",
                    target_id=str(job.public_id),
                    extra={key: value for key, value in summary.items() if key not in UNAUDITED},
                )
            ],
        )
    return summary


def groups_csv(job: Job, path: Path) -> int:
    """Every group of a search as CSV rows (customer external id, group id, match probability); returns rows.

    A customer's probability is the highest of the pairs that put it in its group; a customer without an
    external id is named by its public id."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "group_id", "match_probability"])
        for group in MatchGroup.objects.filter(job=job).prefetch_related("customers", "pairs").order_by("id"):
            best: dict[int, float] = defaultdict(float)
            for pair in group.pairs.all():
                for customer_id in (pair.customer_a_id, pair.customer_b_id):
                    best[customer_id] = max(best[customer_id], pair.probability)
            for customer in sorted(group.customers.all(), key=lambda c: c.pk):
                writer.writerow([customer.external_id or str(customer.public_id), group.pk, f"{best[customer.pk]:.6f}"])
                rows += 1
    return rows
