"""Password sign-in with throttling and lockout, sign-out and session expiry; every outcome is audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.accounts.models import SignInAttempt, User
from kehu.audit.context import audit_context
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record

SIGNED_IN_AT = "kehu_signed_in_at"
LAST_SEEN_AT = "kehu_last_seen_at"


@dataclass(frozen=True)
class SignInRefused(Exception):
    """The sign-in did not succeed; `message` is safe to show (it never says whether the user exists)."""

    message: str


def _client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _locked(username: str, address: str | None, since: dt.datetime) -> bool:
    failures = SignInAttempt.objects.filter(succeeded=False, at__gte=since)
    if failures.filter(username=username).count() >= settings.KEHU_SIGNIN_MAX_FAILURES:
        return True
    limit = settings.KEHU_SIGNIN_MAX_FAILURES * 4
    return address is not None and failures.filter(ip_address=address).count() >= limit


def user_sign_in(*, request: HttpRequest, username: str, password: str) -> User:
    """Check the password unless the name or address is locked out; sign the user in and audit the outcome."""
    username = username.strip()
    address = _client_address(request)
    now = timezone.now()
    since = now - dt.timedelta(minutes=settings.KEHU_SIGNIN_LOCK_MINUTES)
    refusal: SignInRefused | None = None
    signed_in: User | None = None
    with audit_context(source="web", ip_address=address), transaction.atomic():
        if _locked(username, address, since):
            SignInAttempt.objects.create(username=username, ip_address=address, succeeded=False, at=now)
            audit_record(event=AuditEvent.USER_LOCKED_OUT, actor=None, target_type="user", target_id=username[:64])
            minutes = settings.KEHU_SIGNIN_LOCK_MINUTES
            refusal = SignInRefused(
                _("Too many failed sign-ins. Try again in %(minutes)d minutes.") % {"minutes": minutes}
            )
        else:
            user = authenticate(request, username=username, password=password)
            SignInAttempt.objects.create(username=username, ip_address=address, succeeded=user is not None, at=now)
            if user is None:
                audit_record(
                    event=AuditEvent.USER_SIGN_IN_FAILED, actor=None, target_type="user", target_id=username[:64]
                )
                refusal = SignInRefused(_("Your user name and password did not match. Please try again."))
            else:
                assert isinstance(user, User)
                signed_in = user
                login(request, user)
                request.session[SIGNED_IN_AT] = now.timestamp()
                request.session[LAST_SEEN_AT] = now.timestamp()
                audit_record(event=AuditEvent.USER_SIGNED_IN, actor=user, target_type="user", target_id=str(user.pk))
    if refusal is not None or signed_in is None:
        raise refusal or SignInRefused(_("Your user name and password did not match. Please try again."))
    return signed_in  # the refusal is raised after the transaction, so that the failed attempt stays recorded


def user_sign_out(*, request: HttpRequest, event: AuditEvent = AuditEvent.USER_SIGNED_OUT) -> None:
    user = request.user if request.user.is_authenticated else None
    if isinstance(user, User):
        with audit_context(source="web", ip_address=_client_address(request)), transaction.atomic():
            audit_record(event=event, actor=user, target_type="user", target_id=str(user.pk))
    logout(request)


def session_expired(request: HttpRequest, now: dt.datetime) -> bool:
    """Whether the signed-in session has been idle too long or lasted too long since sign-in."""
    signed_in = request.session.get(SIGNED_IN_AT)
    seen = request.session.get(LAST_SEEN_AT)
    if signed_in is None or seen is None:
        return False  # signed in some other way (tests, admin tools): Django's own expiry applies
    idle = now.timestamp() - float(seen) > settings.KEHU_SESSION_IDLE_MINUTES * 60
    too_long = now.timestamp() - float(signed_in) > settings.KEHU_SESSION_ABSOLUTE_HOURS * 3600
    return idle or too_long
