"""Key rotation: re-encrypt every protected column under the current key, in small resumable batches.

Reads decrypt values under any configured key, so kehu keeps serving while this runs. Each batch locks its rows
(PostgreSQL; SQLite serialises writers) and commits on its own: an interrupted rotation resumes where it stopped,
because a value already under the current key is never selected again. The same pass converts values after
KEHU_ENCRYPTED_FIELDS changed (plaintext ↔ ciphertext), and rebuilds the search documents of the customers whose
contact values it converted, since those hold blind tokens only while contacts are encrypted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import Cast

from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record
from kehu.core.crypto import PREFIX, is_encrypted, key_id_of
from kehu.core.fields import EncryptedDateField, EncryptedTextField, group_encrypted, keyring
from kehu.customers.models import ContactPoint, Customer
from kehu.customers.search_index import index_refresh


@dataclass(frozen=True)
class ProtectedTable:
    model: type[models.Model]
    fields: tuple[EncryptedTextField, ...]

    @property
    def label(self) -> str:
        return self.model._meta.db_table


def protected_tables() -> list[ProtectedTable]:
    """Every model with encrypted fields, found from the fields themselves so none is forgotten."""
    tables = []
    for model in apps.get_models():
        fields = tuple(f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField))
        if fields:
            tables.append(ProtectedTable(model, fields))
    return sorted(tables, key=lambda table: table.label)


def _stale(field: EncryptedTextField) -> Q:
    """Rows whose stored value of `field` is not in the form the configuration asks for now."""
    name = field.attname
    if not group_encrypted(field.group):
        return Q(**{f"{name}__startswith": PREFIX})
    current = Q(**{f"{name}__startswith": f"{PREFIX}{keyring().current_id}:"}) | Q(**{f"{name}__isnull": True})
    if not isinstance(field, EncryptedDateField):
        current |= Q(**{name: ""})
    return ~current


def stale_rows(table: ProtectedTable) -> QuerySet[models.Model]:
    condition = Q()
    for field in table.fields:
        condition |= _stale(field)
    return table.model._default_manager.filter(condition)


@dataclass(frozen=True)
class ColumnStatus:
    table: str
    column: str
    group: str
    encrypted_required: bool
    counts: dict[str, int]  # key id → values, "plaintext" → values in clear, "empty"


def keys_status() -> list[ColumnStatus]:
    """How each protected column is stored now, by key id; reads the stored form, decrypting nothing."""
    statuses = []
    for table in protected_tables():
        for field in table.fields:
            counts: Counter[str] = Counter()
            # values_list would decrypt: read the stored column through a plain expression instead.
            raw = table.model._default_manager.annotate(
                stored_form=Cast(field.attname, models.TextField())
            ).values_list("stored_form", flat=True)
            for value in raw.iterator(chunk_size=5000):
                if not value:
                    counts["empty"] += 1
                elif is_encrypted(value):
                    counts[key_id_of(value)] += 1
                else:
                    counts["plaintext"] += 1
            statuses.append(
                ColumnStatus(table.label, field.column, field.group, group_encrypted(field.group), dict(counts))
            )
    return statuses


def keys_rotate(*, batch_size: int = 500, progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Bring every protected value to the current key (or to plaintext where encryption is off); returns counts."""
    converted: dict[str, int] = {}
    for table in protected_tables():
        total = stale_rows(table).count()
        done = 0
        last_pk = 0
        while True:
            with transaction.atomic():
                rows = list(stale_rows(table).filter(pk__gt=last_pk).order_by("pk").select_for_update()[:batch_size])
                if not rows:
                    break
                # A save encrypts under the current key; reading decrypted them under whichever key they had.
                for row in rows:
                    values = {field.attname: getattr(row, field.attname) for field in table.fields}
                    table.model._default_manager.filter(pk=row.pk).update(**values)
                if table.model is ContactPoint:
                    _reindex({row.customer_id for row in rows})  # type: ignore[attr-defined]
                last_pk = rows[-1].pk
            done += len(rows)
            if progress is not None:
                progress(table.label, done, max(total, done))
        converted[table.label] = done
    if any(converted.values()):
        with transaction.atomic():
            audit_record(
                event=AuditEvent.KEYS_ROTATED,
                actor=None,
                target_type="keys",
                target_id=keyring().current_id,
                extra={"converted": converted},
            )
    return converted


def _reindex(customer_ids: set[int]) -> None:
    customers = Customer.objects.filter(pk__in=customer_ids).prefetch_related(
        Prefetch("contact_points", queryset=ContactPoint.objects.order_by("id"))
    )
    index_refresh(customers)
