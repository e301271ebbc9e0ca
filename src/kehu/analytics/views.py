"""The analytics page: the latest run (with its progress while it runs), what it found, and how well it predicts.

Charts are ECharts options built here and drawn by kehu.js (no inline script: the CSP forbids it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kehu.accounts.access import allows, require
from kehu.accounts.roles import Action, ObjectType
from kehu.analytics.forms import RunForm, SpendForm
from kehu.analytics.models import BasketRule, CustomerScore, MarketingSpend, SegmentCount
from kehu.analytics.rfm import CLASS_NAMES, SEGMENTS
from kehu.analytics.selectors import latest_run
from kehu.analytics.services import analytics_start, spend_set
from kehu.analytics.validation import MODEL_NAMES, ONE_CLASS
from kehu.core.errors import ServiceValidationError
from kehu.core.models import Job, JobState
from kehu.web.pages import job_status_part, not_found_for_refusals, page_user, show_errors

MONTHS = 24
HISTORY_RUNS = 12
RULES_SHOWN = 10


def _bar(names: list[str], values: list[float], axis: str, *, horizontal: bool = False) -> dict[str, Any]:
    categories = {"type": "category", "data": names, "axisLabel": {"interval": 0, "rotate": 0 if horizontal else 30}}
    numbers = {"type": "value", "name": axis}
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 160 if horizontal else 56, "right": 24, "top": 32, "bottom": 24 if horizontal else 90},
        "xAxis": numbers if horizontal else categories,
        "yAxis": {**categories, "inverse": True} if horizontal else numbers,
        "series": [{"type": "bar", "data": values, "name": axis}],
    }


def _segments_chart(job: Job) -> dict[str, Any] | None:
    classes = job.result.get("classes") or {}
    if not classes:
        return None
    keys = [key for key in CLASS_NAMES if key in classes]
    return _bar([str(CLASS_NAMES[key]) for key in keys], [classes[key] for key in keys], _("customers"))


def _rfm_chart(job: Job) -> dict[str, Any] | None:
    segments = job.result.get("segments") or {}
    if not segments:
        return None
    keys = [key for key in SEGMENTS if key in segments]
    return _bar([str(SEGMENTS[key]) for key in keys], [segments[key] for key in keys], _("customers"), horizontal=True)


def _history_chart() -> dict[str, Any] | None:
    """The classes' sizes over the last runs: movement between classes shows as lines crossing."""
    runs = list(
        SegmentCount.objects.filter(scheme="china")
        .values_list("job_id", flat=True)
        .distinct()
        .order_by("-job_id")[:HISTORY_RUNS]
    )
    if len(runs) < 2:
        return None
    counts = SegmentCount.objects.filter(scheme="china", job_id__in=runs).order_by("job_id")
    moments: dict[int, str] = {}
    sizes: dict[str, dict[int, int]] = {}
    for row in counts:
        moments[row.job_id] = f"{row.computed_at:%Y-%m-%d %H:%M}"
        sizes.setdefault(row.segment, {})[row.job_id] = row.customers
    order = sorted(moments)
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 56, "right": 24, "top": 40, "bottom": 40},
        "xAxis": {"type": "category", "data": [moments[job] for job in order]},
        "yAxis": {"type": "value", "name": _("customers")},
        "series": [
            {"type": "line", "name": str(CLASS_NAMES[key]), "data": [sizes[key].get(job, 0) for job in order]}
            for key in CLASS_NAMES
            if key in sizes
        ],
    }


def _flow_chart(job: Job) -> dict[str, Any] | None:
    """Customers moving between classes since the run before (a Sankey: last run's classes on the left)."""
    flows = job.result.get("flows")
    if not flows:
        return None
    none = _("no class")

    def name(key: str, side: str) -> str:
        return f"{CLASS_NAMES.get(key, none) if key else none} ({side})"

    then, now = _("before"), _("now")
    links = [{"source": name(a, then), "target": name(b, now), "value": n} for a, b, n in flows if n]
    nodes = sorted({link["source"] for link in links} | {link["target"] for link in links})
    return {
        "tooltip": {"trigger": "item"},
        "series": [{"type": "sankey", "data": [{"name": node} for node in nodes], "links": links,
                    "emphasis": {"focus": "adjacency"}, "nodeAlign": "justify", "left": 8, "right": 140}],
    }  # fmt: skip


