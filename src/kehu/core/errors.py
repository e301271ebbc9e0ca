"""Errors that services raise and that the API and CLI turn into clear messages."""

from __future__ import annotations

from dataclasses import dataclass


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


class NotFoundError(Exception):
    """The object does not exist or lies outside the user's scope; callers cannot tell which."""


class PermissionDeniedError(Exception):
    """The user's role does not grant this action on this kind of object."""

    def __init__(self, action: str, object_type: str) -> None:
        self.action = action
        self.object_type = object_type
        super().__init__(f"your role may not {action} {object_type}")
