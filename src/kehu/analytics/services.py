"""The analytics run: features for every customer, RFM segments and classes, BG/NBD (or its two-class form, where
the order history supports it: `clv.PurchaseModels`) and Gamma-Gamma on the order history, who buys again
within 90 days by the better of BG/NBD and gradient boosting (measured on the 90 days before the run,
`kehu.analytics.propensity`), stored on each customer (`CustomerScore`) with the segment sizes of the run
(`SegmentCount`) and the models' comparison in the job's result.

Runs as a job (`kind="analytics"`): `kehu analytics run` in the terminal, the worker on demand or by schedule.
It reads no personal value (see `kehu.analytics.features`) and is audited once, with its counts.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop
from numpy.typing import NDArray

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType, Role
from kehu.analytics.clusters import CLUSTER_FEATURES, Clustering, churn_rules, cluster
from kehu.analytics.clv import Array, FitError, GammaGamma, fit_purchase_models, lifetime_value, summarise
from kehu.analytics.crosssell import LEARNT, Evaluation, ItemToItem, LearntRanking, Lines, association_rules, evaluate
from kehu.analytics.features import Features
from kehu.analytics.kpis import cohorts, repeat_rate
from kehu.analytics.models import BasketRule, CustomerScore, MarketingSpend, SegmentCount
from kehu.analytics.propensity import Comparison, Log, Snapshots, buy_probability, compare
from kehu.analytics.rfm import Rfm, rfm
from kehu.analytics.risk import FLAG_AT, SIGNS, Risk, risk
from kehu.audit.models import AuditEvent
from kehu.audit.services import AuditEntry, audit_record_many
from kehu.core.jobs import JobContext, JobFailed, job_submit
from kehu.core.models import Job

logger = logging.getLogger(__name__)
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
    "recommendations",
    "cluster",
    "risk_score",
    "risk_reasons",
)
MIN_GROUP = 5  # a persona names an age band or a province only when at least this many customers share it
AGE_BANDS = ((0, "<25"), (25, "25–34"), (35, "35–44"), (45, "45–54"), (55, "55+"))
TREE_RULES_KEPT = 8
VALIDATION_DAYS = 182  # the run checks its purchase model on the last half year, fitted on what came before
RECOMMENDATIONS = 10
MAX_RULES = 200  # per level, strongest lift first
# features of the supervised model beside the purchase log's, as they stood on each cut-off day
EXTRA_FEATURES = (
    ("refund_rate", gettext_noop("refund rate")),
    ("overdue_rate", gettext_noop("overdue rate")),
    ("categories", gettext_noop("categories bought")),
    ("top_channel_share", gettext_noop("share of the main channel")),
    ("contacts", gettext_noop("contacts")),
    ("contacts_90d", gettext_noop("contacts in the last 90 days")),
    ("last_contact_days", gettext_noop("days since the last contact")),
    ("satisfaction", gettext_noop("satisfaction")),
)


def analytics_start(
    *,
    actor: User,
    as_of: dt.datetime | None = None,
    clusters: int | None = None,
    rfm_months: int | None = None,
) -> Job:
    """Queue an analytics run over the whole base, as things stood at `as_of` (default: when it runs), forming
    `clusters` clusters (default: the number with the best silhouette), with RFM over the last `rfm_months`
    months (default: the whole history)."""
    require(actor, ObjectType.ANALYTICS, Action.CREATE)
    params: dict[str, Any] = {"as_of": as_of.isoformat()} if as_of else {}
    if clusters:
        params["clusters"] = clusters
    if rfm_months:
        params["rfm_months"] = rfm_months
    return job_submit(actor=actor, kind="analytics", params=params, title="analytics")


def analytics_nightly_due(now: dt.datetime | None = None) -> Job | None:
    """Queue tonight's run if its time (`KEHU_ANALYTICS_NIGHTLY_AT`) has come today and none was queued for today
    yet; the worker asks every round. Several workers queue it once: the check and the queueing hold a lock on the
    acting user's row. Returns the job queued, if any."""
    from django.conf import settings

    at = settings.KEHU_ANALYTICS_NIGHTLY_AT
    if at == "off":
        return None
    local = timezone.localtime(now or timezone.now())
    hour, minute = (int(part) for part in at.split(":"))
    due = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if local < due:
        return None
    users = User.objects.filter(is_active=True)
    actor = (
        users.filter(username=settings.KEHU_ANALYTICS_NIGHTLY_AS).first()
        if settings.KEHU_ANALYTICS_NIGHTLY_AS
        else users.filter(role=Role.ADMIN).order_by("pk").first()
    )
    if actor is None:
        logger.warning("nightly analytics: no active user to run it as (KEHU_ANALYTICS_NIGHTLY_AS)")
        return None
    night = due.date().isoformat()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.pk).first()
        if Job.objects.filter(kind="analytics", params__nightly=night).exists():
            return None
        require(actor, ObjectType.ANALYTICS, Action.CREATE)
        return job_submit(actor=actor, kind="analytics", params={"nightly": night}, title="analytics (nightly)")


