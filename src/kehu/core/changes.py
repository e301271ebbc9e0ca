"""Helpers every service and selector shares."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import Model

from kehu.core.errors import NotFoundError


def apply_changes(instance: Model, changes: Mapping[str, Any]) -> list[str]:
    """Set the values that differ from the instance's; return the names of the fields that changed."""
    changed = [name for name, value in changes.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, changes[name])
    return changed


def parse_public_id(value: uuid.UUID | str) -> uuid.UUID:
    """A public id from a URL; anything that is not a UUID is simply not found."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFoundError from None
