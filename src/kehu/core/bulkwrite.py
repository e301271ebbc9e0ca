"""Insert many model instances fast: each column's value prepared once by a function chosen per field type.

`QuerySet.bulk_create` runs every value through the field's whole preparation chain and builds the SQL per
batch; for an import of a million customers (six rows each) that was most of the time. `RowWriter` chooses
each column's preparation once — the value as it is for text, numbers and keys; the database adapter for
dates, decimals and UUIDs; the field itself where it does real work (encryption, JSON) — then writes on
SQLite with `executemany`, or a multi-row `INSERT … RETURNING id` when the caller needs the new ids, and on
PostgreSQL with `COPY` (ids drawn from the sequence first when the caller needs them). What is stored is exactly what
`bulk_create` would store: the tests compare the two.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from kehu.core.fields import EncryptedTextField

M = TypeVar("M", bound=models.Model)

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


def _preparer(field: models.Field[Any, Any], database: BaseDatabaseWrapper) -> Callable[[Any], Any] | None:
    """How one column's Python value becomes what the database driver receives; None when it goes as it is."""
    ops = database.ops
    if isinstance(field, models.ForeignKey) or type(field) in _PLAIN:
        return None
    if isinstance(field, EncryptedTextField):
        return field.sealer()  # the keys and settings of this moment, read once
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.UUIDField):
        return lambda value: field.get_db_prep_value(value, database)
    return lambda value: field.get_db_prep_save(value, database)  # decimals, JSON and anything else


def _stamped(now: Any, stamp: Any, prepare: Callable[[Any], Any], value: Any) -> Any:
    return stamp if value is now else prepare(value)


class RowWriter:
    """Writes instances of one model; `auto_now`/`auto_now_add` columns get one timestamp per call."""

    def __init__(self, model: type[models.Model], *, with_id: bool = False) -> None:
        self.model = model
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
        self.columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        names = [f.attname for f in self.fields]
        getter = operator.itemgetter(*names)
        self.values_of: Callable[[dict[str, Any]], Any] = getter if len(names) > 1 else lambda d: (getter(d),)
        self.always_stamped = [f.attname for f in self.fields if getattr(f, "auto_now", False)]
        self.stamped_once = [f.attname for f in self.fields if getattr(f, "auto_now_add", False)]

    def _column_preparers(self, now: Any) -> list[tuple[int, Callable[[Any], Any]]]:
        """Each column needing preparation with its function for this call (`now` adapted once)."""
        database = connections[DEFAULT_DB_ALIAS]
        preparers: list[tuple[int, Callable[[Any], Any]]] = []
        for position, field in enumerate(self.fields):
            prepare = _preparer(field, database)
            if prepare is None:
                continue
            if isinstance(field, models.DateTimeField):
                prepare = partial(_stamped, now, prepare(now), prepare)
            preparers.append((position, prepare))
        return preparers

    def rows(self, objects: Sequence[models.Model]) -> list[list[Any]]:
        now = timezone.now()
        preparers = self._column_preparers(now)
        values_of = self.values_of
        rows = []
        for instance in objects:
            values = instance.__dict__
            for name in self.always_stamped:
                values[name] = now
            for name in self.stamped_once:
                if values[name] is None:
                    values[name] = now
            row = list(values_of(values))
            for position, prepare in preparers:
                value = row[position]
                if value is not None:
                    row[position] = prepare(value)
            rows.append(row)
        return rows

    def _copy(self, rows: list[list[Any]], columns: str) -> None:
        """PostgreSQL: `COPY`, whose rows psycopg writes in C; a query of thousands of values would be quoted
        value by value in Python first (Django binds parameters on the client)."""
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def insert(self, objects: Sequence[models.Model]) -> None:
        """Insert the instances; their ids are not read back."""
        if not objects:
            return
        rows = self.rows(objects)
        if connection.vendor == "postgresql":
            self._copy(rows, self.columns)
            return
        marks = ", ".join(["%s"] * len(self.fields))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})", rows)  # noqa: S608

    def insert_returning_ids(self, objects: Sequence[models.Model]) -> None:
        """Insert the instances and set their primary keys, in order."""
        if not objects:
            return
        rows = self.rows(objects)
        pk = self.model._meta.pk
        assert pk is not None
        name = connection.ops.quote_name(pk.column)
        if connection.vendor == "postgresql":
            # The ids are drawn from the column's sequence first, then the rows are copied with them.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [self.table, pk.column, len(rows)],
                )
                ids = [new_id for (new_id,) in cursor.fetchall()]
            self._copy([[new_id, *row] for new_id, row in zip(ids, rows, strict=True)], f"{name}, {self.columns}")
        else:
            per_statement = max(1, MAX_PARAMETERS // len(self.fields))
            row_marks = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
            ids = []
            with connection.cursor() as cursor:
                for start in range(0, len(rows), per_statement):
                    chunk = rows[start : start + per_statement]
                    cursor.execute(
                        f"INSERT INTO {self.table} ({self.columns}) VALUES "  # noqa: S608
                        f"{', '.join([row_marks] * len(chunk))} RETURNING {name}",
                        [value for row in chunk for value in row],
                    )
                    ids += [new_id for (new_id,) in cursor.fetchall()]
        for instance, new_id in zip(objects, ids, strict=True):
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


@dataclass(frozen=True)
class _Blueprint:
    defaults: dict[str, Any]  # attname → a default that is a plain value
    made: list[tuple[str, Callable[[], Any]]]  # attname → a default made anew for each instance (uuid4, dict)
    relations: dict[str, str]  # a relation's name → its attname ("customer" → "customer_id")
    attnames: frozenset[str]


@cache
def _blueprint(model: type[models.Model]) -> _Blueprint:
    defaults: dict[str, Any] = {}
    made: list[tuple[str, Callable[[], Any]]] = []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            made.append((field.attname, field.default))
        else:
            defaults[field.attname] = field.get_default()
    relations = {f.name: f.attname for f in model._meta.concrete_fields if f.is_relation}
    return _Blueprint(defaults, made, relations, frozenset(f.attname for f in model._meta.concrete_fields))


def new_instance(model: type[M], /, **values: Any) -> M:
    """`model(**values)` for the many instances an import builds, several times faster: the defaults are taken
    from a blueprint made once per model instead of asking every field. Takes column attributes and relations
    by name (`customer=…`), as the model does; a model with init signal receivers is built the usual way."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model(**values)
    blueprint = _blueprint(model)
    instance = model.__new__(model)
    instance._state = ModelState()
    attributes = instance.__dict__
    attributes.update(blueprint.defaults)
    for attname, make in blueprint.made:
        attributes[attname] = make()
    for name, value in values.items():
        column = blueprint.relations.get(name)
        if column is not None:
            attributes[column] = None if value is None else value.pk
            instance._state.fields_cache[name] = value
        elif name in blueprint.attnames:
            attributes[name] = value
        else:
            raise TypeError(f"{model.__name__}() got an unexpected keyword argument {name!r}")
    return instance
