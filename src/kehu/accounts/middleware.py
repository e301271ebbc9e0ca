"""Ends sessions that were idle too long or signed in too long ago, and sessions that lack a required second factor."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone

from kehu.accounts.models import User
from kehu.accounts.signin import LAST_SEEN_AT, require_second_factor, session_expired, user_sign_out
from kehu.accounts.two_factor import two_factor_required
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


def _verified(user: User) -> bool:
    """django-otp's OTPMiddleware gives the request's user `is_verified()`: whether this session gave a code."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


class TwoFactorMiddleware:
    """A session whose user's role requires two-factor but that was not verified with a code goes back to the
    code step: for instance when an administrator gives a signed-in rep a role that may reveal personal data."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_authenticated and two_factor_required(user) and not _verified(user):
            require_second_factor(request)
            if request.path.startswith("/api/"):
                reason = "your role requires two-factor sign-in; sign in again with a code"
                return JsonResponse({"errors": [{"field": None, "reason": reason}]}, status=401)
            return redirect(f"/accounts/two-factor/?next={request.path}")
        return self.get_response(request)
