"""TOTP two-factor sign-in (RFC 6238, through django-otp) with one-time backup codes.

Required for the roles in `KEHU_TWO_FACTOR_ROLES` (by default the administrator and every role that may reveal
personal data); any user may turn it on for themselves. django-otp brings the parts that are easy to get wrong:
a tolerance of one time step, refusing a code that was already used (replay), and an increasing delay after
failures. kehu adds the lockout it applies to passwords, the audit trail and the enrolment flow.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import segno
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kehu.accounts.models import User
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record

BACKUP_CODES = 10
AUTHENTICATOR = "authenticator"
BACKUP = "backup"


def two_factor_required(user: User) -> bool:
    return user.role in settings.KEHU_TWO_FACTOR_ROLES


def two_factor_enabled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_needed(user: User) -> bool:
    """Whether signing in takes a code (or setting up an authenticator first)."""
    return two_factor_required(user) or two_factor_enabled(user)


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@dataclass(frozen=True)
class Enrolment:
    """What the user needs to add kehu to an authenticator app."""

    device: TOTPDevice
    secret: str  # base32, grouped by four for typing
    uri: str  # otpauth://totp/… as in the QR code
    qr_svg: str  # inline SVG, so it needs no image request and no inline script


def totp_begin(*, user: User) -> TOTPDevice:
    """A fresh, unconfirmed authenticator for the user; any earlier unfinished one is dropped."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)


def enrolment_of(device: TOTPDevice) -> Enrolment:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    uri = device.config_url
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff", omitsize=False)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return Enrolment(device=device, secret=grouped, uri=uri, qr_svg=qr_svg)


def unconfirmed_device(user: User, device_id: int | None) -> TOTPDevice | None:
    if device_id is None:
        return None
    return TOTPDevice.objects.filter(user=user, pk=device_id, confirmed=False).first()


def totp_resume_or_begin(*, user: User, device_id: int | None) -> TOTPDevice:
    """The authenticator being set up (its id kept in the session), or a fresh one if there is none."""
    return unconfirmed_device(user, device_id) or totp_begin(user=user)


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


@transaction.atomic
def totp_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the new authenticator with a code from it; returns the new backup codes, or None if the code is wrong.

    Confirming replaces any earlier authenticator and backup codes, so a lost phone is retired by enrolling anew.
    """
    if not device.verify_token(_clean(code)):
        return None  # the caller records the failed attempt
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _backup_codes_replace(user)
    audit_record(event=AuditEvent.USER_TWO_FACTOR_ENROLLED, actor=user, target_type="user", target_id=str(user.pk))
    return codes


def _backup_codes_replace(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=BACKUP, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    return codes


@transaction.atomic
def backup_codes_renew(*, user: User) -> list[str]:
    codes = _backup_codes_replace(user)
    audit_record(event=AuditEvent.USER_TWO_FACTOR_ENROLLED, actor=user, target_type="user", target_id=str(user.pk))
    return codes


def second_factor_verify(*, user: User, code: str) -> Device | None:
    """The confirmed device (authenticator first, then backup codes) that accepts the code, if any.

    A used backup code is deleted by django-otp; an authenticator code is refused a second time.
    """
    code = _clean(code)
    if not code:
        return None
    for device in devices_for_user(user, confirmed=True, for_verify=True):
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(code):
            return device
    return None


@transaction.atomic
def two_factor_reset(*, actor: User | None, user: User) -> None:
    """Remove a user's authenticator and backup codes (a lost phone); they set up a new one at next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_record(event=AuditEvent.USER_TWO_FACTOR_RESET, actor=actor, target_type="user", target_id=str(user.pk))
