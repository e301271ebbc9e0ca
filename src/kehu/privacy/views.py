"""Privacy pages: a customer's consents, the register of data-subject requests (open, export, erase, close),
and the retention rules with their report. Each action is the service the API calls, so the same rules,
permissions and audit records apply; refusals by scope or role are 404s, as everywhere in the pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kehu.accounts.access import allows, require
from kehu.accounts.roles import Action, ObjectType
from kehu.core.errors import ServiceValidationError
from kehu.core.exports import attachment
from kehu.customers.rendering import masked_name, may_see_names
from kehu.customers.selectors import customer_get_for_user
from kehu.privacy import selectors, services
from kehu.privacy.forms import (
    ConsentForm,
    ConsentWithdrawForm,
    RetentionRuleForm,
    SubjectRequestCloseForm,
    SubjectRequestEraseForm,
    SubjectRequestFilterForm,
    SubjectRequestForm,
)
from kehu.privacy.models import (
    RetentionAction,
    RetentionDataType,
    RetentionRule,
    SubjectRequest,
    SubjectRequestKind,
    SubjectRequestStatus,
)
from kehu.web.pages import not_found_for_refusals, page_user, show_errors

REGISTER_LIMIT = 500

# ---- consent ------------------------------------------------------------------------------------------------


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def customer_consents(request: HttpRequest, customer_id: str) -> HttpResponse:
    """Every consent given and withdrawn, newest first; recording one needs the right to change the customer."""
    user = page_user(request)
    customer = customer_get_for_user(user, customer_id, Action.CHANGE if request.method == "POST" else Action.VIEW)
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_give(actor=user, customer=customer, **form.cleaned_data)
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Consent recorded."))
            return redirect("customer_consents", customer_id=customer.public_id)
    context = {
        "customer": customer,
        "name": masked_name(customer.display_name, may_see_names(user)),
        "consents": list(selectors.consent_history(customer).select_related("recorded_by")),
        "form": form,
        "may_change": allows(user, ObjectType.CUSTOMER, Action.CHANGE),
    }
    return render(request, "privacy/consents.html", context, status=400 if form.errors else 200)


@login_required
@not_found_for_refusals
@require_POST
def customer_consent_withdraw(request: HttpRequest, customer_id: str) -> HttpResponse:
    user = page_user(request)
    customer = customer_get_for_user(user, customer_id, Action.CHANGE)
    form = ConsentWithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say how the person withdrew their consent."))
    else:
        try:
            services.consent_withdraw(
                actor=user,
                customer=customer,
                purpose=form.cleaned_data["purpose"],
                channel=form.cleaned_data["channel"],
                source=form.cleaned_data["source"],
            )
        except ServiceValidationError as error:
            messages.error(request, error.reasons)
        else:
            messages.success(request, _("Consent withdrawn."))
    return redirect("customer_consents", customer_id=customer.public_id)


# ---- data-subject requests ------------------------------------------------------------------------------------


def _customer_name(item: SubjectRequest, names: bool) -> str:
    """The requester's name as the user may see it (masked unless `names`); empty once erased and unlinked."""
    return masked_name(item.customer.display_name, names) if item.customer else ""


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def subject_request_list(request: HttpRequest) -> HttpResponse:
    """The register, soonest deadline first; open requests past their deadline are marked."""
    user = page_user(request)
    form = SubjectRequestFilterForm(request.GET or None)
    requests = selectors.subject_requests_for_user(user)
    if form.is_valid():
        for name in ("status", "kind"):
            if form.cleaned_data.get(name):
                requests = requests.filter(**{name: form.cleaned_data[name]})
    items = list(requests.order_by("due_at", "id")[:REGISTER_LIMIT])
    names = may_see_names(user)
    context = {
        "form": form,
        "rows": [(item, _customer_name(item, names)) for item in items],
        "limit": REGISTER_LIMIT,
        "full": len(items) == REGISTER_LIMIT,
        "now": timezone.now(),
    }
    return render(request, "privacy/request_list.html", context)


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def subject_request_new(request: HttpRequest, customer_id: str) -> HttpResponse:
    user = page_user(request)
    require(user, ObjectType.SUBJECT_REQUEST, Action.CREATE)
    customer = customer_get_for_user(user, customer_id)
    form = SubjectRequestForm(request.POST or None, initial={"kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        try:
            item = services.subject_request_open(actor=user, customer=customer, **form.cleaned_data)
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            due = f"{timezone.localtime(item.due_at):%Y-%m-%d}"
            messages.success(request, _("Request registered; it is due by %(date)s.") % {"date": due})
            return redirect("subject_request_detail", request_id=item.public_id)
    context = {"form": form, "customer": customer, "name": masked_name(customer.display_name, may_see_names(user))}
    return render(request, "privacy/request_form.html", context, status=400 if form.errors else 200)


def _detail(
    request: HttpRequest,
    item: SubjectRequest,
    *,
    close_form: SubjectRequestCloseForm | None = None,
    erase_form: SubjectRequestEraseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = page_user(request)
    is_open = item.status == SubjectRequestStatus.OPEN and item.customer is not None
    context = {
        "item": item,
        "now": timezone.now(),
        "name": _customer_name(item, may_see_names(user)),
        "may_see_customer": item.customer is not None and allows(user, ObjectType.CUSTOMER, Action.VIEW),
        "close_form": close_form or SubjectRequestCloseForm(),
        "erase_form": erase_form or SubjectRequestEraseForm(),
        "may_close": is_open and allows(user, ObjectType.SUBJECT_REQUEST, Action.CHANGE),
        "may_export": is_open
        and item.kind == SubjectRequestKind.ACCESS
        and allows(user, ObjectType.SUBJECT_REQUEST, Action.EXPORT),
        "may_erase": is_open
        and item.kind == SubjectRequestKind.DELETION
        and allows(user, ObjectType.SUBJECT_REQUEST, Action.ERASE),
    }
    return render(request, "privacy/request_detail.html", context, status=status)


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def subject_request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    return _detail(request, selectors.subject_request_get_for_user(page_user(request), request_id))


@login_required
@not_found_for_refusals
@require_POST
def subject_request_close_view(request: HttpRequest, request_id: str) -> HttpResponse:
    user = page_user(request)
    item = selectors.subject_request_get_for_user(user, request_id)
    form = SubjectRequestCloseForm(request.POST)
    if form.is_valid():
        try:
            services.subject_request_close(actor=user, request=item, **form.cleaned_data)
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Request closed."))
            return redirect("subject_request_detail", request_id=item.public_id)
    return _detail(request, item, close_form=form, status=400)


@never_cache
@login_required
@not_found_for_refusals
@require_POST
def subject_request_export_view(request: HttpRequest, request_id: str) -> HttpResponse:
    """The person's archive (JSON and CSV, zipped); downloading it completes the access request."""
    user = page_user(request)
    item = selectors.subject_request_get_for_user(user, request_id)
    try:
        archive = services.subject_export(actor=user, request=item)
    except ServiceValidationError as error:
        messages.error(request, error.reasons)
        return redirect("subject_request_detail", request_id=item.public_id)
    return attachment(archive, file_format="zip", name=f"subject-{item.public_id}")


@login_required
@not_found_for_refusals
@require_POST
def subject_request_erase_view(request: HttpRequest, request_id: str) -> HttpResponse:
    user = page_user(request)
    item = selectors.subject_request_get_for_user(user, request_id)
    form = SubjectRequestEraseForm(request.POST)
    if form.is_valid():
        try:
            services.subject_erase(actor=user, request=item)
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("The person was erased; their orders remain, anonymised."))
            return redirect("subject_request_detail", request_id=item.public_id)
    return _detail(request, item, erase_form=form, status=400)


# ---- retention -------------------------------------------------------------------------------------------------


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def retention_page(request: HttpRequest) -> HttpResponse:
    """The rules and what each would flag or anonymise now; the scheduled `kehu privacy retention run` acts on them."""
    user = page_user(request)
    require(user, ObjectType.RETENTION, Action.VIEW)
    form = RetentionRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.retention_rule_set(actor=user, **form.cleaned_data)
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Rule saved. Nothing is removed before it has been reported here."))
            return redirect(reverse("retention"))
    context = {
        "rules": list(RetentionRule.objects.order_by("data_type")),
        "report": [
            {
                **row.__dict__,
                "data_type_label": RetentionDataType(row.data_type).label,
                "action_label": RetentionAction(row.action).label,
            }
            for row in services.retention_report(actor=user)
        ],
        "form": form,
        "may_change": allows(user, ObjectType.RETENTION, Action.CHANGE),
    }
    return render(request, "privacy/retention.html", context, status=400 if form.errors else 200)
