"""Product and order pages: lists with filters, details, and a new order from the customer's page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kehu.accounts.access import allows
from kehu.accounts.roles import Action, ObjectType
from kehu.commerce import selectors, services
from kehu.commerce.forms import OrderFilterForm, OrderForm, ProductFilterForm
from kehu.commerce.models import Order, Product
from kehu.core.errors import ServiceValidationError
from kehu.core.pagination import paginate
from kehu.customers.rendering import masked_name, may_see_names
from kehu.customers.selectors import customer_get_for_user
from kehu.web.pages import day_start, next_page_query, not_found_for_refusals, page_user, show_errors

PAGE = 50


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def order_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = OrderFilterForm(request.GET or None)
    orders: list[Order] = []
    cursor = None
    customer = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        queryset = selectors.orders_for_user(user).select_related("customer")
        if data.get("customer"):
            customer = customer_get_for_user(user, data["customer"])
            queryset = queryset.filter(customer=customer)
        if data.get("q"):
            queryset = queryset.filter(number__icontains=data["q"].strip())
        for name in ("status", "channel"):
            if data.get(name):
                queryset = queryset.filter(**{name: data[name]})
        if data.get("placed_from"):
            queryset = queryset.filter(placed_at__gte=day_start(data["placed_from"]))
        if data.get("placed_to"):
            queryset = queryset.filter(placed_at__lt=day_start(data["placed_to"], next_day=True))
        page = paginate(queryset, sort="-placed_at", cursor=data.get("cursor") or None, limit=PAGE)
        orders, cursor = page.items, page.next_cursor
    names = may_see_names(user)
    rows = [(order, masked_name(order.customer.display_name, names)) for order in orders]
    context = {"form": form, "rows": rows, "customer": customer, "next_query": next_page_query(request, cursor)}
    return render(request, "commerce/order_list.html", context)


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def order_detail(request: HttpRequest, order_id: str) -> HttpResponse:
    user = page_user(request)
    order = selectors.order_get_for_user(user, order_id)
    context = {"order": order, "customer_name": masked_name(order.customer.display_name, may_see_names(user))}
    return render(request, "commerce/order_detail.html", context)


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def order_create_view(request: HttpRequest, customer_id: str) -> HttpResponse:
    user = page_user(request)
    customer = customer_get_for_user(user, customer_id)
    if not allows(user, ObjectType.ORDER, Action.CREATE):
        return redirect(f"/customers/{customer.public_id}/")
    form = OrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        products = {p.sku: p for p in Product.objects.filter(sku__in=[sku for sku, _ in form.lines()])}
        lines = [services.OrderLineInput(product=products[sku], quantity=qty) for sku, qty in form.lines()]
        try:
            order = services.order_create(
                actor=user,
                customer=customer,
                lines=lines,
                channel=form.cleaned_data["channel"],
                placed_at=form.cleaned_data["placed_at"],
                status=form.cleaned_data["status"],
            )
        except ServiceValidationError as error:
            show_errors(form, error, {"lines": "product_0"})
        else:
            messages.success(request, _("Order %(number)s recorded.") % {"number": order.number})
            return redirect(f"/orders/{order.public_id}/")
    return render(request, "commerce/order_form.html", {"form": form, "customer": customer})


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def product_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ProductFilterForm(request.GET or None)
    products: list[Product] = []
    cursor = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        queryset = selectors.products_for_user(user)
        if data.get("q"):
            text = data["q"].strip()
            queryset = queryset.filter(Q(name__icontains=text) | Q(sku__icontains=text))
        if data.get("category"):
            queryset = queryset.filter(category=data["category"].strip())
        page = paginate(queryset, sort="name", cursor=data.get("cursor") or None, limit=PAGE)
        products, cursor = page.items, page.next_cursor
    context: dict[str, Any] = {"form": form, "products": products, "next_query": next_page_query(request, cursor)}
    return render(request, "commerce/product_list.html", context)


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def product_detail(request: HttpRequest, sku: str) -> HttpResponse:
    user = page_user(request)
    product = selectors.product_get_for_user(user, sku)
    recent: list[Order] = []
    if allows(user, ObjectType.ORDER, Action.VIEW):
        recent = list(
            selectors.orders_for_user(user)
            .filter(lines__product=product)
            .select_related("customer")
            .order_by("-placed_at")[:20]
        )
    names = may_see_names(user)
    rows = [(order, masked_name(order.customer.display_name, names)) for order in recent]
    return render(request, "commerce/product_detail.html", {"product": product, "rows": rows})
