"""Duplicate pages: the review queue (a search with live progress and its weight chart, the groups most
confident first, recent merges, the administrator's policy), a group side by side to merge, mark "not the
same" or skip, and a merge with its undo. Each action is the service the API and CLI call: the same scope,
permissions and audit records; refusals by scope or role are 404s, as everywhere in the pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kehu.accounts.access import allows
from kehu.accounts.roles import Action, ObjectType
from kehu.core.errors import ServiceValidationError
from kehu.core.models import Job, JobState
from kehu.customers.models import Customer
from kehu.customers.rendering import masked_name, may_see_names
from kehu.dedup import merge as merging
from kehu.dedup import selectors
from kehu.dedup.check import Entered, candidates_out, likely_duplicates
from kehu.dedup.linkage import BLOCK_MAX
from kehu.dedup.models import MatchGroup, SurvivorRule
from kehu.dedup.services import DEFAULT_THRESHOLD, dedup_start
from kehu.web.pages import job_status_part, not_found_for_refusals, page_user, show_errors

QUEUE_LIMIT = 100


class RunForm(forms.Form):
    threshold = forms.FloatField(
        label=gettext_lazy("Group customers from a match probability of"),
        min_value=0.5,
        max_value=0.99,
        initial=DEFAULT_THRESHOLD,
    )


class PolicyForm(forms.Form):
    auto_merge_threshold = forms.FloatField(
        label=gettext_lazy("Merge without review from a match probability of"),
        required=False,
        min_value=merging.AUTO_MERGE_FLOOR,
        max_value=1,
        help_text=gettext_lazy("Empty: a person reviews every group."),
    )
    rule = forms.ChoiceField(label=gettext_lazy("Survivorship rule"), choices=SurvivorRule.choices)
    trusted_sources = forms.CharField(
        label=gettext_lazy("Trusted sources, most trusted first"),
        required=False,
        max_length=300,
        help_text=gettext_lazy("Source systems separated by commas, e.g. erp, shop, import."),
    )
    learn_from_decisions = forms.BooleanField(
        label=gettext_lazy("Learn from decisions"),
        required=False,
        help_text=gettext_lazy(
            "Each search learns from the groups people merged and marked “not the same”: what duplicates "
            "here look like, and how sure to be."
        ),
    )


def _latest_search(user: Any) -> Job | None:
    return Job.objects.filter(kind="dedup", created_by=user).order_by("-created_at").first()


def _weight_chart(job: Job | None) -> dict[str, Any] | None:
    """The distribution of match weights of the last search, as an ECharts option (log scale: few duplicates
    among many non-matches)."""
    if job is None or job.state != JobState.SUCCEEDED or not job.result.get("weight_histogram"):
        return None
    histogram = job.result["weight_histogram"]
    counts = [count for _weight, count in histogram]
    # A log scale shows the few duplicates beside the mass of different people; a small base needs none.
    y_axis = {"type": "log", "min": 1} if max(counts) > 100 else {"type": "value", "minInterval": 1}
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 16, "top": 24, "bottom": 40},
        "xAxis": {
            "type": "category",
            "name": _("match weight"),
            "nameLocation": "center",
            "nameGap": 26,
            "data": [str(weight) for weight, _count in histogram],
        },
        "yAxis": {**y_axis, "name": _("pairs")},
        "series": [{"type": "bar", "data": counts, "name": _("pairs")}],
    }


def _queue_rows(user: Any, groups: list[MatchGroup]) -> list[dict[str, Any]]:
    """Each group's names and strongest reasons: two queries for the whole queue, not two per group."""
    names = may_see_names(user)
    members = selectors.queue_members(user, groups)
    reasons = selectors.queue_reasons(members)
    return [
        {
            "group": group,
            "names": [masked_name(name, names) for _pk, _public_id, name in members[group.pk]],
            "reasons": reasons.get(group.pk, []),
        }
        for group in groups
    ]