def _calibration_chart(buy_again: dict[str, Any]) -> dict[str, Any] | None:
    calibration = buy_again.get("calibration") or {}
    if not calibration:
        return None
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"top": 0},
        "grid": {"left": 56, "right": 24, "top": 40, "bottom": 48},
        "xAxis": {"type": "value", "min": 0, "max": 1, "name": _("predicted probability"), "nameLocation": "center",
                  "nameGap": 28},
        "yAxis": {"type": "value", "min": 0, "max": 1, "name": _("share who bought")},
        "series": [
            {"type": "line", "name": _("perfect"), "data": [[0, 0], [1, 1]], "lineStyle": {"type": "dashed"},
             "symbol": "none"},
            *(
                {"type": "line", "name": model, "data": [[part[2], part[3]] for part in bins]}
                for model, bins in calibration.items()
            ),
        ],
    }  # fmt: skip


def _importance_chart(buy_again: dict[str, Any]) -> dict[str, Any] | None:
    shown = [(name, drop) for name, drop in buy_again.get("importance") or [] if drop > 0][:10]
    if not shown:
        return None
    return _bar([_(name) for name, _drop in shown], [drop for _name, drop in shown], _("AUC lost"), horizontal=True)


def _value_chart() -> dict[str, Any] | None:
    values = np.array(
        list(CustomerScore.objects.exclude(lifetime_value=None).values_list("lifetime_value", flat=True)), dtype=float
    )
    if not len(values):
        return None
    top = float(np.quantile(values, 0.99)) or 1.0  # the last bar holds the top 1%
    counts, edges = np.histogram(np.minimum(values, top), bins=20, range=(0, top))
    names = [f"{edges[i]:,.0f}–{edges[i + 1]:,.0f}" for i in range(len(counts))]
    names[-1] = f"≥ {edges[-2]:,.0f}"
    return _bar(names, [int(c) for c in counts], _("customers"))


def _cohort_chart(job: Job) -> dict[str, Any] | None:
    """Monthly cohorts' retention as a heatmap: a row per cohort, a column per month after the first purchase."""
    found = job.result.get("cohorts") or {}
    if not found.get("months"):
        return None
    cells = [
        [k, c, round(share * 100, 1)]
        for c, row in enumerate(found["retention"])
        for k, share in enumerate(row)
        if share is not None and k > 0
    ]
    labels = [f"{month} ({size})" for month, size in zip(found["months"], found["sizes"], strict=True)]
    return {
        "tooltip": {"position": "top"},
        "grid": {"left": 110, "right": 24, "top": 16, "bottom": 70},
        "xAxis": {"type": "category", "data": [f"+{k}" for k in range(len(found["retention"][0]))],
                  "name": _("months after the first purchase"), "nameLocation": "center", "nameGap": 28},
        "yAxis": {"type": "category", "data": labels, "inverse": True},
        "visualMap": {"min": 0, "max": max([cell[2] for cell in cells] or [1]), "calculable": True,
                      "orient": "horizontal", "left": "center", "bottom": 0, "text": ["%", ""]},
        "series": [{"type": "heatmap", "name": _("bought again (%)"), "data": cells, "label": {"show": True}}],
    }  # fmt: skip


def _repeat_chart(job: Job) -> dict[str, Any] | None:
    found = job.result.get("repeat_rate") or {}
    if not found.get("months"):
        return None
    rates = [round(r / b * 100, 1) if b else 0 for r, b in zip(found["returning"], found["buyers"], strict=True)]
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 56, "right": 24, "top": 32, "bottom": 40},
        "xAxis": {"type": "category", "data": found["months"]},
        "yAxis": {"type": "value", "name": _("repeat rate (%)"), "min": 0, "max": 100},
        "series": [{"type": "line", "name": _("repeat rate (%)"), "data": rates}],
    }


