"""What every page view shares: the signed-in user, safe redirects, htmx details, service errors put next to
form fields, and refusals answered as 404 (as the API does)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from kehu.accounts.models import User
from kehu.core.errors import NotFoundError, PermissionDeniedError, ServiceValidationError

View = Callable[..., HttpResponse]


def page_user(request: HttpRequest) -> User:
    """The signed-in user of a view behind `login_required`."""
    user = request.user
    assert isinstance(user, User)
    return user


def safe_next(request: HttpRequest, default: str = "/") -> str:
    """The `next` address of the request if it stays on this site, else `default`."""
    next_url = request.POST.get("next") or request.GET.get("next") or default
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return default
    return next_url


def day_start(day: dt.date | None, *, next_day: bool = False) -> dt.datetime | None:
    """Midnight at the start of `day` (or of the day after, for an inclusive "to" date) in kehu's time zone."""
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1 if next_day else 0), dt.time()))


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def job_status_part(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse | None:
    """The job's status part when htmx polls for it (`?part=status`), else None.

    Once the job has ended (`context["running"]` false) the answer asks htmx to reload the whole page, so what the
    job found is drawn, not only its status.
    """
    if not (is_htmx(request) and request.GET.get("part") == "status"):
        return None
    response = render(request, template, context)
    if not context["running"]:
        response["HX-Refresh"] = "true"
    return response


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap (None for an ordinary request)."""
    details = getattr(request, "htmx", None)
    return details.target if details else None


def next_page_query(request: HttpRequest, cursor: str | None) -> str | None:
    """The query string of the next page: the same filters with the cursor the last page ended on."""
    if not cursor:
        return None
    query = request.GET.copy()
    query["cursor"] = cursor
    return query.urlencode()


def show_errors(form: forms.Form, error: ServiceValidationError, aliases: dict[str, str] | None = None) -> None:
    """Put each service error next to the form field it names (or at the top of the form)."""
    for item in error.errors:
        name = (aliases or {}).get(item.field, item.field)
        if name.startswith("attributes."):
            name = "attr_" + name.removeprefix("attributes.")
        form.add_error(name if name in form.fields else None, item.reason)


def not_found_for_refusals(view: View) -> View:
    """Outside one's scope or role, a page does not exist (404), as in the API; nothing is changed."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFoundError:
            raise Http404(_("No such customer, or not one you can see.")) from None
        except PermissionDeniedError:
            raise Http404(_("No such page, or not one you can use.")) from None

    return wrapper