def spend_set(*, actor: User, channel: str, month: dt.date, amount: Decimal) -> MarketingSpend:
    """Record what `channel` cost in `month` (replacing what was entered for that month before)."""
    from kehu.core.errors import FieldError, ServiceValidationError
    from kehu.customers.models import SourceChannel

    require(actor, ObjectType.MARKETING_SPEND, Action.CREATE)
    if channel not in SourceChannel.values:
        raise ServiceValidationError([FieldError("channel", f"{channel!r} is not a source channel")])
    if amount < 0:
        raise ServiceValidationError([FieldError("amount", "cannot be negative")])
    spend, _created = MarketingSpend.objects.update_or_create(
        channel=channel, month=month.replace(day=1), defaults={"amount": amount, "entered_by": actor}
    )
    return spend


def _day_end(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))


def _local_days(stamps: Any) -> NDArray[np.datetime64]:
    """UTC timestamps (Arrow) as the days they fell on in kehu's time zone."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]
    from django.conf import settings

    local = pc.local_timestamp(stamps.cast(pa.timestamp("us", tz=settings.TIME_ZONE)))
    return np.asarray(local.cast(pa.date32()).to_numpy(zero_copy_only=False), dtype="datetime64[D]")


def _orders_read(sql: str, columns: tuple[str, ...], as_of: dt.datetime) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    from kehu.analytics.reader import read_arrow

    table = read_arrow(
        sql,
        columns,
        {
            "placed_at": pa.timestamp("us", tz="UTC"),
            "total": pa.float64(),
            "unit_price": pa.float64(),
            "category": pa.string(),
        },
    )
    moment = pa.scalar(as_of.astimezone(dt.UTC).replace(tzinfo=None), pa.timestamp("us")).cast(
        pa.timestamp("us", tz="UTC")
    )
    return table.filter(pc.less(table.column("placed_at"), moment))


def _purchase_log(as_of: dt.datetime) -> Log | None:
    from kehu.commerce.models import OrderStatus

    table = _orders_read(
        "SELECT customer_id, placed_at, CAST(total AS DOUBLE PRECISION) AS total FROM commerce_order "  # noqa: S608
        f"WHERE status <> '{OrderStatus.CANCELLED.value}'",  # the status is a constant of kehu's
        ("customer_id", "placed_at", "total"),
        as_of,
    )
    if not table.num_rows:
        return None
    return Log(
        customers=table.column("customer_id").to_numpy(),
        days=_local_days(table.column("placed_at")),
        amounts=table.column("total").to_numpy(zero_copy_only=False).astype(np.float64),
    )


def _order_lines(as_of: dt.datetime) -> Lines | None:
    from kehu.commerce.models import OrderStatus

    table = _orders_read(
        "SELECT l.order_id, o.customer_id, o.placed_at, l.product_id, p.category, "  # noqa: S608
        "CAST(l.unit_price AS DOUBLE PRECISION) AS unit_price FROM commerce_orderline l "
        "JOIN commerce_order o ON o.id = l.order_id JOIN commerce_product p ON p.id = l.product_id "
        f"WHERE o.status <> '{OrderStatus.CANCELLED.value}'",  # the status is a constant of kehu's
        ("order_id", "customer_id", "placed_at", "product_id", "category", "unit_price"),
        as_of,
    )
    if not table.num_rows:
        return None
    return Lines(
        orders=table.column("order_id").to_numpy(),
        customers=table.column("customer_id").to_numpy(),
        days=_local_days(table.column("placed_at")),
        products=table.column("product_id").to_numpy(),
        categories=np.array(table.column("category").fill_null("").to_pylist(), dtype=np.str_),
        prices=table.column("unit_price").to_numpy(zero_copy_only=False).astype(np.float64),
    )


def _cross_sell(
    lines: Lines, day: dt.date, customers: NDArray[np.int64], beat: Callable[[], None]
) -> tuple[dict[int, list[list[float]]], list[BasketRule], Evaluation | None]:
    """Per customer the products to offer, the basket rules by product and by category (not yet tied to a job),
    and how item-to-item recommendations and the learnt ranking did against popularity on the last 90 days: the
    lists offered are those of whichever of the two found more then. `beat` keeps the job's heartbeat fresh
    between the parts (each takes a minute or two on a million customers)."""
    evaluation = evaluate(lines, day - dt.timedelta(days=HORIZON_DAYS), HORIZON_DAYS, RECOMMENDATIONS)
    beat()
    learnt = LearntRanking.fit(lines, day, HORIZON_DAYS) if evaluation and evaluation.chosen == LEARNT else None
    beat()
    if learnt is not None:
        chosen, scores = learnt.recommend(customers, RECOMMENDATIONS)
    else:
        chosen, scores = ItemToItem(lines.customers, lines.products).recommend(customers, RECOMMENDATIONS)
    offers = {
        int(customer): [[int(p), round(float(v), 4)] for p, v in zip(products, values, strict=True) if p >= 0]
        for customer, products, values in zip(customers, chosen, scores, strict=True)
    }
    beat()
    rules = []
    with_category = lines.categories != ""
    for level, baskets, items in (
        ("product", lines.orders, lines.products.astype(np.str_)),
        ("category", lines.orders[with_category], lines.categories[with_category]),
    ):
        for rule in association_rules(baskets, items)[:MAX_RULES]:
            rules.append(
                BasketRule(
                    level=level,
                    antecedent="|".join(rule.antecedent),
                    consequent="|".join(rule.consequent),
                    support=rule.support,
                    confidence=rule.confidence,
                    lift=rule.lift,
                    baskets=rule.baskets,
                )
            )
    return offers, rules, evaluation


def _purchase_models(log: Log, as_of: dt.date) -> dict[int, tuple[float, float, float]]:
    """customer id → (probability alive, expected purchases in 90 days, 12-month value) from the order history."""
    summary = summarise(log.customers, log.days, log.amounts, calibration_end=as_of)
    try:
        purchases = fit_purchase_models(summary.frequency, summary.recency, summary.T).chosen
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


class _FeaturesOn:
    """The customers' features as they stood at the end of a day, computed once per day (`propensity.Extra`)."""

    def __init__(self, features_of: Features) -> None:
        self._features_of = features_of
        self._days: dict[dt.date, tuple[NDArray[np.int64], Array]] = {}

    def __call__(self, day: dt.date, customers: NDArray[np.int64]) -> tuple[Array, tuple[str, ...]]:
        if day not in self._days:
            table = self._features_of(as_of=_day_end(day))  # ordered by customer id
            ids = table.column("customer_id").to_numpy()
            values = np.column_stack(
                [table.column(key).to_numpy(zero_copy_only=False).astype(np.float64) for key, _ in EXTRA_FEATURES]
            )  # nulls become NaN
            self._days[day] = ids, values
        ids, values = self._days[day]
        aligned = np.full((len(customers), len(EXTRA_FEATURES)), np.nan)
        if len(ids):
            found = np.minimum(np.searchsorted(ids, customers), len(ids) - 1)
            known = ids[found] == customers
            aligned[known] = values[found[known]]
        return aligned, tuple(name for _, name in EXTRA_FEATURES)


