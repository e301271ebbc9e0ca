"""The duplicate check while a customer is entered: keys find their holder, a same-sounding name needs
something else to agree, and only customers the user may see are named."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kehu.accounts.models import User
from kehu.customers.models import Customer
from kehu.customers.services import AddressInput, ContactPointInput, customer_create
from kehu.dedup.check import Entered, likely_duplicates
from tests.conftest import Api


@pytest.fixture
def base(alice: User, charlie: User) -> dict[str, Customer]:
    def person(actor: User, name: str, mobile: str, company: str = "", **values: Any) -> Customer:
        return customer_create(
            actor=actor,
            values={"display_name": name, "company_name": company, **values},
            contact_points=[ContactPointInput("mobile", mobile)],
            addresses=[AddressInput(raw="广东省深圳市南山区科技园路1号")],
        )

    return {
        "zhangwei": person(alice, "张伟", "13812345678", "深圳市海天贸易有限公司", birthday=dt.date(1985, 3, 2)),
        "namesake": person(alice, "张伟", "13900000000", "北京某某科技有限公司"),
        "other_team": person(charlie, "张伟", "13700000000", "海天贸易"),
    }


def _names(found: list[Any]) -> list[tuple[str, list[str]]]:
    return [(candidate.customer.display_name, candidate.reasons) for candidate in found]


def test_a_key_finds_its_holder(alice: User, base: dict[str, Customer]) -> None:
    found = likely_duplicates(alice, Entered(name="李雷", contacts=[("mobile", "+86 138-1234-5678")]))
    assert [c.customer.pk for c in found] == [base["zhangwei"].pk]
    assert found[0].reasons == ["same mobile"]


def test_a_same_sounding_name_needs_another_sign(alice: User, base: dict[str, Customer]) -> None:
    # 章伟 sounds like 张伟; the company without its region and legal form agrees with one of alice's two 张伟.
    found = likely_duplicates(alice, Entered(name="章伟", company="海天贸易(深圳)有限公司"))
    assert _names(found) == [("张伟", ["name sounds the same", "same company"])]
    by_city = likely_duplicates(alice, Entered(name="Zhang Wei", address="深圳市南山区高新南一道"))
    assert {c.customer.pk for c in by_city} == {base["zhangwei"].pk, base["namesake"].pk}
    assert all("same city" in c.reasons for c in by_city)
    assert likely_duplicates(alice, Entered(name="张伟")) == []  # the name alone says little
    birthday = likely_duplicates(alice, Entered(name="張偉", birthday=dt.date(1985, 3, 2)))
    assert _names(birthday) == [("张伟", ["same name", "same birthday"])]  # the traditional form of the same name


def test_only_customers_in_scope_are_named(charlie: User, base: dict[str, Customer]) -> None:
    found = likely_duplicates(charlie, Entered(name="张伟", contacts=[("mobile", "13812345678")], company="海天贸易"))
    assert [c.customer.pk for c in found] == [base["other_team"].pk]  # alice's 张伟 holds the mobile, unseen


def test_the_api_checks_before_and_answers_after_creating(as_alice: Api, base: dict[str, Customer]) -> None:
    check = as_alice.post(
        "/dedup/check", {"display_name": "张 伟", "contact_points": [{"kind": "mobile", "value": "138 1234 5678"}]}
    )
    assert check.status_code == 200, check.content
    assert [item["id"] for item in check.json()] == [str(base["zhangwei"].public_id)]
    assert "same mobile" in check.json()[0]["reasons"]
    assert "13812345678" not in check.content.decode()
    created = as_alice.post(
        "/customers",
        {
            "display_name": "张伟",
            "contact_points": [{"kind": "email", "value": "a@b.cn"}],
            "addresses": [{"raw": "深圳市南山区"}],
        },
    )
    assert created.status_code == 201, created.content
    duplicates = created.json()["possible_duplicates"]
    assert {item["id"] for item in duplicates} == {str(base["zhangwei"].public_id), str(base["namesake"].public_id)}
    assert created.json()["id"] not in {item["id"] for item in duplicates}


def test_import_policy_creates_links_or_skips_likely_duplicates(alice: User, base: dict[str, Customer]) -> None:
    """A trade-fair row for 章伟 of 海天贸易 matches no key; the policy decides what happens to it."""
    from kehu.customers.bulk import ImportRow, customers_import_batch

    def row(email: str = "zw@haitian.cn") -> ImportRow:
        return ImportRow(
            7,
            values={"display_name": "章伟", "company_name": "海天贸易", "job_title": "经理"},
            contact_points=[ContactPointInput("email", email)],
        )

    count = Customer.objects.count()
    skipped = customers_import_batch(actor=alice, rows=[row()], likely="skip")[0]
    assert skipped.action == "failed"
    assert str(base["zhangwei"].public_id) in skipped.errors[0].reason
    assert "name sounds the same" in skipped.errors[0].reason
    linked = customers_import_batch(actor=alice, rows=[row()], likely="link")[0]
    assert (linked.action, linked.customer_id) == ("updated", base["zhangwei"].pk)
    assert Customer.objects.get(pk=base["zhangwei"].pk).job_title == "经理"
    assert Customer.objects.count() == count
    assert customers_import_batch(actor=alice, rows=[row()], likely="create")[0].action == "unchanged"  # by its key now
    created = customers_import_batch(actor=alice, rows=[row("zhang.wei@fair.cn")], likely="create")[0]
    assert created.action == "created"
    assert Customer.objects.count() == count + 1


def test_a_common_name_in_the_city_is_found_behind_many_newer_namesakes(
    alice: User, base: dict[str, Customer], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kehu.dedup import check

    monkeypatch.setattr(check, "NAME_CANDIDATES", 3)  # a million customers' 王芳, in small
    for number in range(6):  # six newer 张伟, none in 杭州
        customer_create(
            actor=alice,
            values={"display_name": "张伟"},
            contact_points=[ContactPointInput("mobile", f"1360000000{number}")],
            addresses=[AddressInput(raw=f"北京市朝阳区建国路{number}号")],
        )
    older = base["namesake"]
    from kehu.customers.models import Address

    Address.objects.filter(customer=older).update(city="杭州市")
    found = likely_duplicates(alice, Entered(name="Zhang Wei", city="杭州市"))
    assert [(c.customer.pk, c.reasons) for c in found] == [(older.pk, ["name sounds the same", "same city"])]
    monkeypatch.setattr(check, "CITY_CANDIDATES", 3)  # looking no further than the newest would miss it
    assert likely_duplicates(alice, Entered(name="Zhang Wei", city="杭州市")) == []
