"""/api/v1/me and personal API tokens."""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kehu.accounts import services
from kehu.accounts.models import ApiToken
from kehu.accounts.roles import GRANTS, Role, role_scope
from kehu.core.api_support import ErrorOut, UtcDatetime, request_user
from kehu.core.errors import NotFoundError

router = Router(tags=["accounts"])
ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class MeOut(Schema):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    team: str | None
    scope: str
    grants: dict[str, list[str]]


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    expires_at: UtcDatetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked: bool


class IssuedTokenOut(TokenOut):
    secret: str = Field(description="shown once; store it now")


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.pk,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        expires_at=token.expires_at,
        revoked=token.revoked_at is not None,
    )


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    user = request_user(request)
    grants = GRANTS.get(Role(user.role), {})
    return MeOut(
        id=user.public_id,
        username=user.username,
        display_name=str(user),
        role=user.role,
        team=user.team.name if user.team else None,
        scope=role_scope(user.role).value,
        grants={
            object_type.value: sorted(action.value for action in actions) for object_type, actions in grants.items()
        },
    )


@router.get("/tokens", response=list[TokenOut])
def tokens_list(request: HttpRequest) -> list[TokenOut]:
    return [_token_out(t) for t in request_user(request).api_tokens.order_by("-created_at")]


@router.post("/tokens", response={201: IssuedTokenOut, **ERRORS})
def tokens_create(request: HttpRequest, payload: TokenIn) -> Status[IssuedTokenOut]:
    issued = services.api_token_create(actor=request_user(request), name=payload.name, expires_at=payload.expires_at)
    return Status(201, IssuedTokenOut(**_token_out(issued.token).dict(), secret=issued.secret))


@router.delete("/tokens/{token_id}", response={204: None, **ERRORS})
def tokens_revoke(request: HttpRequest, token_id: int) -> Status[None]:
    user = request_user(request)
    token = user.api_tokens.filter(pk=token_id).first()  # one's own tokens only
    if token is None:
        raise NotFoundError
    services.api_token_revoke(actor=user, token=token)
    return Status(204, None)
