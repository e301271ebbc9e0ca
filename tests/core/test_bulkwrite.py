"""RowWriter stores exactly what `bulk_create` stores, on SQLite and on PostgreSQL (executemany / COPY)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, models
from django.test.utils import override_settings

from kehu.accounts.models import User
from kehu.core.bulkwrite import new_instance, writer_for
from kehu.core.crypto import is_encrypted
from kehu.customers.models import Address, ContactPoint, Customer

pytestmark = pytest.mark.django_db

VARIABLE = {"id", "public_id", "created_at", "updated_at", "customer_id", "external_id"}


def _customers(owner: User, source: str) -> list[Customer]:
    return [
        Customer(
            owner=owner,
            team_id=owner.team_id,
            display_name=f"王小明{index}",
            family_name="王",
            given_name=f"小明{index}",
            birthday=dt.date(1990, 1, index + 1) if index % 2 else None,
            id_number="11010519491231002X" if index == 0 else "",
            attributes={"等级": "金", "积分": index} if index % 3 else {},
            source_system="shop",
            external_id=f"{source}-{index}",
            search_document=f"wang xiaoming {index}",
        )
        for index in range(5)
    ]


def _points(customers: list[Customer]) -> list[ContactPoint]:
    return [
        ContactPoint(customer=customer, kind=kind, raw_value=value, value=value, value_index=f"i{index}{kind}")
        for index, customer in enumerate(customers)
        for kind, value in (("mobile", f"+86138001380{index:02d}"), ("email", f"u{index}@例子.cn"))
    ]


def _places(customers: list[Customer]) -> list[Address]:
    return [
        Address(customer=customer, province="广东省", city="深圳市", street=f"科技园路{index}号", raw="深圳")
        for index, customer in enumerate(customers)
    ]


def _stored(model: type[models.Model], ids: list[int]) -> list[dict[str, Any]]:
    """Each row as the ORM reads it back (decrypted), without what differs between two inserts."""
    rows = model.objects.filter(pk__in=ids).order_by("pk").values()
    return [{key: value for key, value in row.items() if key not in VARIABLE} for row in rows]


def _raw(model: type[models.Model], column: str, ids: list[int]) -> list[Any]:
    table = model._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id IN ({marks}) ORDER BY id", ids)
        return [value for (value,) in cursor.fetchall()]


@override_settings(KEHU_ENCRYPTED_FIELDS=frozenset({"contact", "address", "birthday", "id_number", "bank_account"}))
def test_row_writer_stores_what_bulk_create_stores(alice: User) -> None:
    by_orm = Customer.objects.bulk_create(_customers(alice, "x"))
    ContactPoint.objects.bulk_create(_points(by_orm))
    Address.objects.bulk_create(_places(by_orm))
    by_writer = _customers(alice, "y")
    writer_for(Customer).insert_returning_ids(by_writer)
    assert all(customer.pk and not customer._state.adding for customer in by_writer)
    writer_for(ContactPoint).insert(_points(by_writer))
    writer_for(Address).insert(_places(by_writer))

    orm_ids, writer_ids = [c.pk for c in by_orm], [c.pk for c in by_writer]
    assert writer_ids == sorted(writer_ids)
    assert min(writer_ids) > max(orm_ids)
    assert _stored(Customer, writer_ids) == _stored(Customer, orm_ids)
    for model in (ContactPoint, Address):
        orm = model.objects.filter(customer_id__in=orm_ids).values_list("pk", flat=True)
        written = model.objects.filter(customer_id__in=writer_ids).values_list("pk", flat=True)
        assert _stored(model, list(written)) == _stored(model, list(orm))
        assert len(written) == len(orm) > 0
    # Encrypted at rest by both, and readable by the ORM.
    for ids in (orm_ids, writer_ids):
        assert all(is_encrypted(value) for value in _raw(Customer, "id_number", ids) if value)
        assert sum(is_encrypted(value) for value in _raw(Customer, "birthday", ids) if value) == 2
    points = ContactPoint.objects.filter(customer_id__in=writer_ids)
    assert all(is_encrypted(value) for value in _raw(ContactPoint, "value", [p.pk for p in points]))
    assert Customer.objects.get(pk=writer_ids[1]).birthday == dt.date(1990, 1, 2)
    assert Customer.objects.get(pk=writer_ids[0]).id_number == "11010519491231002X"
    # Timestamps are set, and the table's own id sequence moved past the ids taken.
    assert all(c.created_at is not None and c.updated_at == c.created_at for c in by_writer)
    later = Customer.objects.create(owner=alice, display_name="后来")
    assert later.pk > max(writer_ids)


def test_row_writer_keeps_an_explicit_creation_time(alice: User) -> None:
    moment = dt.datetime(2024, 1, 5, 8, 30, tzinfo=dt.UTC)
    customers = _customers(alice, "t")[:2]
    customers[0].created_at = moment
    writer_for(Customer).insert_returning_ids(customers)
    stored = dict(Customer.objects.filter(pk__in=[c.pk for c in customers]).values_list("pk", "created_at"))
    assert stored[customers[0].pk] == moment
    assert stored[customers[1].pk] > moment


def test_new_instance_is_the_model_built_the_usual_way(alice: User) -> None:
    from kehu.audit.models import AuditRecord

    customer = Customer(owner=alice, display_name="张三")
    cases: list[tuple[type[models.Model], dict[str, Any]]] = [
        (Customer, {"owner": alice, "team_id": alice.team_id, "display_name": "张三", "birthday": dt.date(1990, 1, 2)}),
        (ContactPoint, {"customer": customer, "kind": "mobile", "value": "+8613800138000", "is_primary": True}),
        (Address, {"customer": customer, "province": "广东省", "raw": "深圳市南山区"}),
        (AuditRecord, {"sequence": 7, "actor": alice, "fields": ["display_name"], "extra": {"row": 2}}),
    ]
    for model, values in cases:
        usual, fast = model(**values), new_instance(model, **values)
        made_anew = {f.attname for f in model._meta.concrete_fields if f.has_default() and callable(f.default)}
        assert {k: v for k, v in fast.__dict__.items() if k not in {"_state", *made_anew}} == {
            k: v for k, v in usual.__dict__.items() if k not in {"_state", *made_anew}
        }, model
        assert fast._state.adding
        assert fast._state.db is None
        assert fast._state.fields_cache == usual._state.fields_cache
        for name in made_anew - set(values):  # a fresh uuid4, dict or list for each instance, as the model makes them
            assert type(getattr(fast, name)) is type(getattr(usual, name))
            assert getattr(fast, name) is not getattr(new_instance(model, **values), name)
    assert new_instance(ContactPoint, customer=customer).customer is customer
    with pytest.raises(TypeError, match="unexpected keyword argument 'nonsense'"):
        new_instance(Customer, nonsense=1)
