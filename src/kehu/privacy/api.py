"""/api/v1: consent per customer, data-subject requests (export, erase), retention rules and report."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from kehu.accounts.access import require
from kehu.accounts.roles import Action, ObjectType
from kehu.core.api_support import ErrorOut, UtcDatetime, request_user
from kehu.core.exports import attachment
from kehu.customers import selectors as customer_selectors
from kehu.privacy import selectors, services
from kehu.privacy.models import Consent, SubjectRequest

router = Router(tags=["privacy"])
ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}

# Spelled out for the schema; test_privacy_api checks they match the model choices.
PurposeName = Literal[
    "marketing_email", "marketing_sms", "marketing_phone", "marketing_wechat", "profiling", "sharing", "sensitive"
]
BasisName = Literal["consent", "separate_consent", "contract", "legal_obligation", "vital_interest", "published"]
RequestKindName = Literal["access", "correction", "deletion", "withdrawal"]


class ConsentIn(Schema):
    purpose: PurposeName
    channel: str = Field("", max_length=20, description="email, sms, phone, wechat… or empty for every channel")
    legal_basis: BasisName = "consent"
    source: str = Field(min_length=1, max_length=100, description="where it was given: web form, call, paper form…")
    wording: str = Field(min_length=1, max_length=5000, description="the words the person agreed to")
    given_at: UtcDatetime | None = None


class ConsentWithdrawIn(Schema):
    purpose: PurposeName
    channel: str | None = Field(None, max_length=20, description="omit to withdraw on every channel")
    source: str = Field(min_length=1, max_length=100)


class ConsentOut(Schema):
    id: int
    purpose: str
    channel: str
    legal_basis: str
    source: str
    wording: str
    given_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawal_source: str
    active: bool


def _consent_out(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.pk,
        "purpose": consent.purpose,
        "channel": consent.channel,
        "legal_basis": consent.legal_basis,
        "source": consent.source,
        "wording": consent.wording,
        "given_at": consent.given_at,
        "withdrawn_at": consent.withdrawn_at,
        "withdrawal_source": consent.withdrawal_source,
        "active": consent.withdrawn_at is None,
    }


@router.get("/customers/{customer_id}/consents", response={200: list[ConsentOut], **ERRORS})
def consents_list(request: HttpRequest, customer_id: str) -> list[dict[str, Any]]:
    """Every consent given and withdrawn, newest first."""
    user = request_user(request)
    customer = customer_selectors.customer_get_for_user(user, customer_id)
    return [_consent_out(consent) for consent in selectors.consent_history(customer)]


@router.post("/customers/{customer_id}/consents", response={201: ConsentOut, **ERRORS})
def consents_give(request: HttpRequest, customer_id: str, payload: ConsentIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    customer = customer_selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    consent = services.consent_give(actor=user, customer=customer, **payload.dict())
    return Status(201, _consent_out(consent))


@router.post("/customers/{customer_id}/consents/withdraw", response={200: list[ConsentOut], **ERRORS})
def consents_withdraw(request: HttpRequest, customer_id: str, payload: ConsentWithdrawIn) -> list[dict[str, Any]]:
    user = request_user(request)
    customer = customer_selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    services.consent_withdraw(
        actor=user, customer=customer, purpose=payload.purpose, source=payload.source, channel=payload.channel
    )
    return [_consent_out(consent) for consent in selectors.consent_history(customer)]


# ---- data-subject requests ------------------------------------------------------------------------------------


class SubjectRequestIn(Schema):
    customer: uuid.UUID
    kind: RequestKindName
    received_through: str = Field(min_length=1, max_length=100)
    details: str = Field("", max_length=5000)
    received_at: UtcDatetime | None = None


class SubjectRequestCloseIn(Schema):
    status: Literal["completed", "rejected"]
    outcome: str = Field(min_length=1, max_length=5000)


class SubjectRequestOut(Schema):
    id: uuid.UUID
    customer: uuid.UUID | None
    kind: str
    status: str
    received_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    received_through: str
    details: str
    outcome: str
    closed_at: dt.datetime | None


def _request_out(item: SubjectRequest) -> dict[str, Any]:
    return {
        "id": item.public_id,
        "customer": item.customer.public_id if item.customer else None,
        "kind": item.kind,
        "status": item.status,
        "received_at": item.received_at,
        "due_at": item.due_at,
        "overdue": item.closed_at is None and item.due_at < dt.datetime.now(dt.UTC),
        "received_through": item.received_through,
        "details": item.details,
        "outcome": item.outcome,
        "closed_at": item.closed_at,
    }


@router.get("/subject-requests", response={200: list[SubjectRequestOut], **ERRORS})
def subject_requests_list(
    request: HttpRequest, status: Literal["", "open", "completed", "rejected"] = ""
) -> list[dict[str, Any]]:
    """The register, soonest deadline first."""
    requests = selectors.subject_requests_for_user(request_user(request))
    if status:
        requests = requests.filter(status=status)
    return [_request_out(item) for item in requests.order_by("due_at", "id")[:500]]


@router.post("/subject-requests", response={201: SubjectRequestOut, **ERRORS})
def subject_requests_open(request: HttpRequest, payload: SubjectRequestIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    require(user, ObjectType.SUBJECT_REQUEST, Action.CREATE)
    customer = customer_selectors.customer_get_for_user(user, payload.customer)
    item = services.subject_request_open(
        actor=user,
        customer=customer,
        kind=payload.kind,
        received_through=payload.received_through,
        details=payload.details,
        received_at=payload.received_at,
    )
    return Status(201, _request_out(item))


@router.get("/subject-requests/{request_id}", response={200: SubjectRequestOut, **ERRORS})
def subject_requests_get(request: HttpRequest, request_id: str) -> dict[str, Any]:
    return _request_out(selectors.subject_request_get_for_user(request_user(request), request_id))


@router.post("/subject-requests/{request_id}/close", response={200: SubjectRequestOut, **ERRORS})
def subject_requests_close(request: HttpRequest, request_id: str, payload: SubjectRequestCloseIn) -> dict[str, Any]:
    user = request_user(request)
    item = selectors.subject_request_get_for_user(user, request_id)
    return _request_out(
        services.subject_request_close(actor=user, request=item, status=payload.status, outcome=payload.outcome)
    )


@router.post("/subject-requests/{request_id}/export", response={200: None, **ERRORS})
def subject_requests_export(request: HttpRequest, request_id: str) -> HttpResponse:
    """The person's archive (data.json and CSV files, zipped) for an access request; completes the request."""
    user = request_user(request)
    item = selectors.subject_request_get_for_user(user, request_id)
    archive = services.subject_export(actor=user, request=item)
    return attachment(archive, file_format="zip", name=f"subject-{item.public_id}")