def _buy_again(
    log: Log, as_of: dt.date, features_of: Features
) -> tuple[dict[int, float], Comparison, list[dict[str, Any]]]:
    """customer id → probability of buying within 90 days, by the model that ranked the last 90 days better; the
    comparison; and the rules a tree reads out of who did not buy in those 90 days."""
    shots = Snapshots(log, HORIZON_DAYS, _FeaturesOn(features_of))
    evaluated_from = as_of - dt.timedelta(days=HORIZON_DAYS)
    comparison = compare(shots, evaluated_from)
    customers, probability = buy_probability(shots, as_of, comparison.chosen)
    then = shots(evaluated_from)
    rules = [
        {"conditions": [[name, op, round(value, 4)] for name, op, value in rule.conditions],
         "customers": rule.customers, "share": round(rule.share, 4)}
        for rule in churn_rules(then.X, then.names, then.bought)[:TREE_RULES_KEPT]
    ]  # fmt: skip
    return {int(c): float(p) for c, p in zip(customers, probability, strict=True)}, comparison, rules


def _age_band(birthday: dt.date | None, on: dt.date) -> str | None:
    if birthday is None:
        return None
    age = on.year - birthday.year - ((on.month, on.day) < (birthday.month, birthday.day))
    return [name for low, name in AGE_BANDS if age >= low][-1]


