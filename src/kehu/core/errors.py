"""Errors that services raise and that the API and CLI turn into clear messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.db import models
from django.utils.translation import gettext


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class ServiceValidationError(Exception):
    """Input was rejected; each entry names the field and why, so the caller can show it next to the field."""

    def __init__(self, errors: list[FieldError] | FieldError) -> None:
        self.errors = errors if isinstance(errors, list) else [errors]
        super().__init__("; ".join(f"{error.field}: {error.reason}" for error in self.errors))

    @classmethod
    def single(cls, field: str, reason: str) -> ServiceValidationError:
        return cls(FieldError(field=field, reason=reason))

    @property
    def reasons(self) -> str:
        """The reasons alone, for a message that is not shown next to a field."""
        return "; ".join(str(error.reason) for error in self.errors)


def one_of(values: Iterable[str]) -> str:
    """The reason for a code outside its choices, naming them."""
    return gettext("must be one of %(choices)s") % {"choices": ", ".join(value for value in values if value)}


def length_errors(instance: models.Model, prefix: str = "") -> list[FieldError]:
    """Text longer than its field allows, checked before saving (PostgreSQL would refuse the row; SQLite keeps it).

    Encrypted fields declare the length of the plain value, so they are checked the same way.
    """
    errors: list[FieldError] = []
    values = instance.__dict__
    for attname, name, limit in _limited(type(instance)):
        value = values.get(attname)
        if isinstance(value, str) and len(value) > limit:
            reason = gettext("is %(length)d characters long; at most %(limit)d are allowed") % {
                "length": len(value),
                "limit": limit,
            }
            errors.append(FieldError(f"{prefix}{name}", reason))
    return errors


@cache
def _limited(model: type[models.Model]) -> list[tuple[str, str, int]]:
    """(attribute, field name, max_length) of a model's columns that have a maximum length."""
    return [
        (field.attname, field.name, limit)
        for field in model._meta.concrete_fields
        if (limit := getattr(field, "max_length", None))
    ]


class NotFoundError(Exception):
    """The object does not exist or lies outside the user's scope; callers cannot tell which."""


class PermissionDeniedError(Exception):
    """The user's role does not grant this action on this kind of object."""

    def __init__(self, action: str, object_type: str) -> None:
        self.action = action
        self.object_type = object_type
        super().__init__(f"your role may not {action} {object_type}")