@router.post("/subject-requests/{request_id}/erase", response={200: SubjectRequestOut, **ERRORS})
def subject_requests_erase(request: HttpRequest, request_id: str) -> dict[str, Any]:
    """Carry out a deletion request: the person is anonymised everywhere; orders stay, anonymised."""
    user = request_user(request)
    item = selectors.subject_request_get_for_user(user, request_id)
    return _request_out(services.subject_erase(actor=user, request=item))


# ---- retention ---------------------------------------------------------------------------------------------------


class RetentionRuleIn(Schema):
    data_type: Literal["untouched_leads", "archived_customers", "interaction_text"]
    months: int = Field(ge=1, le=1200)
    action: Literal["flag", "anonymise"]
    active: bool = True


class RetentionReportOut(Schema):
    data_type: str
    months: int
    action: str
    candidates: int
    flagged: int
    due: int


@router.put("/retention/rules", response={200: RetentionRuleIn, **ERRORS})
def retention_rules_set(request: HttpRequest, payload: RetentionRuleIn) -> dict[str, Any]:
    rule = services.retention_rule_set(actor=request_user(request), **payload.dict())
    return {"data_type": rule.data_type, "months": rule.months, "action": rule.action, "active": rule.active}


@router.get("/retention/report", response={200: list[RetentionReportOut], **ERRORS})
def retention_report(request: HttpRequest) -> list[dict[str, Any]]:
    """What each active rule would flag or anonymise now, before anything is removed."""
    return [row.__dict__ for row in services.retention_report(actor=request_user(request))]
