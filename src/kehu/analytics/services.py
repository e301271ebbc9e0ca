"""The analytics run: features for every customer, RFM segments and classes, BG/NBD and Gamma-Gamma on the order
history, stored on each customer (`CustomerScore`) with the segment sizes of the run (`SegmentCount`).

Runs as a job (`kind="analytics"`): `kehu analytics run` in the terminal, the worker on demand or by schedule.
It reads no personal value (see `kehu.analytics.features`) and is audited once, with its counts.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.analytics.clv import BgNbd, FitError, GammaGamma, lifetime_value, summarise
from kehu.analytics.features import compute
from kehu.analytics.models import CustomerScore, SegmentCount
from kehu.analytics.rfm import rfm
from kehu.audit.models import AuditEvent
from kehu.audit.services import AuditEntry, audit_record_many
from kehu.core.jobs import JobContext, JobFailed, job_submit
from kehu.core.models import Job

WRITE_BATCH = 5_000
HORIZON_DAYS = 90
SCORE_FIELDS = (
    "computed_at",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "segment",
    "china_class",
    "probability_alive",
    "expected_purchases",
    "lifetime_value",
    "churn_risk",
)


def analytics_start(*, actor: User, as_of: dt.datetime | None = None) -> Job:
    """Queue an analytics run over the whole base, as things stood at `as_of` (default: when it runs)."""
    require(actor, ObjectType.ANALYTICS, Action.CREATE)
    params = {"as_of": as_of.isoformat()} if as_of else {}
    return job_submit(actor=actor, kind="analytics", params=params, title="analytics")


def _purchase_models(as_of: dt.datetime) -> dict[int, tuple[float, float, float]]:
    """customer id → (probability alive, expected purchases in 90 days, 12-month value) from the order history."""
    from kehu.commerce.models import Order, OrderStatus

    rows = list(
        Order.objects.filter(placed_at__lt=as_of)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by()
        .values_list("customer_id", "placed_at", "total")
        .iterator(chunk_size=20_000)
    )
    if not rows:
        return {}
    customers = np.array([row[0] for row in rows], dtype=np.int64)
    days = np.array([timezone.localtime(row[1]).date() for row in rows], dtype="datetime64[D]")
    amounts = np.array([float(row[2]) for row in rows])
    summary = summarise(customers, days, amounts, calibration_end=timezone.localtime(as_of).date())
    try:
        purchases = BgNbd.fit(summary.frequency, summary.recency, summary.T)
    except FitError:
        return {}
    alive = purchases.probability_alive(summary.frequency, summary.recency, summary.T)
    expected = purchases.expected_purchases(HORIZON_DAYS / 7, summary.frequency, summary.recency, summary.T)
    try:
        value = lifetime_value(purchases, GammaGamma.fit(summary.frequency, summary.monetary), summary)
    except FitError:
        value = np.full(len(alive), np.nan)
    return {
        int(customer): (float(a), float(e), float(v))
        for customer, a, e, v in zip(summary.customers, alive, expected, value, strict=True)
    }


def run_analytics(job: Job, context: JobContext) -> dict[str, Any]:
    actor = job.created_by
    if actor is None or not actor.is_active:
        raise JobFailed("the user who started this run no longer exists or was disabled")
    started = time.perf_counter()
    as_of = dt.datetime.fromisoformat(job.params["as_of"]) if job.params.get("as_of") else timezone.now()
    features = compute(as_of=as_of).to_pylist()
    context.commit(done=0, total=len(features))
    buyers = [row for row in features if row["orders"]]
    scores = rfm(
        np.array([row["recency_days"] for row in buyers], dtype=float),
        np.array([row["orders"] for row in buyers], dtype=float),
        np.array([row["revenue"] for row in buyers], dtype=float),
    )
    of_buyer = {row["customer_id"]: index for index, row in enumerate(buyers)}
    models = _purchase_models(as_of)
    rows = []
    for row in features:
        customer_id = row["customer_id"]
        index = of_buyer.get(customer_id)
        alive, expected, value = models.get(customer_id, (None, None, None))
        rows.append(
            CustomerScore(
                customer_id=customer_id,
                computed_at=as_of,
                recency_score=None if index is None else int(scores.recency_score[index]),
                frequency_score=None if index is None else int(scores.frequency_score[index]),
                monetary_score=None if index is None else int(scores.monetary_score[index]),
                segment="" if index is None else scores.segment[index],
                china_class="" if index is None else scores.china_class[index],
                probability_alive=alive,
                expected_purchases=expected,
                lifetime_value=None if value is None or np.isnan(value) else round(value, 2),
                churn_risk=None if alive is None else round(1 - alive, 4),
            )
        )
    for start in range(0, len(rows), WRITE_BATCH):
        batch = rows[start : start + WRITE_BATCH]
        with transaction.atomic():
            CustomerScore.objects.bulk_create(
                batch, update_conflicts=True, unique_fields=["customer"], update_fields=SCORE_FIELDS
            )
            context.commit(done=start + len(batch), total=len(rows))
    segments = Counter(scores.segment)
    classes = Counter(scores.china_class)
    summary = {
        "customers": len(rows),
        "with_orders": len(buyers),
        "segments": dict(sorted(segments.items())),
        "classes": dict(sorted(classes.items())),
        "lifetime_value_total": round(sum(r.lifetime_value or 0 for r in rows), 2),
        "seconds": round(time.perf_counter() - started, 1),
    }
    with transaction.atomic():
        SegmentCount.objects.bulk_create(
            [
                SegmentCount(job=job, computed_at=as_of, scheme=scheme, segment=name, customers=count)
                for scheme, counts in (("rfm", segments), ("china", classes))
                for name, count in sorted(counts.items())
            ]
        )
        audit_record_many(
            actor=actor,
            entries=[
                AuditEntry(
                    event=AuditEvent.ANALYTICS_RUN,
                    target_type="job",
                    target_id=str(job.public_id),
                    extra={"customers": len(rows), "with_orders": len(buyers)},
                )
            ],
        )
    return summary
