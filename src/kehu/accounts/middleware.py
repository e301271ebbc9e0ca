"""Ends sessions that were idle too long or signed in too long ago."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone

from kehu.accounts.signin import LAST_SEEN_AT, session_expired, user_sign_out
from kehu.audit.models import AuditEvent

# Saving the session on every request would write to the database on every read; once a minute is enough.
TOUCH_SECONDS = 60


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now()
            if session_expired(request, now):
                user_sign_out(request=request, event=AuditEvent.SESSION_EXPIRED)
                if request.path.startswith("/api/"):
                    return JsonResponse({"errors": [{"field": None, "reason": "your session has expired"}]}, status=401)
                return redirect(f"/accounts/login/?next={request.path}")
            seen = request.session.get(LAST_SEEN_AT)
            if seen is not None and now.timestamp() - float(seen) > TOUCH_SECONDS:
                request.session[LAST_SEEN_AT] = now.timestamp()
        return self.get_response(request)