def _share(counter: Counter[Any], total: int, *, least: int = 1) -> list[Any]:
    """The most common value and its share of `total` ([None, 0] when none is shared by `least`)."""
    if not counter:
        return [None, 0.0]
    value, count = counter.most_common(1)[0]
    return [value, round(count / total, 4)] if count >= least and total else [None, 0.0]


def _personas(
    clustering: Clustering,
    buyers: list[dict[str, Any]],
    on: dt.date,
    offers: dict[int, list[list[float]]],
    scores: dict[int, tuple[float | None, float | None]],
) -> list[dict[str, Any]]:
    """Per cluster the portrait people ask for: how many, what kind, age band, region, what and where they buy,
    what to offer them, and their churn risk and expected value. Birthdays and provinces are read for these
    counts only (nothing per customer is kept), and a band or province is named only when `MIN_GROUP` share it."""
    from kehu.customers.models import Address, Customer

    ids = [row["customer_id"] for row in buyers]
    of = {customer: clustering.labels[i] for i, customer in enumerate(ids)}
    kinds: list[Counter[Any]] = [Counter() for _ in range(clustering.k)]
    types: list[Counter[Any]] = [Counter() for _ in range(clustering.k)]
    ages: list[Counter[Any]] = [Counter() for _ in range(clustering.k)]
    regions: list[Counter[Any]] = [Counter() for _ in range(clustering.k)]
    for start in range(0, len(ids), WRITE_BATCH):
        part = ids[start : start + WRITE_BATCH]
        for customer, kind, kind_of_business, birthday in Customer.objects.filter(pk__in=part).values_list(
            "pk", "kind", "customer_type", "birthday"
        ):
            group = of[customer]
            kinds[group][kind] += 1
            types[group][kind_of_business or ""] += 1
            band = _age_band(birthday if isinstance(birthday, dt.date) else None, on)
            if band:
                ages[group][band] += 1
        for customer, province in Address.objects.filter(customer_id__in=part, is_primary=True).values_list(
            "customer_id", "province"
        ):
            if province:
                regions[of[customer]][province] += 1
    in_group: list[list[dict[str, Any]]] = [[] for _ in range(clustering.k)]
    for row, label in zip(buyers, clustering.labels, strict=True):
        in_group[label].append(row)
    personas = []
    for group in range(clustering.k):
        members = in_group[group]
        total = len(members)
        categories = Counter(row["top_category"] for row in members if row["top_category"])
        channels = Counter(row["top_channel"] for row in members if row["top_channel"])
        first_offer = Counter(offers[row["customer_id"]][0][0] for row in members if offers.get(row["customer_id"]))
        churn = [risk for row in members if (risk := scores[row["customer_id"]][0]) is not None]
        value = [worth for row in members if (worth := scores[row["customer_id"]][1]) is not None]
        personas.append(
            {
                "cluster": group,
                "customers": total,
                "share": round(total / len(buyers), 4),
                "words": clustering.words[group],
                "centre": [round(float(v), 3) for v in clustering.centres[group]],
                "organisations": round(kinds[group]["organization"] / total, 4),
                "customer_type": _share(types[group], total),
                "age_band": _share(ages[group], sum(ages[group].values()), least=MIN_GROUP),
                "province": _share(regions[group], sum(regions[group].values()), least=MIN_GROUP),
                "categories": [[name, round(count / total, 4)] for name, count in categories.most_common(2)],
                "channel": _share(channels, total),
                "offer": _share(first_offer, total),
                "orders": round(float(np.mean([row["orders"] for row in members])), 2),
                "revenue": round(float(np.mean([row["revenue"] for row in members])), 2),
                "recency_days": round(float(np.mean([row["recency_days"] for row in members])), 1),
                "churn_risk": round(float(np.mean(churn)), 4) if churn else None,
                "lifetime_value": round(float(np.mean(value)), 2) if value else None,
            }
        )
    return personas


