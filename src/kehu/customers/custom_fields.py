"""Validation of custom field values (Customer.attributes) against their definitions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext

from kehu.core.errors import FieldError, ServiceValidationError
from kehu.customers.models import CustomFieldDefinition, FieldType

MAX_TEXT = 2000


def _clean_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """Return the JSON-storable value or raise ValueError with the reason."""
    kind = definition.field_type
    if kind == FieldType.TEXT:
        if not isinstance(value, str):
            raise ValueError("must be text")
        limit = definition.max_length or MAX_TEXT
        if len(value) > limit:
            raise ValueError(f"is {len(value)} characters long; at most {limit} are allowed")
        return value.strip()
    if kind == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite():
            raise ValueError("must be a finite number")
        if kind == FieldType.INTEGER and number != number.to_integral_value():
            raise ValueError("must be a whole number")
        if definition.min_value is not None and number < definition.min_value:
            raise ValueError(f"must be at least {definition.min_value.normalize()}")
        if definition.max_value is not None and number > definition.max_value:
            raise ValueError(f"must be at most {definition.max_value.normalize()}")
        return int(number) if kind == FieldType.INTEGER else str(number)
    if kind == FieldType.DATE:
        if not isinstance(value, str):
            raise ValueError("must be a date written YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("must be a date written YYYY-MM-DD") from None
    if kind == FieldType.CHOICE:
        if value not in definition.choices:
            raise ValueError(f"must be one of: {', '.join(map(str, definition.choices))}")
        return value
    raise ValueError(f"has an unknown type {kind}")


def filter_value(definition: CustomFieldDefinition, raw: str) -> Any:
    """A custom field's value as a list filter compares it: whole numbers as numbers, yes/no as booleans."""
    if definition.field_type == FieldType.INTEGER:
        return int(raw) if raw.lstrip("-").isdigit() else raw
    if definition.field_type == FieldType.BOOLEAN:
        return raw.lower() in {"1", "true", "yes"}
    return raw


def active_definitions() -> dict[str, CustomFieldDefinition]:
    return {d.key: d for d in CustomFieldDefinition.objects.filter(active=True)}


def attributes_clean(
    values: Mapping[str, Any],
    *,
    existing: Mapping[str, Any] | None = None,
    definitions: Mapping[str, CustomFieldDefinition] | None = None,
) -> dict[str, Any]:
    """Merge `values` into `existing` custom field values; null removes a value. Every error names its field.

    `definitions` (from `active_definitions`) spares the query when many customers are cleaned at once."""
    definitions = active_definitions() if definitions is None else definitions
    merged = dict(existing or {})
    errors: list[FieldError] = []
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors.append(FieldError(f"attributes.{key}", gettext("is not a defined custom field")))
            continue
        if value is None or value == "":
            merged.pop(key, None)
            continue
        try:
            merged[key] = _clean_value(definition, value)
        except ValueError as error:
            errors.append(FieldError(f"attributes.{key}", str(error)))
    for key, definition in definitions.items():
        if definition.required and merged.get(key) in (None, ""):
            errors.append(FieldError(f"attributes.{key}", gettext("is required")))
    if errors:
        raise ServiceValidationError(errors)
    return merged
