"""Every plan the PostgreSQL quick search can choose returns the same newest-first matches."""

from __future__ import annotations

import pytest
from django.db import connection

from kehu.accounts.models import User
from kehu.customers import search_index
from kehu.customers.models import Customer
from kehu.customers.selectors import customers_for_user
from tests.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(as_alice: Api, as_charlie: Api) -> list[str]:
    """Twelve of alice's customers; every third is a 王, and charlie has a 王 too."""
    ids = []
    for index in range(12):
        name = "王" + "一二三四五六七八九十甲乙"[index] if index % 3 == 0 else "李" + "一二三四五六七八九十甲乙"[index]
        ids.append(as_alice.post("/customers", {"display_name": name}).json()["id"])
    as_charlie.post("/customers", {"display_name": "王大"})
    return ids


@pytest.mark.parametrize("gin_cost", [0.0, 1e9], ids=["prefers-gin", "prefers-walking"])
@pytest.mark.parametrize(("sample", "limit"), [(2, 2), (2, 3), (3, 10), (50, 10)])
def test_plans_agree(
    customers: list[str], alice: User, monkeypatch: pytest.MonkeyPatch, gin_cost: float, sample: int, limit: int
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the walking and GIN plans exist on PostgreSQL only")
    monkeypatch.setattr(search_index, "WALK_SAMPLE", sample)
    monkeypatch.setattr(search_index, "GIN_MATCH_MICROSECONDS", gin_cost)
    scoped = customers_for_user(alice).filter(archived_at__isnull=True)
    expected = list(scoped.filter(display_name__startswith="王").order_by("-id").values_list("id", flat=True))
    assert len(expected) == 4
    assert search_index.newest_matches(scoped, "王", scope=None, limit=limit) == expected[:limit]
    assert search_index.newest_matches(scoped, "wang", scope=None, limit=limit) == expected[:limit]


@pytest.mark.parametrize("few", [1, 2000], ids=["walks-the-list", "fetches-the-few"])
@pytest.mark.parametrize("rare_tag", [1, 2000], ids=["tag-checked-per-row", "tag-fetched-by-id"])
def test_list_plans_agree(
    customers: list[str], alice: User, as_alice: Api, monkeypatch: pytest.MonkeyPatch, few: int, rare_tag: int
) -> None:
    """The customer list finds the same rows, in the same order, whichever way it narrows the search and the tag."""
    from kehu.customers import selectors
    from kehu.customers.selectors import CustomerFilters, customer_list

    for customer_id in customers[::2]:
        assert as_alice.post(f"/customers/{customer_id}/tags", {"names": ["VIP"]}).status_code == 200
    monkeypatch.setattr(search_index, "FEW_MATCHES", few)
    monkeypatch.setattr(selectors, "RARE_TAG", rare_tag)

    def names(**filters: str) -> list[str]:
        page = customer_list(alice, CustomerFilters(**filters), sort="display_name", cursor=None, limit=50)
        return [item.display_name for item in page.items]

    def expected(**lookups: str) -> list[str]:
        mine = Customer.objects.filter(owner=alice, **lookups)
        return sorted(mine.values_list("display_name", flat=True))

    assert names(query="王") == expected(display_name__startswith="王")
    assert len(names(query="王")) == 4
    assert names(query="wang", tag="VIP") == expected(display_name__startswith="王", tags__name="VIP")
    assert len(names(query="wang", tag="VIP")) == 2
    assert names(tag="VIP") == expected(tags__name="VIP")
    assert names(tag="nobody has this tag") == []


@pytest.mark.parametrize("few", [1, 2000], ids=["walks-the-list", "fetches-the-few"])
def test_search_with_filters_follows_stage_source_and_tags(
    customers: list[str], alice: User, as_alice: Api, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """A search combined with the stage, source and tag filters follows every change to them."""
    from kehu.customers.selectors import CustomerFilters, customer_list

    monkeypatch.setattr(search_index, "FEW_MATCHES", few)

    def found(**filters: str) -> set[str]:
        page = customer_list(alice, CustomerFilters(query="wang", **filters), cursor=None, limit=50)
        return {str(item.public_id) for item in page.items}

    first, second = customers[0], customers[3]  # both 王
    assert found(lifecycle_stage="customer") == set()
    assert as_alice.patch(f"/customers/{first}", {"lifecycle_stage": "customer"}).status_code == 200
    assert found(lifecycle_stage="customer") == {first}
    assert as_alice.patch(f"/customers/{second}", {"source_channel": "event"}).status_code == 200
    assert found(source_channel="event") == {second}
    assert found(lifecycle_stage="customer", source_channel="event") == set()
    assert as_alice.post(f"/customers/{second}/tags", {"names": ["展会"]}).status_code == 200
    assert found(tag="展会") == {second}
    assert found(tag="展会", source_channel="event") == {second}
    assert as_alice.delete(f"/customers/{second}/tags/展会").status_code == 204
    assert found(tag="展会") == set()
    assert found(tag="no such tag") == set()