def _validation(log: Log, day: dt.date) -> dict[str, Any] | None:
    """The purchase model (as chosen, `clv.PurchaseModels`) fitted up to half a year before the run, against what
    customers bought since (as `kehu analytics validate` reports it), for the page's chart. None when the history
    is too short."""
    from kehu.analytics.validation import Purchases, holdout_report, model_key
    from kehu.core.errors import ServiceValidationError

    calibration_end = day - dt.timedelta(days=VALIDATION_DAYS)
    if not (log.days <= np.datetime64(calibration_end, "D")).any():
        return None
    try:
        report = holdout_report(
            Purchases(log.customers, log.days, log.amounts, []),
            calibration_end=calibration_end,
            holdout_end=day,
            buy_again=False,
        )
    except ServiceValidationError:
        return None
    return {
        "calibration_end": calibration_end.isoformat(),
        "holdout_end": day.isoformat(),
        "model": model_key(report.purchases),
        "customers": report.customers,
        "predicted": round(report.predicted, 1),
        "actual": round(report.actual, 1),
        "mae": round(report.mae, 4),
        "auc": None if report.auc is None else round(report.auc, 4),
        "buckets": [
            [b.repeat_purchases, b.customers, round(b.predicted, 4), round(b.actual, 4)] for b in report.buckets
        ],
    }


ACQUISITION_MONTHS = 24


def _acquisition(log: Log, values: dict[int, float]) -> dict[str, Any]:
    """New customers per source channel and month (the month of their first purchase) over the last
    `ACQUISITION_MONTHS`, with the sum of their value: spend so far plus the value expected over 12 months."""
    from kehu.customers.models import Customer

    order = np.lexsort((log.days, log.customers))
    customers, days = log.customers[order], log.days[order]
    first = np.r_[True, customers[1:] != customers[:-1]]
    new_customers, first_month = customers[first], days[first].astype("datetime64[M]")
    end = log.days.max().astype("datetime64[M]")
    months = np.arange(end - ACQUISITION_MONTHS + 1, end + 1)
    recent = first_month >= months[0]
    channel_of: dict[int, str] = {}
    chosen = new_customers[recent].tolist()
    for start in range(0, len(chosen), WRITE_BATCH):
        channel_of.update(
            Customer.objects.filter(pk__in=chosen[start : start + WRITE_BATCH]).values_list("pk", "source_channel")
        )
    channels: dict[str, dict[str, list[float]]] = {}
    for customer, month in zip(chosen, first_month[recent], strict=True):
        channel = channel_of.get(customer)
        if channel is None:  # erased or merged since
            continue
        slot = int((month - months[0]).astype(int))
        entry = channels.setdefault(channel or "", {"new": [0] * len(months), "value": [0.0] * len(months)})
        entry["new"][slot] += 1
        entry["value"][slot] = round(entry["value"][slot] + values.get(customer, 0.0), 2)
    return {"months": [str(month) for month in months], "channels": channels}


