"""The audit viewer: who saw or changed what, when and from where; filtered, paged and exported as CSV.

For the auditor and the administrator only (any other role gets a 404, as from the API). The page shows ids and
field names, never the personal data itself, so the auditor reads the log without reading customers.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from kehu.audit.forms import SOURCES, AuditFilterForm
from kehu.audit.models import AuditChainHead
from kehu.audit.selectors import (
    EXPORT_LIMIT,
    AuditFilters,
    audit_csv_response,
    audit_records_for_user,
    audit_rows,
)
from kehu.core.pagination import paginate
from kehu.web.pages import day_start, next_page_query, not_found_for_refusals, page_user

PAGE = 100


def _filters(form: AuditFilterForm) -> AuditFilters:
    data = form.cleaned_data if form.is_bound else {}
    return AuditFilters(
        event=data.get("event", ""),
        actor=data.get("actor", "").strip(),
        customer=data.get("customer"),
        target_type=data.get("target_type", "").strip(),
        target_id=data.get("target_id", "").strip(),
        source=data.get("source", ""),
        since=day_start(data.get("since")),
        until=day_start(data.get("until"), next_day=True),
    )


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def audit_list(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = AuditFilterForm(request.GET or None)
    rows: list[dict[str, Any]] = []
    next_query = None
    valid = not form.is_bound or form.is_valid()
    records = audit_records_for_user(user, _filters(form) if valid else AuditFilters())
    if valid:
        cursor = form.cleaned_data.get("cursor") if form.is_bound else None
        page = paginate(records, sort="-sequence", cursor=cursor or None, limit=PAGE)
        rows = audit_rows(page.items)
        labels = dict(SOURCES)
        for row in rows:
            row["source_label"] = labels.get(row["source"], row["source"])
        next_query = next_page_query(request, page.next_cursor)
    state = request.GET.copy()
    state.pop("cursor", None)
    context = {
        "form": form,
        "rows": rows,
        "next_query": next_query,
        "export_query": state.urlencode(),
        "export_limit": EXPORT_LIMIT,
        "head": AuditChainHead.objects.first(),
    }
    return render(request, "audit/list.html", context)


@login_required
@not_found_for_refusals
@require_http_methods(["GET"])
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV, newest first, at most EXPORT_LIMIT rows (as the API's export)."""
    user = page_user(request)
    form = AuditFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    records = audit_records_for_user(user, _filters(form) if valid else AuditFilters())  # refuses other roles
    if not valid:
        return render(request, "audit/list.html", {"form": form, "rows": []}, status=400)
    return audit_csv_response(list(records.order_by("-sequence")[:EXPORT_LIMIT]))
