"""Merging duplicates moves every child row to the survivor, and an undo restores every table exactly."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.apps import apps
from django.db import models

from kehu.accounts.models import Role, User
from kehu.audit.models import AuditChainHead, AuditEvent, AuditRecord
from kehu.core.errors import NotFoundError, PermissionDeniedError, ServiceValidationError
from kehu.customers.models import Customer
from kehu.customers.selectors import customer_get_for_user, customers_for_user, survivors
from kehu.customers.services import AddressInput, ContactPointInput, customer_create
from kehu.dedup.merge import customers_merge, group_dismiss, merge_undo, resolve
from kehu.dedup.models import GroupState, MatchGroup, Merge, NotSamePair, SurvivorRule
from tests.conftest import Api, make_user

# What a merge and its undo leave behind on purpose: their audit records and the merge itself.
_BOOKKEEPING = {AuditRecord, AuditChainHead, Merge, Merge.merged.through}


def every_table() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (through the ORM, so encrypted columns compare by what they hold)."""
    state = {}
    for model in apps.get_models(include_auto_created=True):
        if model in _BOOKKEEPING or not model._meta.managed:
            continue
        fields = [field.attname for field in model._meta.concrete_fields]
        rows = model._base_manager.order_by("pk").values_list(*fields)
        state[model._meta.label] = [tuple(_plain(value) for value in row) for row in rows]
    return state


