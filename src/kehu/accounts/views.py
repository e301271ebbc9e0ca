"""Pages for the second sign-in step, re-authentication and one's own security settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kehu.accounts import services, two_factor
from kehu.accounts.forms import CodeForm, ContactForm, PasswordForm, ReauthenticateForm
from kehu.accounts.models import UserSession
from kehu.accounts.signin import (
    SignInRefused,
    enrolment_sign_in,
    enrolment_start,
    pending_user,
    reauthenticate,
    recently_reauthenticated,
    second_factor_sign_in,
)
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record
from kehu.core.errors import ServiceValidationError
from kehu.web.pages import page_user, safe_next, show_errors

SETUP_DEVICE = "kehu_setup_device"

View = Callable[..., HttpResponse]


def reauthentication_required(view: View) -> View:
    """Ask for the password (and code) again unless the user gave it in the last KEHU_REAUTH_MINUTES."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not recently_reauthenticated(request):
            return redirect("/accounts/reauthenticate/?" + urlencode({"next": request.get_full_path()}))
        return view(request, *args, **kwargs)

    return wrapper


@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_code(request: HttpRequest) -> HttpResponse:
    user = pending_user(request)
    if user is None:
        return redirect("/accounts/login/")
    if not two_factor.two_factor_enabled(user):
        return redirect("/accounts/two-factor/setup/?" + urlencode({"next": safe_next(request)}))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            second_factor_sign_in(request=request, code=form.cleaned_data["code"])
        except SignInRefused as refusal:
            form.add_error("code", refusal.message)
        else:
            left = two_factor.backup_codes_left(page_user(request))
            if left <= 3:
                messages.warning(
                    request, _("You have %(count)d backup codes left. Make new ones in Security.") % {"count": left}
                )
            return redirect(safe_next(request))
    return render(request, "accounts/two_factor_code.html", {"form": form, "next": safe_next(request)})


@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator in the middle of signing in (the role requires one)."""
    try:
        device = enrolment_start(request)
    except SignInRefused:
        return redirect("/accounts/login/")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = enrolment_sign_in(request=request, code=form.cleaned_data["code"])
        except SignInRefused as refusal:
            form.add_error("code", refusal.message)
        else:
            return render(request, "accounts/backup_codes.html", {"codes": codes, "next": safe_next(request)})
    context = {
        "form": form,
        "enrolment": two_factor.enrolment_of(device),
        "next": safe_next(request),
        "user": device.user,
    }
    return render(request, "accounts/two_factor_setup.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reauthenticate_view(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ReauthenticateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reauthenticate(request=request, password=form.cleaned_data["password"], code=form.cleaned_data["code"])
        except SignInRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            return redirect(safe_next(request, "/accounts/security/"))
    context = {
        "form": form,
        "next": safe_next(request, "/accounts/security/"),
        "needs_code": two_factor.two_factor_enabled(user),
    }
    return render(request, "accounts/reauthenticate.html", context)


@never_cache
@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    context = {
        "contact_form": ContactForm(initial={"email": user.email, "phone": user.phone}),
        "password_form": PasswordForm(),
        "two_factor_enabled": two_factor.two_factor_enabled(user),
        "two_factor_required": two_factor.two_factor_required(user),
        "backup_codes_left": two_factor.backup_codes_left(user),
        "sessions": UserSession.objects.filter(user=user).order_by("-created_at"),
        "current_session": request.session.session_key,
    }
    return render(request, "accounts/security.html", context)


@never_cache
@login_required
@reauthentication_required
@require_http_methods(["GET", "POST"])
def contact_change(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = ContactForm(request.POST or None, initial={"email": user.email, "phone": user.phone})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_contact_change(user=user, email=form.cleaned_data["email"], phone=form.cleaned_data["phone"])
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, _("Your email and phone are saved."))
            return redirect("/accounts/security/")
    return render(request, "accounts/contact_change.html", {"form": form})


@never_cache
@login_required
@reauthentication_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_password_change(
                user=user, password=form.cleaned_data["new_password"], keep_session=request.session.session_key
            )
        except ServiceValidationError as error:
            show_errors(form, error)
        else:
            old_key = request.session.session_key
            update_session_auth_hash(request, user)  # this session stays signed in (under a new key); others ended
            UserSession.objects.filter(session_key=old_key).update(session_key=request.session.session_key)
            messages.success(request, _("Your password is changed. You were signed out everywhere else."))
            return redirect("/accounts/security/")
    return render(request, "accounts/password_change.html", {"form": form})


@never_cache
@login_required
@reauthentication_required
@require_http_methods(["GET", "POST"])
def two_factor_manage(request: HttpRequest) -> HttpResponse:
    """Set up (or replace) one's authenticator while signed in."""
    user = page_user(request)
    device = two_factor.totp_resume_or_begin(user=user, device_id=request.session.get(SETUP_DEVICE))
    request.session[SETUP_DEVICE] = device.pk
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            codes = two_factor.totp_confirm(user=user, device=device, code=form.cleaned_data["code"])
            if codes is None:
                audit_record(
                    event=AuditEvent.USER_TWO_FACTOR_FAILED, actor=user, target_type="user", target_id=str(user.pk)
                )
        if codes is None:
            form.add_error("code", _("That code is not valid. Enter the current code from your authenticator app."))
        else:
            request.session.pop(SETUP_DEVICE, None)
            return render(request, "accounts/backup_codes.html", {"codes": codes, "next": "/accounts/security/"})
    context = {"form": form, "enrolment": two_factor.enrolment_of(device), "next": "/accounts/security/", "user": user}
    return render(request, "accounts/two_factor_setup.html", context)


@never_cache
@login_required
@reauthentication_required
@require_POST
def backup_codes_renew(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    if not two_factor.two_factor_enabled(user):
        return redirect("/accounts/security/")
    codes = two_factor.backup_codes_renew(user=user)
    return render(request, "accounts/backup_codes.html", {"codes": codes, "next": "/accounts/security/"})


@never_cache
@login_required
@reauthentication_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    user = page_user(request)
    with transaction.atomic():
        ended = services.sessions_end(user=user, keep=request.session.session_key)
        audit_record(
            event=AuditEvent.USER_SIGNED_OUT,
            actor=user,
            target_type="user",
            target_id=str(user.pk),
            extra={"other_sessions_ended": ended},
        )
    messages.success(request, _("Signed out of %(count)d other sessions.") % {"count": ended})
    return redirect("/accounts/security/")