def _comparison_result(comparison: Comparison) -> dict[str, Any]:
    return {
        "horizon_days": comparison.horizon_days,
        "evaluated_from": comparison.evaluated_from.isoformat(),
        "customers": comparison.customers,
        "buyers": comparison.buyers,
        "training_rows": comparison.training_rows,
        "auc": {model: round(auc, 4) for model, auc in comparison.auc.items()},
        "chosen": comparison.chosen,
        "reason": comparison.reason,
        "calibration": {
            model: [[part.low, part.customers, round(part.predicted, 4), round(part.observed, 4)] for part in bins]
            for model, bins in comparison.calibration.items()
        },
        "importance": [[name, round(drop, 4)] for name, drop in comparison.importance],
    }


PHASES = {
    "features": gettext_noop("computing features"),
    "models": gettext_noop("fitting the purchase models"),
    "buy_again": gettext_noop("comparing the buy-again models"),
    "cross_sell": gettext_noop("finding what to offer"),
    "groups": gettext_noop("scoring risk and forming groups"),
    "writing": gettext_noop("saving the scores"),
    "portraits": gettext_noop("drawing the portraits"),
}


def _phase(context: JobContext, name: str, total: int | None = None) -> None:
    """Say which step the run is on (the page shows it) and keep its heartbeat fresh, so that no other worker
    takes a long run for a dead one."""
    context.commit(done=0, total=total, checkpoint={"phase": name})


def run_analytics(job: Job, context: JobContext) -> dict[str, Any]:
    actor = job.created_by
    if actor is None or not actor.is_active:
        raise JobFailed("the user who started this run no longer exists or was disabled")
    _phase(context, "features")
    with Features() as features_of:  # the tables read once, for the run's day and every snapshot's
        return _run(job, context, actor, features_of)


def _run(job: Job, context: JobContext, actor: User, features_of: Features) -> dict[str, Any]:
    started = time.perf_counter()
    as_of = dt.datetime.fromisoformat(job.params["as_of"]) if job.params.get("as_of") else timezone.now()
    features = features_of(as_of=as_of).to_pylist()
    total = len(features)
    buyers = [row for row in features if row["orders"]]
    months = job.params.get("rfm_months")
    in_period, scores = _rfm_of_period(features_of, as_of, months, buyers)
    _phase(context, "models", total)
    log = _purchase_log(as_of)
    day = timezone.localtime(as_of - dt.timedelta(microseconds=1)).date()  # the last day the run knows
    models = _purchase_models(log, day) if log else {}
    _phase(context, "buy_again", total)
    buying, comparison, tree_rules = _buy_again(log, day, features_of) if log else ({}, None, [])
    _phase(context, "cross_sell", total)
    lines = _order_lines(as_of)
    everyone = np.array([row["customer_id"] for row in features], dtype=np.int64)
    offers, rules, evaluation = (
        _cross_sell(lines, day, everyone, lambda: _phase(context, "cross_sell", total)) if lines else ({}, [], None)
    )
    _phase(context, "groups", total)
    risks = _risks(features)
    k = job.params.get("clusters")
    clustering = cluster(
        {name: np.array([row[name] for row in buyers], dtype=np.float64) for name, *_rest in CLUSTER_FEATURES},
        k=int(k) if k else None,
    )
    cluster_of = (
        {row["customer_id"]: int(label) for row, label in zip(buyers, clustering.labels, strict=True)}
        if clustering
        else {}
    )
    rows = _score_rows(
        features,
        as_of,
        rfm_of={row["customer_id"]: index for index, row in enumerate(in_period)},
        scores=scores,
        models=models,
        buying=buying,
        offers=offers,
        cluster_of=cluster_of,
        risks=risks,
    )
    _phase(context, "writing", total)
    flows = _scores_write(context, rows)
    personas = (
        _personas(
            clustering,
            buyers,
            day,
            offers,
            {r.customer_id: (r.churn_risk, r.lifetime_value) for r in rows if r.customer_id in cluster_of},
        )
        if clustering
        else []
    )
    segments, classes = Counter(scores.segment), Counter(scores.china_class)
    summary = {
        "customers": len(rows),
        "with_orders": len(buyers),
        "rfm_months": months,
        "rfm_customers": len(in_period),
        "segments": dict(sorted(segments.items())),
        "classes": dict(sorted(classes.items())),
        "lifetime_value_total": round(sum(r.lifetime_value or 0 for r in rows), 2),
        "buy_again": _comparison_result(comparison) if comparison else None,
        "clusters": _clusters_result(clustering, personas) if clustering else None,
        "churn_rules": tree_rules,
        "flows": flows,
        **_history_results(log, day, rows, buyers),
        "rfm_grid": np.histogram2d(
            scores.recency_score, scores.frequency_score, bins=[np.arange(0.5, 6), np.arange(0.5, 6)]
        )[0]
        .astype(int)
        .tolist(),
        "risk": _risk_result(risks),
        "cross_sell": _cross_sell_result(rules, evaluation),
        "seconds": round(time.perf_counter() - started, 1),
    }
    _results_save(job, actor, as_of, segments, classes, rules, customers=len(rows), with_orders=len(buyers))
    return summary


