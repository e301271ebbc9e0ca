"""Data quality: fill rates, problems, no contact and untouched customers counted over the user's scope; each
count is the list filter behind it; one customer's score on the 360 page."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client
from django.utils import timezone

from kehu.accounts.models import User
from kehu.customers.models import Customer
from kehu.customers.quality import customer_quality
from kehu.customers.services import AddressInput, ContactPointInput, customer_create


def _people(alice: User, charlie: User) -> dict[str, Customer]:
    full = customer_create(
        actor=alice,
        values={
            "display_name": "张三", "company_name": "东方机械", "job_title": "经理", "gender": "male",
            "birthday": dt.date(1980, 1, 2), "industry": "manufacturing", "region": "华东",
            "source_channel": "event", "lifecycle_stage": "prospect",
        },
        contact_points=[ContactPointInput("mobile", "13812345678"), ContactPointInput("email", "zs@example.com")],
        addresses=[AddressInput(raw="上海市浦东新区世纪大道100号")],
        tags=["VIP"],
    )  # fmt: skip
    bare = customer_create(actor=alice, values={"display_name": "测试", "lifecycle_stage": "customer"})
    digits = customer_create(
        actor=alice,
        values={"display_name": "客户13812345678"},
        contact_points=[ContactPointInput("wechat", "wxid_abcdef")],
        addresses=[AddressInput(street="某某路1号")],
    )
    customer_create(actor=charlie, values={"display_name": "王五"})  # another team's: never counted for alice
    old = timezone.now() - dt.timedelta(days=500)
    Customer.objects.filter(pk=bare.pk).update(updated_at=old)
    return {"full": full, "bare": bare, "digits": digits}


def _listed(client: Client, query: str) -> set[str]:
    page = client.get(f"/customers/?{query}").content.decode()
    return set(re.findall(r'href="/customers/([0-9a-f-]{36})/"', page))


def test_the_page_counts_over_the_users_scope_and_each_count_is_the_list(alice: User, charlie: User) -> None:
    people = _people(alice, charlie)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    page = client.get("/customers/quality/?months=12").content.decode()
    assert "Over your 3 customers" in page
    rates = dict(re.findall(r'data-field="(\w+)".*?(\d+)%', page, re.S))
    assert rates["phone"] == "33"  # one of three has a mobile
    assert rates["address"] == "67"
    assert rates["tags"] == "33"
    assert re.search(r'data-testid="no-contact">1<', page)  # 测试 has no contact point at all
    assert re.search(r'data-testid="stale">1<', page)
    checks = dict(re.findall(r'data-check="(\w+)".*?<td>(?:<a [^>]*>)?(\d+)', page, re.S))
    assert checks == {
        "address_unparsed": "1",
        "placeholder_name": "1",
        "name_with_digits": "1",
        "customer_without_order": "1",
    }
    ids = {key: str(customer.public_id) for key, customer in people.items()}
    assert _listed(client, "quality=missing_phone") == {ids["bare"], ids["digits"]}
    assert _listed(client, "quality=no_contact") == {ids["bare"]}
    assert _listed(client, "quality=stale&months=12") == {ids["bare"]}
    assert _listed(client, "quality=stale&months=24") == set()
    assert _listed(client, "quality=placeholder_name") == {ids["bare"]}
    assert _listed(client, "quality=name_with_digits") == {ids["digits"]}
    assert _listed(client, "quality=address_unparsed") == {ids["digits"]}
    assert _listed(client, "quality=customer_without_order") == {ids["bare"]}


def test_the_score_of_one_customer(alice: User, charlie: User) -> None:
    people = _people(alice, charlie)
    full = customer_quality(people["full"])
    assert (full.completeness, full.validity, full.freshness, full.score) == (100, 100, 100, 100)
    people["bare"].refresh_from_db()
    bare = customer_quality(people["bare"])
    assert bare.completeness == 0
    assert {m.key for m in bare.problems} == {"placeholder_name", "customer_without_order"}
    assert bare.validity == 32
    assert bare.freshness == 36  # last touched 500 days ago: 16.4 months of the 3…24 range
    assert bare.score == round(0.3 * 32 + 0.2 * 36)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    page = client.get(f"/customers/{people['full'].public_id}/").content.decode()
    assert re.search(r'data-testid="quality">.*?100<small', page, re.S)


def test_a_bad_quality_filter_is_explained(alice: User) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    response = client.get("/customers/?quality=shiny")
    assert "Select a valid choice" in response.content.decode()
