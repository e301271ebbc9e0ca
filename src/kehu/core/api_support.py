"""Pieces every API router shares: the authenticated user and the error body."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from ninja import Schema

from kehu.accounts.models import User


class FieldErrorOut(Schema):
    field: str | None
    reason: str


class ErrorOut(Schema):
    errors: list[FieldErrorOut]


def request_user(request: HttpRequest) -> User:
    """The user the API authenticated (session or token); routers only run after authentication."""
    return cast(User, request.auth)  # type: ignore[attr-defined]
