"""The customer pages: the list, the 360° page, and the forms that change a customer.

Every customer is fetched through the selectors, which apply the user's role and scope; what is shown goes
through `kehu.customers.rendering`, which masks personal data exactly as the API does. A customer outside the
user's scope answers 404, as if it did not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Max, Sum
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kehu.accounts.access import allows
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.analytics.selectors import cross_sell, score_explained
from kehu.commerce.models import Order
from kehu.core.errors import PermissionDeniedError, ServiceValidationError
from kehu.customers import selectors, services
from kehu.customers.forms import (
    COLUMNS,
    AddressForm,
    BulkForm,
    ContactPointEditForm,
    ContactPointForm,
    CustomerForm,
    InteractionForm,
    SavedViewForm,
    list_filters,
    owners_and_teams,
)
from kehu.customers.models import Customer, CustomFieldDefinition, LifecycleStage, SavedView, SourceChannel
from kehu.customers.quality import customer_quality, quality_overview
from kehu.customers.rendering import (
    address_out,
    contact_point_out,
    customer_out,
    customer_summary_out,
    may_see_names,
)
from kehu.interactions.models import Interaction
from kehu.interactions.selectors import TIMELINE_KINDS, customer_timeline
from kehu.interactions.services import interaction_log
from kehu.privacy.services import customer_reveal
from kehu.web.pages import htmx_target, is_htmx, not_found_for_refusals, page_user, show_errors

TIMELINE_LIMIT = 50
ORDERS_SHOWN = 20


# ---- the list --------------------------------------------------------------------------------------------


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def customer_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    owners, _teams = owners_and_teams(user)
    form, filters = list_filters(user, request.GET)
    items: list[dict[str, Any]] = []
    next_cursor = None
    if filters is not None:
        data = form.cleaned_data if form.is_bound else {}
        try:
            page = selectors.customer_list(
                user,
                filters,
                sort=data.get("sort") or "-created_at",
                cursor=data.get("cursor") or None,
                limit=data.get("per") or 50,
            )
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            names = may_see_names(user)
            items = [customer_summary_out(summary, names) for summary in page.items]
            for item in items:
                item["stage_label"] = LifecycleStage(item["lifecycle_stage"]).label
                item["source_label"] = SourceChannel(item["source_channel"]).label if item["source_channel"] else ""
            next_cursor = page.next_cursor
    state = request.GET.copy()
    state.pop("cursor", None)
    next_query = None
    if next_cursor:
        following = state.copy()
        following["cursor"] = next_cursor
        next_query = following.urlencode()
    context = {
        "form": form,
        "items": items,
        "columns": form.columns(),
        "column_labels": COLUMNS,
        "state": state.urlencode(),
        "next_query": next_query,
        "first_page": bool(request.GET.get("cursor")),
        "saved_views": SavedView.objects.filter(user=user).order_by("name"),
        "may_create": allows(user, ObjectType.CUSTOMER, Action.CREATE),
        "may_bulk": allows(user, ObjectType.CUSTOMER, Action.CHANGE),
        "owners": owners,
        "sort_links": _sort_links(state),
    }
    template = "customers/_results.html" if htmx_target(request) == "results" else "customers/list.html"
    return render(request, template, context)


def _sort_links(state: QueryDict) -> dict[str, str]:
    """Query strings that sort by a column, toggling the direction when it is already the sort."""
    current = state.get("sort") or "-created_at"
    links: dict[str, str] = {}
    # A click on the column the list is sorted by reverses it; another column starts A→Z or newest first.
    for column, first in (("name", "display_name"), ("created", "-created_at"), ("updated", "-updated_at")):
        field = first.lstrip("-")
        if current == field:
            wanted = f"-{field}"
        elif current == f"-{field}":
            wanted = field
        else:
            wanted = first
        query = state.copy()
        query["sort"] = wanted
        links[column] = query.urlencode()
    return links


@login_required
@not_found_for_refusals
@require_POST
def customer_bulk(request: HttpRequest) -> HttpResponse:
    """Tag, assign or archive the ticked customers; only those the user may change are touched."""
    user = page_user(request)
    form = BulkForm(request.POST)
    back = "/customers/?" + request.POST.get("state", "")
    if not form.is_valid():
        messages.error(request, _("Tick at least one customer and choose an action."))
        return redirect(back)
    keys = []
    for value in form.cleaned_data["ids"]:
        try:
            keys.append(uuid.UUID(value))
        except ValueError:
            continue
    customers = list(selectors.customers_for_user(user, Action.CHANGE).filter(public_id__in=keys))
    action = form.cleaned_data["action"]
    try:
        with transaction.atomic():
            if action == "tag":
                for customer in customers:
                    services.customer_tags_add(actor=user, customer=customer, names=[form.cleaned_data["tag"]])
            elif action == "assign":
                owner = _active_user(str(form.cleaned_data["owner"] or ""))
                if owner is None:
                    raise ServiceValidationError.single("owner", _("choose who will own them"))
                for customer in customers:
                    services.customer_update(actor=user, customer=customer, values={}, owner=owner)
            else:
                for customer in customers:
                    services.customer_archive(actor=user, customer=customer)
    except ServiceValidationError as error:
        messages.error(request, error.reasons)
        return redirect(back)
    skipped = len(form.cleaned_data["ids"]) - len(customers)
    done = _("%(count)d customers updated.") % {"count": len(customers)}
    if skipped:
        done += " " + _("%(count)d were not yours to change and were left alone.") % {"count": skipped}
    messages.success(request, done)
    return redirect(back)


def _active_user(public_id: str) -> User | None:
    try:
        key = uuid.UUID(public_id)
    except ValueError:
        return None
    return User.objects.filter(public_id=key, is_active=True).first()


@login_required
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = SavedViewForm(request.POST)
    if form.is_valid():
        query = QueryDict(form.cleaned_data["query"]).copy()
        query.pop("cursor", None)
        SavedView.objects.update_or_create(
            user=user, name=form.cleaned_data["name"].strip(), defaults={"query": query.urlencode()}
        )
        messages.success(request, _("View saved."))
        return redirect("/customers/?" + query.urlencode())
    messages.error(request, _("Give the view a name."))
    return redirect("/customers/?" + request.POST.get("query", ""))


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    SavedView.objects.filter(user=page_user(request), pk=view_id).delete()  # one's own views only
    return redirect("/customers/")


# ---- the 360° page ---------------------------------------------------------------------------------------


def _summary(customer: Customer) -> dict[str, Any]:
    orders = Order.objects.filter(customer=customer).exclude(status="cancelled")
    totals = orders.aggregate(revenue=Sum("total"), count=Count("id"), last=Max("placed_at"))
    last_contact = Interaction.objects.filter(customer=customer).aggregate(last=Max("occurred_at"))["last"]
    return {**totals, "last_contact": last_contact}


def _custom_values(customer: Customer) -> list[tuple[str, Any]]:
    definitions = CustomFieldDefinition.objects.filter(key__in=list(customer.attributes)).order_by("label")
    return [(definition.label, customer.attributes.get(definition.key)) for definition in definitions]


def _timeline_context(request: HttpRequest, user: User, customer: Customer) -> dict[str, Any]:
    wanted = request.GET.get("type", "")
    kinds = (wanted,) if wanted in TIMELINE_KINDS else TIMELINE_KINDS
    return {
        "timeline": customer_timeline(user, customer, limit=TIMELINE_LIMIT, kinds=kinds),
        "timeline_type": wanted if wanted in TIMELINE_KINDS else "",
    }


def _detail_context(request: HttpRequest, user: User, customer: Customer, log_form: InteractionForm) -> dict[str, Any]:
    orders: list[Order] = []
    may_see_orders = allows(user, ObjectType.ORDER, Action.VIEW)
    if may_see_orders:
        recent = Order.objects.filter(customer=customer).prefetch_related("lines__product").order_by("-placed_at")
        orders = list(recent[:ORDERS_SHOWN])
    summary = _summary(customer)
    score = score_explained(customer.pk)
    return {
        "customer": customer,
        "view": customer_out(customer, may_see_names(user)),
        "summary": summary,
        "quality": customer_quality(customer, activity=[summary["last"], summary["last_contact"]]),
        "custom_values": _custom_values(customer),
        "score": score,
        "cross_sell": cross_sell(customer.pk, score["recommendations"]) if score and may_see_orders else None,
        "orders": orders,
        "orders_more": len(orders) == ORDERS_SHOWN,
        "log_form": log_form,
        "may_change": allows(user, ObjectType.CUSTOMER, Action.CHANGE),
        "may_reveal": allows(user, ObjectType.CUSTOMER, Action.REVEAL),
        "may_log": allows(user, ObjectType.INTERACTION, Action.CREATE),
        "may_order": allows(user, ObjectType.ORDER, Action.CREATE),
        "may_request": allows(user, ObjectType.SUBJECT_REQUEST, Action.CREATE),
        **_timeline_context(request, user, customer),
    }


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def customer_detail(request: HttpRequest, customer_id: str) -> HttpResponse:
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id)
    if htmx_target(request) == "timeline":
        context = {"customer": customer, **_timeline_context(request, user, customer)}
        return render(request, "customers/_timeline.html", context)
    return render(request, "customers/detail.html", _detail_context(request, user, customer, InteractionForm()))


@login_required
@not_found_for_refusals
@require_POST
def customer_reveal_view(request: HttpRequest, customer_id: str) -> HttpResponse:
    """Show the contact points and addresses in full: audited, never cached."""
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id)
    customer_reveal(actor=user, customer=customer, fields=["contact_points", "addresses"])
    context = {
        "customer": customer,
        "contact_points": [contact_point_out(point, revealed=True) for point in customer.contact_points.all()],
        "addresses": [address_out(address, revealed=True) for address in customer.addresses.all()],
        "revealed": True,
        "may_change": allows(user, ObjectType.CUSTOMER, Action.CHANGE),
    }
    response = render(request, "customers/_contacts.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@not_found_for_refusals
@require_POST
def interaction_log_view(request: HttpRequest, customer_id: str) -> HttpResponse:
    """Log a call, visit or note from the 360 page; htmx swaps in the new timeline and a fresh form."""
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id)
    form = InteractionForm(request.POST)
    logged = False
    if form.is_valid():
        try:
            interaction_log(actor=user, customer=customer, **form.cleaned_data)
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            logged = True
    if is_htmx(request):
        # htmx swaps only 2xx answers: errors come back with 200, next to their fields.
        log_form = InteractionForm() if logged else form
        context = {"customer": customer, "log_form": log_form, **_timeline_context(request, user, customer)}
        return render(request, "customers/_log_and_timeline.html", context)
    if logged:
        messages.success(request, _("Logged."))
        return redirect(f"/customers/{customer.public_id}/")
    return render(request, "customers/detail.html", _detail_context(request, user, customer, form), status=422)


# ---- create and edit ---------------------------------------------------------------------------------------


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def customer_create_view(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    if not allows(user, ObjectType.CUSTOMER, Action.CREATE):
        raise PermissionDeniedError("create", "customer")
    form = CustomerForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        points = [
            services.ContactPointInput(kind=kind, value=data[field], is_primary=True)
            for kind, field in (("mobile", "mobile"), ("email", "email"))
            if data.get(field, "").strip()
        ]
        places = [services.AddressInput(raw=data["address"], is_primary=True)] if data.get("address") else []
        tags = [name.strip() for name in data.get("tags", "").replace("，", ",").split(",") if name.strip()]
        try:
            customer = services.customer_create(
                actor=user,
                values=form.values(),
                contact_points=points,
                addresses=places,
                tags=tags,
                attributes=form.attributes(),
            )
        except ServiceValidationError as error:
            aliases = {f"contact_points[{i}].value": point.kind for i, point in enumerate(points)}
            aliases |= {f"contact_points[{i}]": point.kind for i, point in enumerate(points)}
            aliases |= {"addresses[0].raw": "address", "addresses[0]": "address"}
            show_errors(form, error, aliases)
        else:
            messages.success(request, _("Customer created."))
            return redirect(f"/customers/{customer.public_id}/")
    return render(request, "customers/form.html", {"form": form, "creating": True})


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def customer_edit_view(request: HttpRequest, customer_id: str) -> HttpResponse:
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    view = customer_out(customer, may_see_names(user))
    initial = {name: view.get(name) or getattr(customer, name) for name in CustomerForm.SCALARS}
    initial |= {f"attr_{key}": value for key, value in customer.attributes.items()}
    form = CustomerForm(request.POST or None, creating=False, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(actor=user, customer=customer, values=form.values(), attributes=form.attributes())
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"/customers/{customer.public_id}/")
    return render(request, "customers/form.html", {"form": form, "creating": False, "customer": customer})


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def contact_point_add_view(request: HttpRequest, customer_id: str) -> HttpResponse:
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    form = ContactPointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.ContactPointInput(**form.cleaned_data)
            services.contact_point_add(actor=user, customer=customer, item=item)
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"/customers/{customer.public_id}/")
    context = {"form": form, "customer": customer, "title": _("Add a contact point")}
    return render(request, "customers/child_form.html", context)


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def contact_point_edit_view(request: HttpRequest, customer_id: str, point_id: int) -> HttpResponse:
    """Change a phone, email or handle. The current value is shown masked; the user types the new one."""
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    point = selectors.contact_point_get_for_user(user, customer, point_id)
    form = ContactPointEditForm(request.POST or None, initial={"label": point.label, "is_primary": point.is_primary})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.contact_point_update(
                actor=user,
                point=point,
                value=data["value"] if data["value"].strip() else None,
                label=data["label"],
                is_primary=data["is_primary"],
            )
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"/customers/{customer.public_id}/")
    context = {
        "form": form,
        "customer": customer,
        "title": _("Change a contact point"),
        "current": contact_point_out(point),
        "remove_url": f"/customers/{customer.public_id}/contact-points/{point.pk}/remove/",
    }
    return render(request, "customers/child_form.html", context)


@login_required
@not_found_for_refusals
@require_POST
def contact_point_remove_view(request: HttpRequest, customer_id: str, point_id: int) -> HttpResponse:
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    services.contact_point_remove(actor=user, point=selectors.contact_point_get_for_user(user, customer, point_id))
    messages.success(request, _("Removed."))
    return redirect(f"/customers/{customer.public_id}/")


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def address_add_view(request: HttpRequest, customer_id: str) -> HttpResponse:
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.address_add(actor=user, customer=customer, item=services.AddressInput(**form.cleaned_data))
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect(f"/customers/{customer.public_id}/")
    context = {"form": form, "customer": customer, "title": _("Add an address")}
    return render(request, "customers/child_form.html", context)


@login_required
@not_found_for_refusals
@require_POST
def address_remove_view(request: HttpRequest, customer_id: str, address_id: int) -> HttpResponse:
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    services.address_remove(actor=user, address=selectors.address_get_for_user(user, customer, address_id))
    messages.success(request, _("Removed."))
    return redirect(f"/customers/{customer.public_id}/")


@login_required
@not_found_for_refusals
@require_POST
def customer_archive_view(request: HttpRequest, customer_id: str) -> HttpResponse:
    user = page_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.ARCHIVE)
    if customer.archived_at is None:
        services.customer_archive(actor=user, customer=customer)
        messages.success(request, _("Archived."))
    else:
        services.customer_restore(actor=user, customer=customer)
        messages.success(request, _("Restored."))
    return redirect(f"/customers/{customer.public_id}/")


# ---- data quality --------------------------------------------------------------------------------------------


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def data_quality(request: HttpRequest) -> HttpResponse:
    """Fill rates, invalid values, customers without a way to contact them and untouched ones, over the
    user's live customers; every count links to the list of those customers."""
    user = page_user(request)
    try:
        months = min(120, max(1, int(request.GET.get("months", "12"))))
    except ValueError:
        months = 12
    overview = quality_overview(selectors.customers_for_user(user).filter(archived_at__isnull=True), months=months)
    total = overview.total or 1
    context = {
        "overview": overview,
        "fields": [(m, filled, round(100 * filled / total), overview.total - filled) for m, filled in overview.fields],
        "checks": overview.checks,
        "months": months,
    }
    return render(request, "customers/quality.html", context)
