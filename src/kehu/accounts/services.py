"""Users, teams and personal API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from kehu.accounts.models import ApiToken, Team, User, UserSession
from kehu.accounts.roles import Role
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record
from kehu.core.errors import FieldError, ServiceValidationError
from kehu.core.normalize import NormalisationError, normalize_email, normalize_phone

TOKEN_PREFIX = "kehu_"  # noqa: S105 - a public marker that makes leaked tokens easy to scan for


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


@transaction.atomic
def api_token_create(*, actor: User, name: str, expires_at: dt.datetime | None = None) -> IssuedToken:
    """Issue a personal API token for the actor; the secret is returned once and never stored."""
    if not name.strip():
        raise ServiceValidationError.single("name", gettext("give the token a name, such as the script that uses it"))
    if expires_at is not None and expires_at <= timezone.now():
        raise ServiceValidationError.single("expires_at", gettext("is in the past"))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor, name=name.strip(), prefix=secret[:12], key_hash=token_hash(secret), expires_at=expires_at
    )
    audit_record(event=AuditEvent.TOKEN_CREATED, actor=actor, target_type="api_token", target_id=str(token.pk))
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(event=AuditEvent.TOKEN_REVOKED, actor=actor, target_type="api_token", target_id=str(token.pk))


def api_token_authenticate(secret: str) -> User | None:
    """The active user a token belongs to, or None for an unknown, revoked or expired token."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(secret), revoked_at=None).first()
    now = timezone.now()
    if token is None or (token.expires_at is not None and token.expires_at <= now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        # Coarse on purpose: a write per request would serialise API reads on SQLite.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def team_get_or_create(*, name: str) -> Team:
    team, _ = Team.objects.get_or_create(name=name)
    return team


def user_create(
    *,
    username: str,
    password: str,
    role: Role,
    team: Team | None = None,
    display_name: str = "",
    email: str = "",
) -> User:
    user = User(
        username=username,
        role=role,
        team=team,
        display_name=display_name,
        email=email,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    user.set_password(password)
    user.save()
    return user


def sessions_end(*, user: User, keep: str | None = None) -> int:
    """End the user's signed-in sessions (all, or all but `keep`); returns how many ended."""
    rows = UserSession.objects.filter(user=user)
    if keep:
        rows = rows.exclude(session_key=keep)
    keys = list(rows.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    rows.delete()
    return len(keys)


@transaction.atomic
def user_deactivate(*, actor: User | None, user: User) -> int:
    """Disable a user: they cannot sign in, their tokens stop working and every session of theirs ends now."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = sessions_end(user=user)
    audit_record(
        event=AuditEvent.USER_DEACTIVATED,
        actor=actor,
        target_type="user",
        target_id=str(user.pk),
        extra={"sessions_ended": ended},
    )
    return ended


@transaction.atomic
def user_password_change(*, user: User, password: str, keep_session: str | None) -> None:
    """Set a new password (checked against the password rules); every other session of the user ends."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ServiceValidationError([FieldError("new_password", message) for message in error.messages]) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    sessions_end(user=user, keep=keep_session)
    audit_record(event=AuditEvent.USER_PASSWORD_CHANGED, actor=user, target_type="user", target_id=str(user.pk))


@transaction.atomic
def user_contact_change(*, user: User, email: str, phone: str) -> User:
    """Change one's own email and mobile phone, normalised; the audit record says which changed, not the values."""
    errors: list[FieldError] = []
    values: dict[str, str] = {"email": "", "phone": ""}
    for field, raw, normalise in (("email", email, normalize_email), ("phone", phone, normalize_phone)):
        if raw.strip():
            try:
                values[field] = normalise(raw)
            except NormalisationError as error:
                errors.append(FieldError(field, str(error)))
    if errors:
        raise ServiceValidationError(errors)
    changed = sorted(field for field, value in values.items() if getattr(user, field) != value)
    if changed:
        for field in changed:
            setattr(user, field, values[field])
        user.save(update_fields=changed)
        audit_record(
            event=AuditEvent.USER_CONTACT_CHANGED,
            actor=user,
            target_type="user",
            target_id=str(user.pk),
            fields=changed,
        )
    return user