@login_required
@not_found_for_refusals
@require_GET
def duplicates(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    groups = list(selectors.groups_for_user(user)[:QUEUE_LIMIT])
    job = _latest_search(user)
    may_set_policy = allows(user, ObjectType.DEDUP_POLICY, Action.CHANGE)
    current = merging.policy()
    context = {
        "rows": _queue_rows(user, groups),
        "job": job,
        "running": job is not None and job.state in (JobState.QUEUED, JobState.RUNNING),
        "weight_chart": _weight_chart(job),
        "common_values": sum(((job.result or {}).get("common_values") or {}).values()) if job else 0,
        "block_max": BLOCK_MAX,
        "run_form": RunForm(),
        "merges": list(selectors.merges_for_user(user).prefetch_related("merged")[:20]),
        "policy": current,
        "policy_form": PolicyForm(
            initial={
                "auto_merge_threshold": current.auto_merge_threshold,
                "rule": current.rule,
                "trusted_sources": current.trusted_sources,
                "learn_from_decisions": current.learn_from_decisions,
            }
        )
        if may_set_policy
        else None,
        "may_merge": allows(user, ObjectType.CUSTOMER, Action.ARCHIVE),
    }
    return job_status_part(request, "dedup/_run_status.html", context) or render(request, "dedup/queue.html", context)


@login_required
@not_found_for_refusals
@require_POST
def duplicates_run(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = RunForm(request.POST)
    if form.is_valid():
        dedup_start(actor=user, threshold=form.cleaned_data["threshold"])
        messages.success(request, _("The search has started; the groups appear here when it ends."))
    else:
        _form_errors(request, form)
    return redirect("duplicates")


def _form_errors(request: HttpRequest, form: forms.Form) -> None:
    """A form on the queue page posts elsewhere and comes back: its errors return as one message."""
    messages.error(
        request,
        "; ".join(
            f"{form[name].label}: {error}"
            for name, errors in form.errors.items()
            for error in errors
            if name in form.fields
        ),
    )


@login_required
@not_found_for_refusals
@require_POST
def duplicates_policy(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = PolicyForm(request.POST)
    if form.is_valid():
        try:
            merging.policy_set(actor=user, **form.cleaned_data)
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("duplicates")
    _form_errors(request, form)
    return redirect("duplicates")


def _group_context(user: Any, group: MatchGroup) -> dict[str, Any]:
    review = selectors.group_review(user, group)
    members, shown, survivor = review.members, review.shown, review.survivor
    ordered = [survivor, *(member for member in members if member.pk != survivor.pk)]
    current = merging.policy()
    _values, _attributes, source = merging.resolve(ordered, current.rule, {}, current.trusted())
    rows = []
    for row in review.rows:
        default = source.get(row.name)
        choosable = row.name in merging.MERGE_FIELDS and row.agree is False
        rows.append(
            {
                "row": row,
                "cells": [
                    {"member": member, "value": value, "checked": member.pk == default}
                    for member, value in zip(members, row.values, strict=True)
                ],
                "choosable": choosable,
            }
        )
    return {
        "group": group,
        "members": [{"customer": m, "shown": shown[m.pk], "suggested": m.pk == survivor.pk} for m in members],
        "rows": rows,
        "pairs": [
            {**pair, "a_name": shown[pair["a"].pk]["display_name"], "b_name": shown[pair["b"].pk]["display_name"]}
            for pair in review.pairs
        ],
        "rule": current.get_rule_display(),
        "may_merge": allows(user, ObjectType.CUSTOMER, Action.ARCHIVE),
    }


@login_required
@not_found_for_refusals
@require_GET
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    user = page_user(request)
    group = selectors.group_get_for_user(user, group_id)
    return render(request, "dedup/group.html", _group_context(user, group))


@login_required
@not_found_for_refusals
@require_POST
def group_merge(request: HttpRequest, group_id: int) -> HttpResponse:
    user = page_user(request)
    group = selectors.group_get_for_user(user, group_id)
    members = {str(member.public_id): member for member in selectors.group_members(user, group)}
    included = [members[key] for key in request.POST.getlist("include") if key in members]
    survivor = members.get(request.POST.get("survivor", ""))
    error = None
    if len(included) < 2:
        error = _("Tick at least two records to merge.")
    elif survivor is None or survivor not in included:
        error = _("Choose which record to keep among those ticked.")
    if error is None and survivor is not None:
        picks = {}
        for name in merging.MERGE_FIELDS:
            giver = members.get(request.POST.get(f"pick_{name}", ""))
            if giver is not None and giver in included:
                picks[name] = giver
        try:
            merge = merging.customers_merge(
                actor=user,
                survivor=survivor,
                others=[member for member in included if member.pk != survivor.pk],
                picks=picks,
                group=group,
            )
        except ServiceValidationError as refused:
            error = "; ".join(item.reason for item in refused.errors)
        else:
            messages.success(request, _("Merged. Everything is on the record kept; you can undo it here."))
            return redirect("merge_detail", merge_id=merge.public_id)
    context = _group_context(user, group)
    context["error"] = error
    return render(request, "dedup/group.html", context, status=400)


@login_required
@not_found_for_refusals
@require_POST
def group_decide(request: HttpRequest, group_id: int, decision: str) -> HttpResponse:
    user = page_user(request)
    group = selectors.group_get_for_user(user, group_id)
    if decision == "not-same":
        merging.group_dismiss(actor=user, group=group)
        messages.success(request, _("Marked as different customers: they will not be suggested together again."))
    else:
        merging.group_skip(actor=user, group=group)
        messages.info(request, _("Skipped: the next search may suggest them again."))
    return redirect("duplicates")


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def merge_detail(request: HttpRequest, merge_id: str) -> HttpResponse:
    user = page_user(request)
    merge = selectors.merge_get_for_user(user, merge_id)
    if request.method == "POST":
        try:
            merging.merge_undo(actor=user, merge=merge)
        except ServiceValidationError as refused:
            messages.error(request, "; ".join(item.reason for item in refused.errors))
        else:
            messages.success(request, _("Undone: the customers are separate again, as they were."))
        return redirect("merge_detail", merge_id=merge.public_id)
    names = may_see_names(user)
    merged = list(Customer.objects.filter(pk__in=merge.merged.values("pk")).order_by("pk"))
    labels = {field.name: str(field.verbose_name) for field in Customer._meta.concrete_fields}
    by_public = {str(c.public_id): c for c in [merge.survivor, *merged]}
    choices = [
        {
            "label": labels.get(name, name),
            "from": masked_name(by_public[key].display_name, names) if key in by_public else "",
        }
        for name, key in merge.choices.items()
        if not name.startswith("attributes.") and key != str(merge.survivor.public_id)
    ]
    context = {
        "merge": merge,
        "survivor_name": masked_name(merge.survivor.display_name, names),
        "merged": [{"customer": c, "name": masked_name(c.display_name, names)} for c in merged],
        "choices": choices,
        "may_undo": merge.undone_at is None and allows(user, ObjectType.CUSTOMER, Action.ARCHIVE),
    }
    return render(request, "dedup/merge.html", context)


@login_required
@not_found_for_refusals
@require_POST
def duplicate_hints(request: HttpRequest) -> HttpResponse:
    """While a customer is being entered (the new-customer form posts its fields on each change): who is
    probably the same person, with why, before anything is saved."""
    user = page_user(request)
    data = request.POST
    contacts = [(kind, data.get(kind, "")) for kind in ("mobile", "email") if data.get(kind, "").strip()]
    entered = Entered(
        name=data.get("display_name", "")[:200],
        company=data.get("company_name", "")[:200],
        contacts=contacts,
        address=data.get("address", "")[:300],
    )
    found = likely_duplicates(user, entered) if entered.name.strip() or contacts else []
    return render(request, "dedup/_hints.html", {"candidates": candidates_out(user, found)})
