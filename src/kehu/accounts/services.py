"""Users, teams and personal API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from kehu.accounts.models import ApiToken, Team, User
from kehu.accounts.roles import Role
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record
from kehu.core.errors import ServiceValidationError

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
        raise ServiceValidationError.single("name", "give the token a name, such as the script that uses it")
    if expires_at is not None and expires_at <= timezone.now():
        raise ServiceValidationError.single("expires_at", "is in the past")
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