def _rfm_grid_chart(job: Job) -> dict[str, Any] | None:
    """Customers on the recency × frequency grid the named segments are cut from."""
    grid = job.result.get("rfm_grid")
    if not grid:
        return None
    cells = [[f - 1, r - 1, grid[r - 1][f - 1]] for r in range(1, 6) for f in range(1, 6)]
    return {
        "tooltip": {"position": "top"},
        "grid": {"left": 64, "right": 24, "top": 16, "bottom": 80},
        "xAxis": {"type": "category", "data": [f"F{f}" for f in range(1, 6)], "name": _("frequency score"),
                  "nameLocation": "center", "nameGap": 28},
        "yAxis": {"type": "category", "data": [f"R{r}" for r in range(1, 6)], "name": _("recency score")},
        "visualMap": {"min": 0, "max": max(max(row) for row in grid) or 1, "calculable": True,
                      "orient": "horizontal", "left": "center", "bottom": 0},
        "series": [{"type": "heatmap", "name": _("customers"), "data": cells, "label": {"show": True}}],
    }  # fmt: skip


def _validation_chart(job: Job) -> dict[str, Any] | None:
    """Predicted against actual purchases in the last half year, by repeat purchases before it."""
    found = job.result.get("validation")
    if not found:
        return None
    buckets = found["buckets"]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 56, "right": 24, "top": 40, "bottom": 48},
        "xAxis": {"type": "category", "data": [b[0] for b in buckets], "name": _("repeat purchases before"),
                  "nameLocation": "center", "nameGap": 28},
        "yAxis": {"type": "value", "name": _("purchases per customer")},
        "series": [
            {"type": "bar", "name": _("predicted"), "data": [b[2] for b in buckets]},
            {"type": "bar", "name": _("actual"), "data": [b[3] for b in buckets]},
        ],
    }  # fmt: skip


def _revenue_chart() -> dict[str, Any] | None:
    from kehu.commerce.models import Order, OrderStatus

    months = list(
        Order.objects.exclude(status=OrderStatus.CANCELLED)
        .annotate(month=TruncMonth("placed_at"))
        .values("month")
        .annotate(revenue=Sum("total"), buyers=Count("customer_id", distinct=True))
        .order_by("-month")[:MONTHS]
    )[::-1]
    if not months:
        return None
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 72, "right": 64, "top": 40, "bottom": 40},
        "xAxis": {"type": "category", "data": [f"{row['month']:%Y-%m}" for row in months]},
        "yAxis": [{"type": "value", "name": _("revenue (CNY)")}, {"type": "value", "name": _("active customers")}],
        "series": [
            {"type": "bar", "name": _("revenue (CNY)"), "data": [float(row["revenue"]) for row in months]},
            {"type": "line", "name": _("active customers"), "yAxisIndex": 1, "data": [row["buyers"] for row in months]},
        ],
    }


COUNTS = {
    "repeat purchases", "purchases in the last 30 days", "purchases in the last 90 days", "categories bought",
    "contacts", "contacts in the last 90 days", "days since the last purchase", "days since the first purchase",
    "days since the last contact",
}  # fmt: skip
RATES = {"refund rate", "overdue rate", "share of the main channel"}


def _condition(name: str, op: str, value: float) -> str:
    """One condition of a tree rule in words: whole numbers for counts and days, percents for rates."""
    if name in RATES:
        shown = f"{value:.0%}"
    elif name in COUNTS:
        shown = f"{int(np.floor(value)):,}"
    else:
        shown = f"{value:,.0f}"
    return f"{_(name)} {'≤' if op == '<=' else '>'} {shown}"


def _risk(job: Job) -> dict[str, Any] | None:
    from kehu.analytics.risk import SIGN_NAMES

    found = job.result.get("risk")
    if not found:
        return None
    reasons = [(str(SIGN_NAMES.get(sign, sign)), count) for sign, count in found["reasons"].items()]
    return {**found, "reasons": reasons}


def _churn_rules(job: Job) -> list[dict[str, Any]]:
    return [
        {
            "conditions": [_condition(name, op, value) for name, op, value in rule["conditions"]],
            "customers": rule["customers"],
            "percent": round(rule["share"] * 100),
        }
        for rule in job.result.get("churn_rules") or []
    ]


