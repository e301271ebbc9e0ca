"""Reads of consent, data-subject requests and tombstones that services, API, campaigns and analytics share."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from django.db.models import Exists, OuterRef, Q, QuerySet

from kehu.accounts.access import require, scope_q
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType, Role
from kehu.core.changes import parse_public_id
from kehu.core.errors import NotFoundError
from kehu.customers.models import Customer
from kehu.privacy.models import Consent, ConsentPurpose, ErasureTombstone, SubjectRequest


def erased_match(indexes: Sequence[str]) -> dt.datetime | None:
    """When a person holding one of these blind indexes was erased, or None."""
    if not indexes:
        return None
    return (
        ErasureTombstone.objects.filter(value_index__in=list(indexes))
        .order_by("erased_at")
        .values_list("erased_at", flat=True)
        .first()
    )


def erased_indexes(indexes: Sequence[str]) -> set[str]:
    """Which of these blind indexes belong to a person who was erased (one query for a whole import batch)."""
    if not indexes:
        return set()
    return set(ErasureTombstone.objects.filter(value_index__in=list(indexes)).values_list("value_index", flat=True))


def consent_history(customer: Customer) -> QuerySet[Consent]:
    return Consent.objects.filter(customer=customer).select_related("recorded_by").order_by("-given_at", "-id")


def consenting(customers: QuerySet[Customer], purpose: ConsentPurpose, channel: str = "") -> QuerySet[Customer]:
    """The customers with an active consent for `purpose` (for the channel, or for every channel).

    Campaigns filter their audience through this; analytics filter profiling (clusters, scores) through it.
    """
    active = Consent.objects.filter(customer=OuterRef("pk"), purpose=purpose, withdrawn_at__isnull=True)
    active = active.filter(Q(channel="") | Q(channel=channel)) if channel else active
    return customers.filter(Exists(active))


def profiling_allowed(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """Customers who may be profiled: profiling consent given and not withdrawn, and not erased (PIPL art. 24)."""
    return consenting(customers.filter(erased_at__isnull=True), ConsentPurpose.PROFILING)


def subject_requests_for_user(user: User) -> QuerySet[SubjectRequest]:
    """Requests the user may see: all for administrators; otherwise those about customers in scope or opened by them."""
    require(user, ObjectType.SUBJECT_REQUEST, Action.VIEW)
    requests = SubjectRequest.objects.select_related("customer", "opened_by", "closed_by")
    if user.role == Role.ADMIN:
        return requests
    in_scope = Customer.objects.filter(scope_q(user)).values("pk")
    return requests.filter(Q(customer__in=in_scope) | Q(opened_by=user))


def subject_request_get_for_user(user: User, public_id: uuid.UUID | str) -> SubjectRequest:
    request = subject_requests_for_user(user).filter(public_id=parse_public_id(public_id)).first()
    if request is None:
        raise NotFoundError
    return request
