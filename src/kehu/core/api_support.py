"""Pieces every API router shares: the authenticated user and the error body."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, cast

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Schema
from pydantic import AfterValidator

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
        raise ServiceValidationError(
            [FieldError(name, gettext("may not be null; leave it out to keep it")) for name in refused]
        )
    return given


def _to_utc(value: dt.datetime) -> dt.datetime:
    """Aware, in UTC: a naive time is read in kehu's time zone; offsets PostgreSQL cannot store are gone."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates kehu can store") from None


UtcDatetime = Annotated[dt.datetime, AfterValidator(_to_utc)]