def _rfm_of_period(
    features_of: Features, as_of: dt.datetime, months: int | None, buyers: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], Rfm]:
    """RFM over the period the user chose (default: all of it): the customers who bought in it, and their
    scores."""
    in_period = (
        [row for row in features_of(as_of=as_of, since=as_of - dt.timedelta(days=round(months * 365.25 / 12)))
         .to_pylist() if row["orders"]]
        if months
        else buyers
    )  # fmt: skip
    scores = rfm(
        np.array([row["recency_days"] for row in in_period], dtype=float),
        np.array([row["orders"] for row in in_period], dtype=float),
        np.array([row["revenue"] for row in in_period], dtype=float),
    )
    return in_period, scores


def _risks(features: list[dict[str, Any]]) -> Risk:
    def column(name: str) -> Array:
        return np.array([np.nan if row[name] is None else row[name] for row in features], dtype=np.float64)

    return risk(
        overdue_rate=column("overdue_rate"),
        overdue_amount=column("overdue_amount"),
        refund_rate=column("refund_rate"),
        complaints=column("complaints_180d"),
        spend_recent=column("revenue_180d"),
        spend_prior=column("revenue_prior_180d"),
    )


def _score_rows(
    features: list[dict[str, Any]],
    as_of: dt.datetime,
    *,
    rfm_of: dict[int, int],
    scores: Rfm,
    models: dict[int, tuple[float, float, float]],
    buying: dict[int, float],
    offers: dict[int, list[list[float]]],
    cluster_of: dict[int, int],
    risks: Risk,
) -> list[CustomerScore]:
    """Every customer's scores of this run, as the row stored on them (`rfm_of`: customer id → position in
    `scores`, for those who bought in the RFM period)."""
    rows = []
    for position, row in enumerate(features):
        customer_id = row["customer_id"]
        index = rfm_of.get(customer_id)
        alive, expected, value = models.get(customer_id, (None, None, None))
        buys = buying.get(customer_id)
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
                churn_risk=None if buys is None else round(1 - buys, 4),
                recommendations=offers.get(customer_id, []),
                cluster=cluster_of.get(customer_id),
                risk_score=float(risks.score[position]),
                risk_reasons=risks.reasons[position],
            )
        )
    return rows


