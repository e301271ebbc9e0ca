"""Pieces every API router shares: the authenticated user and the error body."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja import Schema

from kehu.accounts.models import User
from kehu.core.errors import FieldError, ServiceValidationError


class FieldErrorOut(Schema):
    field: str | None
    reason: str


class ErrorOut(Schema):
    errors: list[FieldErrorOut]


def request_user(request: HttpRequest) -> User:
    """The user the API authenticated (session or token); routers only run after authentication."""
    return cast(User, request.auth)  # type: ignore[attr-defined]


def patch_values(payload: Schema, *, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields a PATCH sent; an explicit null is refused unless the field may be emptied."""
    given = payload.dict(exclude_unset=True)
    refused = sorted(name for name, value in given.items() if value is None and name not in nullable)
    if refused:
        raise ServiceValidationError([FieldError(name, "may not be null; leave it out to keep it") for name in refused])
    return given