def _personas(job: Job) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The persona table's rows, and the clusters' radar (each feature's cluster mean in standard deviations from
    the base's, clipped to ±2)."""
    from kehu.analytics.clusters import FEATURE_NAMES, WORDS
    from kehu.commerce.models import OrderChannel, Product
    from kehu.customers.models import CustomerType

    found = job.result.get("clusters")
    if not found:
        return [], None
    personas = found["personas"]
    offered = dict(
        Product.objects.filter(pk__in=[p["offer"][0] for p in personas if p["offer"][0]]).values_list("pk", "name")
    )
    channels, types = dict(OrderChannel.choices), dict(CustomerType.choices)
    rows = [
        {
            **persona,
            "name": " · ".join(str(WORDS[word]) for word in persona["words"]),
            "percent": round(persona["share"] * 100),
            "organisations_percent": round(persona["organisations"] * 100),
            "type_name": types.get(persona["customer_type"][0] or "", ""),
            "channel_name": channels.get(persona["channel"][0] or "", persona["channel"][0] or ""),
            "offer_name": offered.get(persona["offer"][0], ""),
            "churn_percent": None if persona["churn_risk"] is None else round(persona["churn_risk"] * 100),
        }
        for persona in personas
    ]
    radar = {
        "tooltip": {},
        "legend": {"type": "scroll", "bottom": 0},
        "radar": {
            "indicator": [{"name": str(FEATURE_NAMES[name]), "min": -2, "max": 2} for name in found["features"]],
            "radius": "62%",
        },
        "series": [
            {
                "type": "radar",
                "data": [
                    {"name": f"{row['cluster']} · {row['name']}", "value": [max(-2, min(2, v)) for v in row["centre"]]}
                    for row in rows
                ],
            }
        ],
    }
    return rows, radar


def _cross_sell(job: Job) -> dict[str, Any] | None:
    """The run's recommendation test and its strongest rules, products named."""
    from kehu.commerce.models import Product

    found = job.result.get("cross_sell")
    if not found:
        return None
    rules = {
        level: list(BasketRule.objects.filter(job=job, level=level).order_by("-lift", "-confidence")[:RULES_SHOWN])
        for level in ("category", "product")
    }
    ids = {
        int(item)
        for rule in rules["product"]
        for side in (rule.antecedent, rule.consequent)
        for item in side.split("|")
    }
    names = dict(Product.objects.filter(pk__in=ids).values_list("pk", "name"))

    def named(rule: BasketRule, side: str) -> str:
        if rule.level == "category":
            return " + ".join(side.split("|"))
        return " + ".join(names.get(int(item), item) for item in side.split("|"))

    return {
        "evaluation": found.get("evaluation"),
        "rules": [
            (
                level,
                [
                    {"if": named(rule, rule.antecedent), "then": named(rule, rule.consequent), "support": rule.support,
                     "confidence": rule.confidence, "lift": rule.lift}
                    for rule in shown
                ],
            )
            for level, shown in rules.items()
        ],
    }  # fmt: skip


@login_required
@not_found_for_refusals
@require_GET
def analytics_page(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    require(user, ObjectType.ANALYTICS, Action.VIEW)
    job = Job.objects.filter(kind="analytics").order_by("-created_at").first()
    done = latest_run()
    personas, radar = _personas(done) if done else ([], None)
    running = job is not None and job.state in (JobState.QUEUED, JobState.RUNNING)
    buy_again = (done.result.get("buy_again") if done else None) or {}
    from kehu.analytics.services import PHASES

    phase = (job.checkpoint or {}).get("phase") if running and job else None
    context = {
        "job": job,
        "running": running,
        "phase": _(PHASES[phase]) if phase in PHASES else "",
        "done": done,
        "may_run": allows(user, ObjectType.ANALYTICS, Action.CREATE),
        "may_see_spend": allows(user, ObjectType.MARKETING_SPEND, Action.VIEW),
        "run_form": RunForm(),
        "buy_again": buy_again,
        "cross_sell": _cross_sell(done) if done else None,
        "churn_rules": _churn_rules(done) if done else [],
        "personas": personas,
        "risk": _risk(done) if done else None,
        "clusters": done.result.get("clusters") if done else None,
        # runs before the two-class model named none: they fitted BG/NBD
        "validation_model": MODEL_NAMES.get(
            ((done.result.get("validation") if done else None) or {}).get("model", ONE_CLASS)
        ),
        "class_links": [(key, CLASS_NAMES[key], count) for key, count in (done.result.get("classes") or {}).items()]
        if done
        else [],
        "charts": {
            "revenue": _revenue_chart(),
            "classes": _segments_chart(done) if done else None,
            "rfm": _rfm_chart(done) if done else None,
            "history": _history_chart(),
            "flows": _flow_chart(done) if done else None,
            "value": _value_chart(),
            "calibration": _calibration_chart(buy_again),
            "importance": _importance_chart(buy_again),
            "radar": radar,
            "cohorts": _cohort_chart(done) if done else None,
            "repeat": _repeat_chart(done) if done else None,
            "rfm_grid": _rfm_grid_chart(done) if done else None,
            "validation": _validation_chart(done) if done else None,
        },
    }
    return job_status_part(request, "analytics/_run_status.html", context) or render(
        request, "analytics/page.html", context
    )


@login_required
@not_found_for_refusals
@require_POST
def analytics_run(request: HttpRequest) -> HttpResponse:
    form = RunForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the RFM period and the number of groups from the lists."))
        return redirect("analytics")
    analytics_start(
        actor=page_user(request), clusters=form.cleaned_data["clusters"], rfm_months=form.cleaned_data["rfm_months"]
    )
    messages.success(request, _("The analysis has started; its results appear here when it ends."))
    return redirect("analytics")


def acquisition_table(job: Job | None, months: int = 12) -> dict[str, Any]:
    """Per source channel over the run's last `months` full months: spend entered, new customers, the cost of
    each (CAC), their average value (spent so far + expected over 12 months) and value over cost."""
    from decimal import Decimal

    from kehu.customers.models import SourceChannel

    found = (job.result.get("acquisition") if job else None) or {}
    all_months = found.get("months") or []
    shown = all_months[-months - 1 : -1] if len(all_months) > months else all_months[:-1]  # the last is running
    if not shown:
        return {"rows": [], "months": []}
    first = dt.date.fromisoformat(shown[0] + "-01")
    last = dt.date.fromisoformat(shown[-1] + "-01")
    spent: dict[str, Decimal] = {}
    for channel, amount in MarketingSpend.objects.filter(month__gte=first, month__lte=last).values_list(
        "channel", "amount"
    ):
        spent[channel] = spent.get(channel, Decimal(0)) + amount
    positions = [all_months.index(month) for month in shown]
    names = dict(SourceChannel.choices)
    rows = []
    for channel in sorted(set(found.get("channels", {})) | set(spent)):
        entry = found.get("channels", {}).get(channel, {"new": [], "value": []})
        new = sum(entry["new"][i] for i in positions if i < len(entry["new"]))
        value = sum(entry["value"][i] for i in positions if i < len(entry["value"]))
        cost = float(spent.get(channel, 0))
        cac = cost / new if new and cost else None
        average = value / new if new else None
        rows.append(
            {
                "key": channel,
                "channel": names.get(channel, channel) if channel else _("Unknown"),
                "spend": cost if channel in spent else None,
                "new": new,
                "cac": cac,
                "value": average,
                "ratio": average / cac if average is not None and cac else None,
            }
        )
    return {"rows": rows, "months": [shown[0], shown[-1]]}


@login_required
@not_found_for_refusals
def acquisition_page(request: HttpRequest) -> HttpResponse:
    """What each channel cost, how many customers it brought and what they are worth (CLV/CAC); spend entry."""
    user = page_user(request)
    require(user, ObjectType.ANALYTICS, Action.VIEW)
    require(user, ObjectType.MARKETING_SPEND, Action.VIEW)
    may_enter = allows(user, ObjectType.MARKETING_SPEND, Action.CREATE)
    form = SpendForm(request.POST or None)
    if request.method == "POST":
        require(user, ObjectType.MARKETING_SPEND, Action.CREATE)
        if form.is_valid():
            try:
                spend_set(
                    actor=user,
                    channel=form.cleaned_data["channel"],
                    month=form.cleaned_data["month"],
                    amount=form.cleaned_data["amount"],
                )
            except ServiceValidationError as error:
                show_errors(form, error)
            else:
                messages.success(request, _("Spend saved."))
                return redirect("analytics_acquisition")
    done = latest_run()
    return render(
        request,
        "analytics/acquisition.html",
        {
            "form": form if may_enter else None,
            "table": acquisition_table(done),
            "done": done,
            "entries": MarketingSpend.objects.select_related("entered_by").order_by("-month", "channel")[:48],
        },
    )