def _scores_write(context: JobContext, rows: list[CustomerScore]) -> list[list[Any]] | None:
    """Store the scores on the customers, a batch a transaction with the job's progress; the movement between
    classes since the last run ([class then, class now, customers]; "" had none), or None on the first run."""
    before = dict(CustomerScore.objects.values_list("customer_id", "china_class"))
    flows = Counter(
        (before[r.customer_id], r.china_class)
        for r in rows
        if r.customer_id in before and (before[r.customer_id] or r.china_class)
    )
    for start in range(0, len(rows), WRITE_BATCH):
        batch = rows[start : start + WRITE_BATCH]
        with transaction.atomic():
            CustomerScore.objects.bulk_create(
                batch, update_conflicts=True, unique_fields=["customer"], update_fields=SCORE_FIELDS
            )
            context.commit(done=start + len(batch), total=len(rows), checkpoint={"phase": "writing"})
    context.commit(done=len(rows), total=len(rows), checkpoint={"phase": "portraits"})
    return [[then, now, count] for (then, now), count in sorted(flows.items())] if before else None


def _clusters_result(clustering: Clustering, personas: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "k": clustering.k,
        "silhouette": {str(k): v for k, v in clustering.silhouette.items()},
        "features": [name for name, *_rest in CLUSTER_FEATURES],
        "personas": personas,
    }


def _history_results(
    log: Log | None, day: dt.date, rows: list[CustomerScore], buyers: list[dict[str, Any]]
) -> dict[str, Any]:
    """The parts of the result read from the order history (each None without orders)."""
    if log is None:
        return dict.fromkeys(("validation", "acquisition", "cohorts", "repeat_rate"))
    revenue = {row["customer_id"]: row["revenue"] for row in buyers}
    return {
        "validation": _validation(log, day),
        "acquisition": _acquisition(
            log,
            {
                r.customer_id: float(revenue[r.customer_id]) + (r.lifetime_value or 0.0)
                for r in rows
                if r.customer_id in revenue
            },
        ),
        "cohorts": vars(cohorts(log.customers, log.days)),
        "repeat_rate": vars(repeat_rate(log.customers, log.days)),
    }


def _risk_result(risks: Risk) -> dict[str, Any]:
    flagged = np.flatnonzero(risks.score >= FLAG_AT)
    return {
        "flag_at": FLAG_AT,
        "flagged": len(flagged),
        "reasons": {sign: sum(1 for i in flagged for r in risks.reasons[i] if r[0] == sign) for sign in SIGNS},
    }


def _cross_sell_result(rules: list[BasketRule], evaluation: Evaluation | None) -> dict[str, Any]:
    return {
        "rules": {level: sum(rule.level == level for rule in rules) for level in ("product", "category")},
        "evaluation": {
            "fitted_until": evaluation.fitted_until.isoformat(),
            "horizon_days": evaluation.horizon_days,
            "n": evaluation.n,
            "customers": evaluation.customers,
            "recall": {model: round(value, 4) for model, value in evaluation.recall.items()},
            "hit_rate": {model: round(value, 4) for model, value in evaluation.hit_rate.items()},
            "chosen": evaluation.chosen,
        }
        if evaluation
        else None,
    }


def _results_save(
    job: Job,
    actor: User,
    as_of: dt.datetime,
    segments: Counter[str],
    classes: Counter[str],
    rules: list[BasketRule],
    *,
    customers: int,
    with_orders: int,
) -> None:
    """The run's segment sizes and basket rules, and its audit record, in one transaction."""
    with transaction.atomic():
        # a run resumed after its worker died writes these once: what an earlier attempt left goes first
        SegmentCount.objects.filter(job=job).delete()
        BasketRule.objects.filter(job=job).delete()
        SegmentCount.objects.bulk_create(
            [
                SegmentCount(job=job, computed_at=as_of, scheme=scheme, segment=name, customers=count)
                for scheme, counts in (("rfm", segments), ("china", classes))
                for name, count in sorted(counts.items())
            ]
        )
        for rule in rules:
            rule.job = job
        BasketRule.objects.bulk_create(rules)
        audit_record_many(
            actor=actor,
            entries=[
                AuditEntry(
                    event=AuditEvent.ANALYTICS_RUN,
                    target_type="job",
                    target_id=str(job.public_id),
                    extra={"customers": customers, "with_orders": with_orders},
                )
            ],
        )
