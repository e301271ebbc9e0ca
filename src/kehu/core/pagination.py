"""Keyset (cursor) pagination: stable under inserts, and as fast on page 10,000 as on page 1."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext

from kehu.core.errors import ServiceValidationError

ModelT = TypeVar("ModelT", bound=Model)
ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class Page(Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


def _encode(value: Any, row_id: int) -> str:
    if isinstance(value, dt.datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([value, row_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if isinstance(value, dict):
            value = dt.datetime.fromisoformat(value["dt"])
        if not isinstance(row_id, int):
            raise TypeError
    except (ValueError, TypeError, KeyError):
        raise ServiceValidationError.single("cursor", gettext("is not a cursor this list gave out")) from None
    return value, row_id


def paginate(queryset: QuerySet[ModelT], *, sort: str, cursor: str | None, limit: int) -> Page[ModelT]:
    """One page of `queryset` ordered by `sort` ("field" or "-field") then id; `cursor` continues a listing."""
    descending = sort.startswith("-")
    field = sort.lstrip("-")
    direction = "lt" if descending else "gt"
    if cursor:
        value, row_id = _decode(cursor)
        queryset = queryset.filter(
            Q(**{f"{field}__{direction}": value}) | Q(**{field: value, f"id__{direction}": row_id})
        )
    order = [f"-{field}", "-id"] if descending else [field, "id"]
    items = list(queryset.order_by(*order)[: limit + 1])
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        next_cursor = _encode(getattr(last, field), last.pk)
    return Page(items=items, next_cursor=next_cursor)
