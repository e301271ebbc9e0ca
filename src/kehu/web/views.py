"""Sign-in, the home dashboard and the global search."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.accounts.access import allows
from kehu.accounts.roles import Action, ObjectType
from kehu.accounts.signin import SignInStep, user_sign_out
from kehu.commerce.models import OrderStatus
from kehu.commerce.selectors import orders_for_user, products_for_user
from kehu.customers.models import LifecycleStage
from kehu.customers.rendering import customer_summary_out, masked_name, may_see_names
from kehu.customers.selectors import customer_search, customer_summaries, customers_for_user
from kehu.interactions.models import InteractionKind
from kehu.interactions.selectors import interactions_for_user
from kehu.web.forms import SignInForm
from kehu.web.pages import page_user, safe_next

SEARCH_LIMIT = 10


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "web/home.html")
    user = page_user(request)
    context: dict[str, Any] = {"dashboard": True}
    if allows(user, ObjectType.CUSTOMER, Action.VIEW):
        customers = customers_for_user(user).filter(archived_at__isnull=True)
        mine = customers.filter(owner=user)
        recent_ids = list(mine.order_by("-updated_at").values_list("id", flat=True)[:8])
        names = may_see_names(user)
        context["my_count"] = mine.count()
        context["my_recent"] = [customer_summary_out(s, names) for s in customer_summaries(recent_ids)]
        counts = customers.values("lifecycle_stage").annotate(n=Count("id")).values_list("lifecycle_stage", "n")
        stages = dict(counts.order_by())
        context["stage_chart"] = {
            "animation": False,
            "tooltip": {"trigger": "item"},
            "series": [
                {
                    "type": "pie",
                    "radius": ["40%", "70%"],
                    "data": [
                        {"name": str(label), "value": stages.get(value, 0)} for value, label in LifecycleStage.choices
                    ],
                }
            ],
        }
    if allows(user, ObjectType.ORDER, Action.VIEW):
        since = (timezone.localdate().replace(day=1) - dt.timedelta(days=335)).replace(day=1)
        start = timezone.make_aware(dt.datetime.combine(since, dt.time()))
        monthly = (
            orders_for_user(user)
            .filter(placed_at__gte=start)
            .exclude(status=OrderStatus.CANCELLED)
            .annotate(month=TruncMonth("placed_at"))
            .values("month")
            .annotate(revenue=Sum("total"))
            .order_by("month")
        )
        by_month = {row["month"].strftime("%Y-%m"): float(row["revenue"] or 0) for row in monthly}
        months = []
        cursor = since
        for _step in range(12):
            months.append(cursor.strftime("%Y-%m"))
            cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
        context["revenue_chart"] = {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 60, "right": 16, "top": 16, "bottom": 32},
            "xAxis": {"type": "category", "data": months},
            "yAxis": {"type": "value"},
            "series": [{"type": "bar", "name": _("Revenue"), "data": [by_month.get(m, 0) for m in months]}],
        }
    if allows(user, ObjectType.INTERACTION, Action.VIEW):
        names = may_see_names(user)
        recent = interactions_for_user(user).select_related("customer", "user").order_by("-occurred_at")[:10]
        context["activity"] = [
            (item, masked_name(item.customer.display_name, names), InteractionKind(item.kind).label) for item in recent
        ]
    return render(request, "web/dashboard.html", context)


@login_required
@require_http_methods(["GET"])
def search(request: HttpRequest) -> HttpResponse:
    """The top bar's search: customers, orders and products, grouped."""
    user = page_user(request)
    query = request.GET.get("q", "").strip()[:100]
    groups: dict[str, Any] = {}
    if query:
        if allows(user, ObjectType.CUSTOMER, Action.VIEW):
            names = may_see_names(user)
            found = customer_search(user, query, limit=SEARCH_LIMIT)
            groups["customers"] = [customer_summary_out(summary, names) for summary in found]
        if allows(user, ObjectType.ORDER, Action.VIEW):
            orders = orders_for_user(user).filter(number__icontains=query).select_related("customer")
            groups["orders"] = list(orders.order_by("-placed_at")[:SEARCH_LIMIT])
        if allows(user, ObjectType.PRODUCT, Action.VIEW):
            products = products_for_user(user).filter(Q(name__icontains=query) | Q(sku__icontains=query))
            groups["products"] = list(products.order_by("name")[:SEARCH_LIMIT])
    context = {"query": query, "global_query": query, "groups": groups, "found": any(groups.values())}
    return render(request, "web/search.html", context)


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request)
    form = SignInForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.sign_in():
        if form.step == SignInStep.CODE:
            return redirect("/accounts/two-factor/?" + urlencode({"next": next_url}))
        if form.step == SignInStep.SETUP:
            return redirect("/accounts/two-factor/setup/?" + urlencode({"next": next_url}))
        return redirect(next_url)
    return render(request, "web/login.html", {"form": form, "next": next_url}, status=200)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    user_sign_out(request=request)
    return redirect("/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 in kehu's layout, with the reason a view gave (never a stack or a resolver's internals)."""
    reason = exception.args[0] if exception and exception.args and isinstance(exception.args[0], str) else ""
    return render(request, "404.html", {"reason": reason or _("No such page, or not one you can use.")}, status=404)
