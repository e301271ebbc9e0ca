"""/api/v1: analytics runs (start one, follow it, read what it found) and a customer's latest scores."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kehu.accounts.access import require
from kehu.accounts.roles import Action, ObjectType
from kehu.analytics.models import CustomerScore
from kehu.analytics.rfm import CLASS_NAMES, SEGMENTS
from kehu.analytics.services import analytics_start
from kehu.core.api_support import ErrorOut, UtcDatetime, request_user
from kehu.core.errors import NotFoundError
from kehu.core.models import Job
from kehu.customers.selectors import customer_get_for_user

router = Router(tags=["analytics"])
ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
RUNS_LISTED = 50


class RunIn(Schema):
    as_of: UtcDatetime | None = Field(None, description="score as things stood at this moment (default: now)")
    clusters: int | None = Field(None, ge=2, le=12, description="clusters to form (default: best silhouette)")
    rfm_months: int | None = Field(None, ge=1, le=120, description="RFM over the last N months (default: all)")


class RunOut(Schema):
    job: uuid.UUID
    state: str


class RunSummaryOut(Schema):
    id: uuid.UUID
    state: str
    progress_done: int
    progress_total: int | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    customers: int | None = None
    with_orders: int | None = None
    error: str = ""


class RunDetailOut(RunSummaryOut):
    result: dict[str, Any] = Field(
        default_factory=dict,
        description="what the run found: segments, classes, buy_again, clusters, churn_rules, risk, cross_sell, "
        "validation, cohorts, repeat_rate, rfm_grid, acquisition",
    )


class RiskReasonOut(Schema):
    sign: str  # overdue, refunds, complaints, falling_spend
    points: float
    measured: float


class RecommendationOut(Schema):
    sku: str
    name: str
    score: float


class ScoreOut(Schema):
    computed_at: dt.datetime | None = Field(None, description="null: no analytics run has scored this customer")
    segment: str = ""
    segment_name: str = ""
    china_class: str = ""
    class_name: str = ""
    recency_score: int | None = None
    frequency_score: int | None = None
    monetary_score: int | None = None
    probability_alive: float | None = None
    expected_purchases: float | None = Field(None, description="in the next 90 days")
    lifetime_value: float | None = Field(None, description="expected over the next 12 months, CNY, discounted")
    churn_risk: float | None = Field(None, description="chance of no purchase in the next 90 days")
    risk_score: float | None = Field(None, description="0–100 (kehu.analytics.risk)")
    risk_reasons: list[RiskReasonOut] = Field(default_factory=list)
    cluster: int | None = None
    recommendations: list[RecommendationOut] = Field(default_factory=list)


def _run_out(job: Job, *, detail: bool = False) -> dict[str, Any]:
    result = job.result or {}
    out = {
        "id": job.public_id,
        "state": job.state,
        "progress_done": job.progress_done,
        "progress_total": job.progress_total,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "customers": result.get("customers"),
        "with_orders": result.get("with_orders"),
        "error": job.error or "",
    }
    if detail:
        out["result"] = result
    return out


@router.post("/analytics/runs", response={202: RunOut, **ERRORS})
def analytics_runs_start(request: HttpRequest, payload: RunIn) -> Status[dict[str, Any]]:
    job = analytics_start(
        actor=request_user(request), as_of=payload.as_of, clusters=payload.clusters, rfm_months=payload.rfm_months
    )
    return Status(202, {"job": job.public_id, "state": job.state})


@router.get("/analytics/runs", response={200: list[RunSummaryOut], **ERRORS})
def analytics_runs_list(request: HttpRequest) -> list[dict[str, Any]]:
    require(request_user(request), ObjectType.ANALYTICS, Action.VIEW)
    return [_run_out(job) for job in Job.objects.filter(kind="analytics").order_by("-created_at")[:RUNS_LISTED]]


@router.get("/analytics/runs/{job_id}", response={200: RunDetailOut, **ERRORS})
def analytics_runs_get(request: HttpRequest, job_id: uuid.UUID) -> dict[str, Any]:
    require(request_user(request), ObjectType.ANALYTICS, Action.VIEW)
    job = Job.objects.filter(kind="analytics", public_id=job_id).first()
    if job is None:
        raise NotFoundError(f"analytics run {job_id}")
    return _run_out(job, detail=True)


@router.get("/customers/{customer_id}/score", response={200: ScoreOut, **ERRORS})
def customer_score(request: HttpRequest, customer_id: uuid.UUID) -> dict[str, Any]:
    """The customer's latest scores; all null before an analytics run has scored them."""
    from kehu.commerce.models import Product

    customer = customer_get_for_user(request_user(request), customer_id)
    score = CustomerScore.objects.filter(customer=customer).first()
    if score is None:
        return {}
    products = {p.pk: p for p in Product.objects.filter(pk__in=[pk for pk, _ in score.recommendations])}
    return {
        "computed_at": score.computed_at,
        "segment": score.segment,
        "segment_name": str(SEGMENTS.get(score.segment, "")),
        "china_class": score.china_class,
        "class_name": str(CLASS_NAMES.get(score.china_class, "")),
        "recency_score": score.recency_score,
        "frequency_score": score.frequency_score,
        "monetary_score": score.monetary_score,
        "probability_alive": score.probability_alive,
        "expected_purchases": score.expected_purchases,
        "lifetime_value": score.lifetime_value,
        "churn_risk": score.churn_risk,
        "risk_score": score.risk_score,
        "risk_reasons": [{"sign": s, "points": p, "measured": m} for s, p, m in score.risk_reasons],
        "cluster": score.cluster,
        "recommendations": [
            {"sku": products[int(pk)].sku, "name": products[int(pk)].name, "score": value}
            for pk, value in score.recommendations
            if int(pk) in products
        ],
    }
