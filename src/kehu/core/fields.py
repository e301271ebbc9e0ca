"""Model fields whose values are encrypted at rest when their protection group is configured to be.

Reads decrypt whatever is stored (plaintext from before encryption was switched on, or a value under any
configured key); writes encrypt under the current key when the field's group is in KEHU_ENCRYPTED_FIELDS.
Only saves encrypt (`get_db_prep_save`): a lookup such as `filter(value=…)` would compare plaintext with
ciphertext and find nothing, so encrypted values are looked up by their blind index (`*_index` columns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.dispatch import receiver
from django.test.signals import setting_changed

from kehu.core.crypto import Keyring, blind_index, blind_indexes, decrypt, encrypt, is_encrypted

_keyring: Keyring | None = None
_encrypted_groups: frozenset[str] | None = None


@receiver(setting_changed)
def _forget_settings(*, setting: str, **_kwargs: Any) -> None:
    """Tests override the keys and groups: build them again from the new settings."""
    global _keyring, _encrypted_groups
    if setting in ("KEHU_ENCRYPTION_KEYS", "KEHU_BLIND_INDEX_KEY"):
        _keyring = None
    elif setting == "KEHU_ENCRYPTED_FIELDS":
        _encrypted_groups = None


def keyring() -> Keyring:
    """The configured keys, built once (an import asks for them hundreds of thousands of times)."""
    global _keyring
    if _keyring is None:
        _keyring = Keyring(keys=settings.KEHU_ENCRYPTION_KEYS, index_key=settings.KEHU_BLIND_INDEX_KEY)
    return _keyring


def group_encrypted(group: str) -> bool:
    global _encrypted_groups
    if _encrypted_groups is None:
        _encrypted_groups = frozenset(settings.KEHU_ENCRYPTED_FIELDS)
    return group in _encrypted_groups


def index_of(domain: str, value: str) -> str:
    """The blind index of a normalised value; empty for an empty value."""
    return blind_index(keyring(), domain, value) if value else ""


def indexes_of(domain: str, values: Sequence[str]) -> list[str]:
    """`index_of` for many values of one domain."""
    found = iter(blind_indexes(keyring(), domain, [value for value in values if value]))
    return [next(found) if value else "" for value in values]


def field_context(model: type[models.Model], column: str) -> str:
    """The associated data of a column's ciphertexts: its table and column."""
    return f"{model._meta.db_table}.{column}"


def protect(group: str, plaintext: str, *, context: str) -> str:
    """What to store for `plaintext`: ciphertext when the group is encrypted (or the text could pass for one)."""
    return protector(group, context=context)(plaintext)


def protector(group: str, *, context: str) -> Callable[[str], str]:
    """`protect` for many values of one column: the keys and settings are read once."""
    ring = keyring()
    encrypted = group_encrypted(group)

    def seal(plaintext: str) -> str:
        if plaintext and (encrypted or is_encrypted(plaintext)):
            return encrypt(ring, plaintext, context=context)
        return plaintext

    return seal


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
        return self.sealer()(value)

    def sealer(self) -> Callable[[Any], str | None]:
        """`get_db_prep_save` for many values: the keys and settings are read once (kehu.core.bulkwrite)."""
        seal = protector(self.group, context=self.context)
        prepare = self.get_prep_value

        def save(value: Any) -> str | None:
            prepared = prepare(value)
            return None if prepared is None else seal(str(prepared))

        return save


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