def _plain(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


@pytest.fixture
def products(as_admin: Api) -> None:
    for sku, name in (("P01", "绿茶"), ("P02", "红茶")):
        assert (
            as_admin.post("/products", {"sku": sku, "name": name, "category": "茶", "price": "12.50"}).status_code
            == 201
        )


@pytest.fixture
def as_admin(api_for: Any) -> Api:
    return api_for(make_user("root", Role.ADMIN))


def _customer(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/customers", body)
    assert response.status_code == 201, response.content
    return dict(response.json())


@pytest.fixture
def pair(as_alice: Api, products: None) -> tuple[dict[str, Any], dict[str, Any]]:
    """张伟 twice: entered by hand with a mobile and an order, and from a fair with more fields and a consent."""
    first = _customer(
        as_alice,
        {
            "display_name": "张伟",
            "lifecycle_stage": "customer",
            "contact_points": [{"kind": "mobile", "value": "13812345678"}],
            "addresses": [{"raw": "广东省深圳市南山区科技园路1号"}],
            "tags": ["VIP"],
        },
    )
    second = _customer(
        as_alice,
        {
            "display_name": "張偉",
            "company_name": "深圳市海天贸易有限公司",
            "job_title": "采购经理",
            "birthday": "1985-03-02",
            "source_channel": "event",
            "contact_points": [
                {"kind": "mobile", "value": "+86 138 1234 5678"},
                {"kind": "mobile", "value": "13900001111"},
                {"kind": "email", "value": "zhangwei@haitian.cn"},
            ],
            "addresses": [{"raw": "广东省深圳市南山区科技园路1号"}, {"raw": "广东省广州市天河区体育西路2号"}],
            "tags": ["展会", "VIP"],
        },
    )
    for customer, sku in ((first, "P01"), (second, "P02")):
        order = as_alice.post(
            "/orders", {"customer": customer["id"], "channel": "store", "lines": [{"sku": sku, "quantity": 2}]}
        )
        assert order.status_code == 201, order.content
        call = as_alice.post("/interactions", {"customer": customer["id"], "kind": "call", "subject": "回访"})
        assert call.status_code == 201, call.content
    consent = as_alice.post(
        f"/customers/{second['id']}/consents", {"purpose": "marketing_email", "source": "展会", "wording": "我同意"}
    )
    assert consent.status_code == 201, consent.content
    return first, second


def test_merge_moves_every_child_and_undo_restores_every_table(
    alice: User, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    first, second = (Customer.objects.get(public_id=item["id"]) for item in pair)
    before = every_table()

    merge = customers_merge(actor=alice, survivor=first, others=[second])

    survivor = Customer.objects.get(pk=first.pk)
    gone = Customer.objects.get(pk=second.pk)
    assert gone.merged_into_id == survivor.pk
    assert gone.merged_at is not None
    # Every child moved to the survivor: orders, interactions, consents, the new contact points and address.
    assert survivor.orders.count() == 2
    assert survivor.interactions.count() == 2
    assert survivor.consents.count() == 1
    assert {p.value for p in survivor.contact_points.all()} == {
        "+8613812345678",
        "+8613900001111",
        "zhangwei@haitian.cn",
    }
    assert sorted(a.city for a in survivor.addresses.all()) == ["广州市", "深圳市"]
    # The mobile and the address the survivor already had stay on the merged record instead of appearing twice.
    assert [p.value for p in gone.contact_points.all()] == ["+8613812345678"]
    assert [a.city for a in gone.addresses.all()] == ["深圳市"]
    # One primary per kind: the survivor's own mobile stays primary.
    primaries = survivor.contact_points.filter(is_primary=True)
    assert sorted((p.kind, p.value) for p in primaries) == [
        ("email", "zhangwei@haitian.cn"),
        ("mobile", "+8613812345678"),
    ]
    assert survivor.addresses.filter(is_primary=True).count() == 1
    assert sorted(survivor.tags.values_list("name", flat=True)) == ["VIP", "展会"]
    # The survivor kept its own values and took the blanks from the other (the "most complete" rule).
    assert survivor.display_name == "张伟"
    assert survivor.company_name == "深圳市海天贸易有限公司"
    assert survivor.birthday == dt.date(1985, 3, 2)
    assert survivor.source_channel == "event"
    assert merge.choices["company_name"] == str(second.public_id)
    assert merge.choices["display_name"] == str(first.public_id)
    # The merged record is out of every list, search and fetch; its keys lead to the survivor.
    assert not customers_for_user(alice).filter(pk=second.pk).exists()
    with pytest.raises(NotFoundError):
        customer_get_for_user(alice, second.public_id)
    assert survivors({second.pk, first.pk}) == {second.pk: first.pk}
    events = AuditRecord.objects.filter(event=AuditEvent.CUSTOMERS_MERGED)
    assert {record.target_id for record in events} == {str(first.public_id), str(second.public_id)}
    assert "张伟" not in json.dumps([record.extra for record in events], ensure_ascii=False)
    # The snapshot that undoes it is stored encrypted.
    stored = Merge.objects.filter(pk=merge.pk).values_list("snapshot", flat=True).query
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(*stored.sql_with_params())
        raw = cursor.fetchone()[0]
    assert "张伟" not in raw
    assert "13812345678" not in raw

    merge_undo(actor=alice, merge=merge)

    assert every_table() == before
    undone = Merge.objects.get(pk=merge.pk)
    assert undone.undone_at is not None
    assert undone.snapshot == ""
    assert AuditRecord.objects.filter(event=AuditEvent.MERGE_UNDONE).count() == 2
    with pytest.raises(ServiceValidationError):
        merge_undo(actor=alice, merge=undone)


def test_picks_and_rules_choose_each_value(alice: User, pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    first, second = (Customer.objects.get(public_id=item["id"]) for item in pair)
    Customer.objects.filter(pk=first.pk).update(updated_at=first.updated_at - dt.timedelta(days=3))
    first.refresh_from_db()
    values, _, source = resolve([first, second], SurvivorRule.RECENT, {})
    assert values["display_name"] == "張偉"
    assert source["display_name"] == second.pk
    values, _, source = resolve([first, second], SurvivorRule.COMPLETE, {"display_name": second})
    assert values["display_name"] == "張偉"  # a person's pick wins over the rule
    assert values["lifecycle_stage"] == "customer"  # the survivor's own value first
    second.source_system, first.source_system = "erp", "web"
    values, _, _ = resolve([first, second], SurvivorRule.TRUSTED, {}, trusted=["erp", "web"])
    assert values["display_name"] == "張偉"

    merge = customers_merge(actor=alice, survivor=first, others=[second], picks={"display_name": second})
    assert Customer.objects.get(pk=first.pk).display_name == "張偉"
    assert merge.choices["display_name"] == str(second.public_id)


def test_merge_refused_when_one_record_is_out_of_scope(
    alice: User, charlie: User, as_charlie: Api, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Charlie (another team) cannot see alice's customers: his merge is refused and nothing changes."""
    mine = _customer(
        as_charlie, {"display_name": "张伟", "contact_points": [{"kind": "mobile", "value": "13812345678"}]}
    )
    first = Customer.objects.get(public_id=pair[0]["id"])
    own = Customer.objects.get(public_id=mine["id"])
    before = every_table()
    audit_before = AuditRecord.objects.count()
    with pytest.raises(NotFoundError):
        customers_merge(actor=charlie, survivor=own, others=[first])
    with pytest.raises(NotFoundError):
        customers_merge(actor=alice, survivor=first, others=[own])
    assert every_table() == before
    assert AuditRecord.objects.count() == audit_before
    agent = make_user("agent", Role.SERVICE_AGENT)
    with pytest.raises(PermissionDeniedError):  # may change customers but not take them out of the lists
        customers_merge(actor=agent, survivor=first, others=[Customer.objects.get(public_id=pair[1]["id"])])


def test_not_same_is_remembered_and_merge_closes_the_group(
    alice: User, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    from kehu.core.models import Job

    first, second = (Customer.objects.get(public_id=item["id"]) for item in pair)
    job = Job.objects.create(kind="dedup", created_by=alice, params={})
    group = MatchGroup.objects.create(job=job, confidence=0.9, size=2)
    group.customers.set([first, second])
    assert group_dismiss(actor=alice, group=group) == 1
    assert NotSamePair.objects.filter(customer_low=first, customer_high=second).exists()
    assert MatchGroup.objects.get(pk=group.pk).state == GroupState.DISMISSED

    again = MatchGroup.objects.create(job=job, confidence=0.95, size=2)
    again.customers.set([first, second])
    merge = customers_merge(actor=alice, survivor=second, others=[first], group=again)
    assert MatchGroup.objects.get(pk=again.pk).state == GroupState.MERGED
    merge_undo(actor=alice, merge=merge)
    assert MatchGroup.objects.get(pk=again.pk).state == GroupState.OPEN


def test_every_relation_to_customers_is_handled() -> None:
    """A new table pointing at customers must follow a merge (or be listed as the merge's own)."""
    from kehu.dedup.merge import _moving_relations

    moved = {(field.model._meta.label, field.name) for field in _moving_relations()}
    expected = {
        (relation.related_model._meta.label, relation.field.name)
        for relation in Customer._meta.related_objects
        if relation.related_model._meta.app_label != "dedup" and relation.field.name != "merged_into"
    }
    assert moved == expected
    assert ("commerce.Order", "customer") in moved
    assert ("customers.Customer", "parent") in moved
    assert all(isinstance(field, models.ForeignKey) for field in _moving_relations())


def test_merged_record_keys_lead_import_to_the_survivor(alice: User) -> None:
    """A re-import of the shop's rows updates the survivor: by the merged record's external id, and by the mobile
    both held (which stayed on the merged record too)."""
    from kehu.customers.bulk import ImportRow, customers_import_batch

    one = customer_create(
        actor=alice,
        values={"display_name": "李娜", "source_system": "shop", "external_id": "S-1"},
        contact_points=[ContactPointInput("mobile", "13700000001")],
        addresses=[AddressInput(province="北京市", city="北京市", district="朝阳区", street="建国路1号")],
    )
    two = customer_create(
        actor=alice,
        values={"display_name": "李娜", "source_system": "shop", "external_id": "S-2"},
        contact_points=[ContactPointInput("mobile", "13700000001")],
    )
    customers_merge(actor=alice, survivor=one, others=[two])
    outcomes = customers_import_batch(
        actor=alice,
        rows=[
            ImportRow(
                1, values={"display_name": "李娜", "source_system": "shop", "external_id": "S-2", "job_title": "店长"}
            ),
            ImportRow(
                2, values={"display_name": "李娜"}, contact_points=[ContactPointInput("mobile", "137 0000 0001")]
            ),
        ],
    )
    assert [(o.action, o.customer_id) for o in outcomes] == [("updated", one.pk), ("unchanged", one.pk)]
    assert Customer.objects.get(pk=one.pk).job_title == "店长"
    assert Customer.objects.count() == 2


def test_erasing_the_survivor_erases_the_records_merged_into_it(
    alice: User, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """The merged records are the same person: a deletion request erases them too, and the merge forgets them."""
    from kehu.privacy.services import subject_erase, subject_request_open

    first, second = (Customer.objects.get(public_id=item["id"]) for item in pair)
    merge = customers_merge(actor=alice, survivor=first, others=[second])
    admin = User.objects.get(username="root")  # made by the products fixture
    request = subject_request_open(actor=admin, customer=first, kind="deletion", received_through="电话")
    subject_erase(actor=admin, request=request)
    merged = Customer.objects.get(pk=second.pk)
    assert merged.erased_at is not None
    assert "張偉" not in merged.display_name
    assert not any("13812345678" in point.value for point in merged.contact_points.all())  # the parked mobile too
    assert Merge.objects.get(pk=merge.pk).snapshot == ""
    with pytest.raises(ServiceValidationError) as refused:
        merge_undo(actor=admin, merge=Merge.objects.get(pk=merge.pk))
    assert [error.field for error in refused.value.errors] == ["merge"]
    assert Customer.objects.get(pk=second.pk).merged_into_id == first.pk  # nothing was put back
