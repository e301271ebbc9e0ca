"""Sign-in in one or two steps, re-authentication, sign-out and session expiry; every outcome is audited.

Step one checks the password. A user who needs a second factor is not signed in yet: the session only holds
who passed step one and when, for a few minutes, and grants nothing. Step two takes a code from the
authenticator (or a backup code), or sets an authenticator up first where the role requires one. Failed codes
count towards the same lockout as failed passwords.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from kehu.accounts.models import SignInAttempt, User, UserSession
from kehu.accounts.two_factor import (
    second_factor_verify,
    totp_confirm,
    totp_resume_or_begin,
    two_factor_enabled,
    two_factor_needed,
    unconfirmed_device,
)
from kehu.audit.context import audit_context
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record

SIGNED_IN_AT = "kehu_signed_in_at"
LAST_SEEN_AT = "kehu_last_seen_at"
REAUTHENTICATED_AT = "kehu_reauthenticated_at"
PENDING_USER = "kehu_pending_user"
PENDING_AT = "kehu_pending_at"
PENDING_DEVICE = "kehu_pending_device"
PENDING_MINUTES = 5


class SignInStep(StrEnum):
    DONE = "done"
    CODE = "code"  # enter a code from the authenticator
    SETUP = "setup"  # the role requires two-factor and the user has none yet


@dataclass(frozen=True)
class SignInRefused(Exception):
    """The sign-in did not succeed; `message` is safe to show (it never says whether the user exists)."""

    message: str


def client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _locked(username: str, address: str | None, since: dt.datetime) -> bool:
    failures = SignInAttempt.objects.filter(succeeded=False, at__gte=since)
    if failures.filter(username=username).count() >= settings.KEHU_SIGNIN_MAX_FAILURES:
        return True
    limit = settings.KEHU_SIGNIN_MAX_FAILURES * 4
    return address is not None and failures.filter(ip_address=address).count() >= limit


def _lock_refusal(username: str, address: str | None, now: dt.datetime) -> SignInRefused | None:
    if not _locked(username, address, now - dt.timedelta(minutes=settings.KEHU_SIGNIN_LOCK_MINUTES)):
        return None
    SignInAttempt.objects.create(username=username, ip_address=address, succeeded=False, at=now)
    audit_record(event=AuditEvent.USER_LOCKED_OUT, actor=None, target_type="user", target_id=username[:64])
    minutes = settings.KEHU_SIGNIN_LOCK_MINUTES
    return SignInRefused(_("Too many failed sign-ins. Try again in %(minutes)d minutes.") % {"minutes": minutes})


def user_sign_in(*, request: HttpRequest, username: str, password: str) -> SignInStep:
    """Check the password unless the name or address is locked out; sign in, or ask for the second factor."""
    username = username.strip()
    address = client_address(request)
    now = timezone.now()
    refusal: SignInRefused | None = None
    step = SignInStep.DONE
    with audit_context(source="web", ip_address=address), transaction.atomic():
        refusal = _lock_refusal(username, address, now)
        if refusal is None:
            user = authenticate(request, username=username, password=password)
            SignInAttempt.objects.create(username=username, ip_address=address, succeeded=user is not None, at=now)
            if user is None:
                audit_record(
                    event=AuditEvent.USER_SIGN_IN_FAILED, actor=None, target_type="user", target_id=username[:64]
                )
                refusal = SignInRefused(_("Your user name and password did not match. Please try again."))
            else:
                assert isinstance(user, User)
                if two_factor_needed(user):
                    step = SignInStep.CODE if two_factor_enabled(user) else SignInStep.SETUP
                    _pending_store(request, user, now)
                else:
                    _complete(request, user, device=None, now=now)
    if refusal is not None:
        raise refusal  # raised after the transaction, so that the failed attempt stays recorded
    return step


def _pending_store(request: HttpRequest, user: User, now: dt.datetime) -> None:
    request.session.cycle_key()
    request.session[PENDING_USER] = user.pk
    request.session[PENDING_AT] = now.timestamp()


def pending_user(request: HttpRequest) -> User | None:
    """The user who passed the password step in this session a few minutes ago, if any."""
    user_id = request.session.get(PENDING_USER)
    at = request.session.get(PENDING_AT)
    if user_id is None or at is None:
        return None
    if timezone.now().timestamp() - float(at) > PENDING_MINUTES * 60:
        pending_clear(request)
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def pending_clear(request: HttpRequest) -> None:
    for key in (PENDING_USER, PENDING_AT, PENDING_DEVICE):
        request.session.pop(key, None)


def require_second_factor(request: HttpRequest) -> None:
    """Take a signed-in session back to the code step (the role now requires a second factor it has not given)."""
    user = request.user
    assert isinstance(user, User)
    logout(request)
    _pending_store(request, user, timezone.now())


def _complete(request: HttpRequest, user: User, *, device: Device | None, now: dt.datetime) -> None:
    pending_clear(request)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    request.session[SIGNED_IN_AT] = now.timestamp()
    request.session[LAST_SEEN_AT] = now.timestamp()
    request.session[REAUTHENTICATED_AT] = now.timestamp()
    request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "created_at": now,
            "ip_address": client_address(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
        },
    )
    audit_record(event=AuditEvent.USER_SIGNED_IN, actor=user, target_type="user", target_id=str(user.pk))


def _code_refused(request: HttpRequest, user: User, now: dt.datetime) -> SignInRefused:
    SignInAttempt.objects.create(username=user.username, ip_address=client_address(request), succeeded=False, at=now)
    audit_record(event=AuditEvent.USER_TWO_FACTOR_FAILED, actor=user, target_type="user", target_id=str(user.pk))
    return SignInRefused(_("That code is not valid. Enter the current code from your authenticator app."))


def _expired() -> SignInRefused:
    return SignInRefused(_("Your sign-in took too long. Please enter your password again."))


def second_factor_sign_in(*, request: HttpRequest, code: str) -> None:
    """Finish signing in with a code from the authenticator or a backup code."""
    now = timezone.now()
    refusal: SignInRefused | None = None
    with audit_context(source="web", ip_address=client_address(request)), transaction.atomic():
        user = pending_user(request)
        if user is None:
            refusal = _expired()
        else:
            refusal = _lock_refusal(user.username, client_address(request), now)
            if refusal is None:
                device = second_factor_verify(user=user, code=code)
                if device is None:
                    refusal = _code_refused(request, user, now)
                else:
                    _complete(request, user, device=device, now=now)
    if refusal is not None:
        raise refusal


def enrolment_start(request: HttpRequest) -> TOTPDevice:
    """The authenticator the user is setting up in the middle of signing in (begun on the first visit)."""
    user = pending_user(request)
    if user is None:
        raise _expired()
    device = totp_resume_or_begin(user=user, device_id=request.session.get(PENDING_DEVICE))
    request.session[PENDING_DEVICE] = device.pk
    return device


def enrolment_sign_in(*, request: HttpRequest, code: str) -> list[str]:
    """Confirm the new authenticator with its first code and finish signing in; returns the backup codes."""
    now = timezone.now()
    refusal: SignInRefused | None = None
    codes: list[str] | None = None
    with audit_context(source="web", ip_address=client_address(request)), transaction.atomic():
        user = pending_user(request)
        device = unconfirmed_device(user, request.session.get(PENDING_DEVICE)) if user else None
        if user is None or device is None:
            refusal = _expired()
        else:
            refusal = _lock_refusal(user.username, client_address(request), now)
            if refusal is None:
                codes = totp_confirm(user=user, device=device, code=code)
                if codes is None:
                    refusal = _code_refused(request, user, now)
                else:
                    _complete(request, user, device=device, now=now)
    if refusal is not None or codes is None:
        raise refusal or _expired()
    return codes


def reauthenticate(*, request: HttpRequest, password: str, code: str = "") -> None:
    """Confirm the signed-in user's password (and code, if they use two-factor) before a sensitive change."""
    user = request.user
    assert isinstance(user, User)
    now = timezone.now()
    address = client_address(request)
    refusal: SignInRefused | None = None
    with audit_context(source="web", ip_address=address), transaction.atomic():
        refusal = _lock_refusal(user.username, address, now)
        if refusal is None:
            ok = user.check_password(password)
            if ok and two_factor_enabled(user):
                ok = second_factor_verify(user=user, code=code) is not None
            SignInAttempt.objects.create(username=user.username, ip_address=address, succeeded=ok, at=now)
            if ok:
                request.session[REAUTHENTICATED_AT] = now.timestamp()
                audit_record(
                    event=AuditEvent.USER_REAUTHENTICATED, actor=user, target_type="user", target_id=str(user.pk)
                )
            else:
                audit_record(
                    event=AuditEvent.USER_SIGN_IN_FAILED, actor=user, target_type="user", target_id=str(user.pk)
                )
                refusal = SignInRefused(_("That did not match. Please try again."))
    if refusal is not None:
        raise refusal


def recently_reauthenticated(request: HttpRequest) -> bool:
    at = request.session.get(REAUTHENTICATED_AT)
    if at is None:
        return False
    return timezone.now().timestamp() - float(at) <= settings.KEHU_REAUTH_MINUTES * 60


def user_sign_out(*, request: HttpRequest, event: AuditEvent = AuditEvent.USER_SIGNED_OUT) -> None:
    user = request.user if request.user.is_authenticated else None
    if isinstance(user, User):
        with audit_context(source="web", ip_address=client_address(request)), transaction.atomic():
            UserSession.objects.filter(session_key=request.session.session_key).delete()
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
