"""Model fields whose values are encrypted at rest when their protection group is configured to be.

Reads decrypt whatever is stored (plaintext from before encryption was switched on, or a value under any
configured key); writes encrypt under the current key when the field's group is in KEHU_ENCRYPTED_FIELDS.
Only saves encrypt (`get_db_prep_save`): a lookup such as `filter(value=…)` would compare plaintext with
ciphertext and find nothing, so encrypted values are looked up by their blind index (`*_index` columns).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from kehu.core.crypto import Keyring, blind_index, decrypt, encrypt, is_encrypted

_keyring: tuple[object, object, Keyring] | None = None


def keyring() -> Keyring:
    """The configured keys; built again only when the settings change (tests override them)."""
    global _keyring
    keys, index_key = settings.KEHU_ENCRYPTION_KEYS, settings.KEHU_BLIND_INDEX_KEY
    cached = _keyring
    if cached is None or cached[0] is not keys or cached[1] is not index_key:
        cached = _keyring = (keys, index_key, Keyring(keys=keys, index_key=index_key))
    return cached[2]


def group_encrypted(group: str) -> bool:
    return group in settings.KEHU_ENCRYPTED_FIELDS


def index_of(domain: str, value: str) -> str:
    """The blind index of a normalised value; empty for an empty value."""
    return blind_index(keyring(), domain, value) if value else ""


def field_context(model: type[models.Model], column: str) -> str:
    """The associated data of a column's ciphertexts: its table and column."""
    return f"{model._meta.db_table}.{column}"


def protect(group: str, plaintext: str, *, context: str) -> str:
    """What to store for `plaintext`: ciphertext when the group is encrypted (or the text could pass for one)."""
    if not plaintext:
        return plaintext
    if group_encrypted(group) or is_encrypted(plaintext):
        return encrypt(keyring(), plaintext, context=context)
    return plaintext


def unprotect(stored: str, *, context: str) -> str:
    return decrypt(keyring(), stored, context=context) if is_encrypted(stored) else stored


class EncryptedTextField(models.TextField):
    """Text stored as AES-GCM ciphertext when `group` is encrypted; plain text otherwise."""

    def __init__(self, *args: Any, group: str, **kwargs: Any) -> None:
        self.group = group
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["group"] = self.group
        return name, path, args, kwargs

    @property
    def context(self) -> str:
        return field_context(self.model, self.column)

    def from_db_value(self, value: str | None, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if value is None:
            return value
        return self.to_python(unprotect(value, context=self.context))

    def get_db_prep_save(self, value: Any, connection: BaseDatabaseWrapper) -> Any:
        prepared = self.get_prep_value(value)
        if prepared is None:
            return None
        return protect(self.group, str(prepared), context=self.context)


class EncryptedDateField(EncryptedTextField):
    """A date kept as ISO text (encrypted when its group is): it cannot be filtered by range in SQL."""

    def to_python(self, value: Any) -> dt.date | None:
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD)", code="invalid") from None

    def get_prep_value(self, value: Any) -> str | None:
        if isinstance(value, str) and (value == "" or is_encrypted(value)):
            return value  # a lookup on the stored form (`kehu keys rotate` finds values by key id)
        parsed = self.to_python(value)
        return parsed.isoformat() if parsed else None

    def formfield(self, form_class: Any = None, choices_form_class: Any = None, **kwargs: Any) -> Any:
        return super(models.TextField, self).formfield(form_class=form_class or forms.DateField, **kwargs)
