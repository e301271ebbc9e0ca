"""Insert many model instances fast: each column's value prepared once by a function chosen per field type.

`QuerySet.bulk_create` runs every value through the field's whole preparation chain and builds the SQL per
batch; for an import of a million customers (six rows each) that was most of the time. `RowWriter` chooses
each column's preparation once — the value as it is for text, numbers and keys; the database adapter for
dates, decimals and UUIDs; the field itself where it does real work (encryption, JSON) — then writes with
`executemany`, or a multi-row `INSERT … RETURNING id` when the caller needs the new ids. What is stored is
exactly what `bulk_create` would store: the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models
from django.utils import timezone

# SQLite allows 32,766 bound values per statement, PostgreSQL 65,535.
MAX_PARAMETERS = 30_000
_PLAIN = (
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.IntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.SmallIntegerField,
    models.FloatField,
)


def _preparer(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    """How one column's Python value becomes what the database driver receives."""
    ops = connection.ops
    if isinstance(field, models.ForeignKey):
        return lambda value: value
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.UUIDField):
        return lambda value: field.get_db_prep_value(value, connection)
    if isinstance(field, models.DecimalField):
        return lambda value: field.get_db_prep_save(value, connection)
    if type(field) in _PLAIN:
        return lambda value: value
    return lambda value: field.get_db_prep_save(value, connection)  # encrypted text, JSON, anything else


class RowWriter:
    """Writes instances of one model; `auto_now`/`auto_now_add` columns get one timestamp per call."""

    def __init__(self, model: type[models.Model], *, with_id: bool = False) -> None:
        self.model = model
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
        self.columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        self.prepare = [_preparer(f) for f in self.fields]
        self.always_stamped = [f.attname for f in self.fields if getattr(f, "auto_now", False)]
        self.stamped_once = [f.attname for f in self.fields if getattr(f, "auto_now_add", False)]

    def rows(self, objects: Sequence[models.Model]) -> list[tuple[Any, ...]]:
        now = timezone.now()
        names = [f.attname for f in self.fields]
        rows = []
        for instance in objects:
            for name in self.always_stamped:
                setattr(instance, name, now)
            for name in self.stamped_once:
                if getattr(instance, name) is None:
                    setattr(instance, name, now)
            values = instance.__dict__
            rows.append(tuple(prepare(values[name]) for prepare, name in zip(self.prepare, names, strict=True)))
        return rows

    def insert(self, objects: Sequence[models.Model]) -> None:
        """Insert the instances; their ids are not read back."""
        if not objects:
            return
        marks = ", ".join(["%s"] * len(self.fields))
        sql = f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})"  # noqa: S608 - names from the model
        with connection.cursor() as cursor:
            cursor.executemany(sql, self.rows(objects))

    def insert_returning_ids(self, objects: Sequence[models.Model]) -> None:
        """Insert the instances and set their primary keys (multi-row INSERT … RETURNING, in order)."""
        if not objects:
            return
        rows = self.rows(objects)
        pk = self.model._meta.pk
        assert pk is not None
        per_statement = max(1, MAX_PARAMETERS // len(self.fields))
        row_marks = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        with connection.cursor() as cursor:
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                sql = (
                    f"INSERT INTO {self.table} ({self.columns}) VALUES {', '.join([row_marks] * len(chunk))} "  # noqa: S608
                    f"RETURNING {connection.ops.quote_name(pk.column)}"
                )
                cursor.execute(sql, [value for row in chunk for value in row])
                for instance, (new_id,) in zip(objects[start : start + len(chunk)], cursor.fetchall(), strict=True):
                    setattr(instance, pk.attname, new_id)
                    instance._state.adding = False
                    instance._state.db = connection.alias


_writers: dict[tuple[str, type[models.Model], bool], RowWriter] = {}


def writer_for(model: type[models.Model], *, with_id: bool = False) -> RowWriter:
    """One RowWriter per model and database vendor, built on first use."""
    key = (connection.vendor, model, with_id)
    if key not in _writers:
        _writers[key] = RowWriter(model, with_id=with_id)
    return _writers[key]
