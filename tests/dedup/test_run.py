"""`kehu dedup run`: the duplicates made the ways they arise are grouped, and nothing else is."""

from __future__ import annotations

import csv
import datetime as dt
import random
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kehu.accounts.models import User
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.core.models import Job
from kehu.customers.models import Customer
from kehu.customers.services import AddressInput, ContactPointInput, customer_create
from kehu.dedup.models import MatchGroup, MatchPair, NotSamePair

FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
PLACES = [
    (province, city, district, street)
    for province, city, districts, street in (
        ("广东省", "深圳市", ("南山区", "福田区", "宝安区", "龙岗区"), "深南大道"),
        ("北京市", "北京市", ("朝阳区", "海淀区", "东城区", "丰台区"), "建国路"),
        ("浙江省", "杭州市", ("西湖区", "滨江区", "上城区", "余杭区"), "文三路"),
        ("四川省", "成都市", ("武侯区", "锦江区", "青羊区", "成华区"), "人民南路"),
    )
    for district in districts
]


def _person(
    actor: User, external_id: str, name: str, mobile: str, email: str, place: int, number: int, **values: object
) -> Customer:
    province, city, district, street = PLACES[place]
    points = [ContactPointInput(kind, value) for kind, value in (("mobile", mobile), ("email", email)) if value]
    return customer_create(
        actor=actor,
        values={"display_name": name, "external_id": external_id, "source_system": "test", **values},
        contact_points=points,
        addresses=[AddressInput(province=province, city=city, district=district, street=f"{street}{number}号")],
    )


@pytest.fixture
def base(alice: User) -> dict[str, list[str]]:
    """80 different people, and six more records of six of them, each written another way."""
    rng = random.Random(3)
    names = set()
    while len(names) < 80:
        names.add(rng.choice(FAMILY) + rng.choice(GIVEN) + rng.choice(GIVEN))
    people = []
    for index, name in enumerate(sorted(names)):
        mobile = f"139{index:08d}"
        people.append((f"p{index}", name, mobile, f"user{index}@example.cn", index % len(PLACES), index + 1))
        _person(alice, *people[-1], birthday=dt.date(1960 + index % 40, 1 + index % 9, 10 + index % 9))
    pairs = {}

    def again(original: int, external_id: str, **changes: object) -> None:
        _, name, mobile, email, place, number = people[original]
        row = {"name": name, "mobile": mobile, "email": email, "place": place, "number": number, **changes}
        _person(
            alice,
            external_id,
            str(row["name"]),
            str(row["mobile"]),
            str(row["email"]),
            int(row["place"]),
            int(row["number"]),
        )  # type: ignore[call-overload]
        pairs[external_id] = [f"p{original}", external_id]

    from opencc import OpenCC

    traditional = OpenCC("s2t").convert
    from pypinyin import lazy_pinyin

    def pinyin(name: str) -> str:
        syllables = lazy_pinyin(name)
        return f"{syllables[0].title()} {''.join(syllables[1:]).title()}"

    m = people
    again(1, "d1", name=traditional(m[1][1]), mobile=f"{m[1][2][:3]}-{m[1][2][3:7]}-{m[1][2][7:]}")  # 張 + 138-…
    again(2, "d2", name=pinyin(m[2][1]), mobile="")  # "Zhang Wei", same email, no phone
    again(3, "d3", email="", number=999)  # same phone, moved within the district, no email
    again(4, "d4", name=m[4][1][0] + " " + m[4][1][1:], email="other4@example.cn")  # "张 伟", new email
    again(5, "d5", mobile=f"+86 {m[5][2]}", email="", place=(m[5][4] + 4) % len(PLACES))  # moved city, same phone
    again(6, "d6", name=pinyin(m[6][1]).split()[1] + " " + pinyin(m[6][1]).split()[0], email=m[6][3].upper(), mobile="")
    return pairs


def _groups(path: Path) -> dict[str, set[str]]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[str, set[str]] = {}
    for row in rows:
        groups.setdefault(row["group_id"], set()).add(row["external_id"])
        assert 0.7 <= float(row["match_probability"]) <= 1
    return groups


@pytest.mark.django_db(transaction=True)
def test_the_duplicates_are_grouped_with_their_reasons_and_nothing_else(
    alice: User, base: dict[str, list[str]], tmp_path: Path
) -> None:
    # When alice searches her customers for duplicates
    out = tmp_path / "groups.csv"
    call_command("dedup", "run", "--as", "alice", "--groups-out", str(out))
    # then exactly the six people written twice form groups
    assert sorted(map(sorted, _groups(out).values())) == sorted(sorted(pair) for pair in base.values())
    job = Job.objects.get(kind="dedup")
    assert job.result["customers"] == 86
    assert job.result["groups"] == 6
    assert job.result["pairs_scored"] >= 6
    assert sum(count for _, count in job.result["weight_histogram"]) == job.result["pairs_scored"]
    # and each pair says why, without any personal value
    reasons = {(item["comparison"], item["level"]) for pair in MatchPair.objects.all() for item in pair.explanation}
    assert ("phone", "same phone") in reasons
    assert ("email", "same email") in reasons
    assert ("name", "name sounds the same") in reasons
    assert all(
        "@" not in str(pair.explanation) and "139" not in str(pair.explanation) for pair in MatchPair.objects.all()
    )
    # and the search is audited with its counts
    [record] = AuditRecord.objects.filter(event=AuditEvent.DUPLICATES_SEARCHED)
    assert record.extra["groups"] == 6


@pytest.mark.django_db(transaction=True)
def test_a_pair_marked_not_the_same_is_never_grouped_again(
    alice: User, base: dict[str, list[str]], tmp_path: Path
) -> None:
    first, second = (Customer.objects.get(external_id=e) for e in base["d3"])
    low, high = sorted([first.pk, second.pk])
    NotSamePair.objects.create(customer_low_id=low, customer_high_id=high, decided_by=alice)
    out = tmp_path / "groups.csv"
    call_command("dedup", "run", "--as", "alice", "--groups-out", str(out))
    groups = _groups(out)
    assert len(groups) == 5
    assert set(base["d3"]) not in groups.values()
    # and a second search replaces the open groups of the first
    call_command("dedup", "run", "--as", "alice")
    assert MatchGroup.objects.count() == 5


@pytest.mark.django_db(transaction=True)
def test_the_search_covers_only_the_users_scope(alice: User, bob: User, base: dict[str, list[str]]) -> None:
    # bob, another rep of the same team, owns none of alice's customers
    call_command("dedup", "run", "--as", "bob")
    job = Job.objects.get(kind="dedup", created_by=bob)
    assert job.result["customers"] == 0
    assert MatchGroup.objects.count() == 0


@pytest.mark.django_db
def test_a_role_that_may_not_change_customers_cannot_search(alice: User) -> None:
    from kehu.accounts.roles import Role
    from tests.conftest import make_user

    make_user("ana", Role.ANALYST)
    with pytest.raises(CommandError, match="may not change customer"):
        call_command("dedup", "run", "--as", "ana")
    with pytest.raises(CommandError, match="probability"):
        call_command("dedup", "run", "--as", "alice", "--threshold", "0.2")
    assert not Job.objects.filter(kind="dedup").exists()


@pytest.mark.django_db(transaction=True)
def test_a_search_learns_from_the_groups_people_merged_and_rejected(alice: User, base: dict[str, list[str]]) -> None:
    from kehu.accounts.roles import Role
    from kehu.dedup.merge import policy_set
    from kehu.dedup.models import GroupState
    from tests.conftest import make_user

    call_command("dedup", "run", "--as", "alice")
    first = Job.objects.get(kind="dedup")
    found = {frozenset(g.customers.values_list("pk", flat=True)): g.confidence for g in MatchGroup.objects.all()}
    assert first.result["learnt"] == {"merged_pairs": 0, "decided_pairs": 0, "prior_shift_bits": 0.0}
    # people merge the six groups found, and had rejected ten confident groups of an earlier search
    MatchGroup.objects.update(state=GroupState.MERGED)
    customers = list(Customer.objects.order_by("id")[:20])
    for index in range(10):
        group = MatchGroup.objects.create(job=first, confidence=0.99, size=2, state=GroupState.DISMISSED)
        MatchPair.objects.create(
            group=group,
            customer_a=customers[2 * index],
            customer_b=customers[2 * index + 1],
            probability=0.99,
            weight=7.0,
            explanation=[{"comparison": "address", "level": "same street", "weight": 7.0}],
        )
    out = StringIO()
    call_command("dedup", "run", "--as", "alice", stdout=out)
    assert "learnt from 16 decided pairs (6 merged)" in out.getvalue()
    second = Job.objects.filter(kind="dedup").latest("created_at")
    learnt = second.result["learnt"]
    assert learnt["merged_pairs"] == 6
    assert learnt["decided_pairs"] == 16
    assert learnt["prior_shift_bits"] < -1  # the model is less sure than before
    # so it groups no one new, and holds each group it still finds with less confidence than before
    again = {
        frozenset(g.customers.values_list("pk", flat=True)): g.confidence for g in MatchGroup.objects.filter(job=second)
    }
    assert again
    assert set(again) <= set(found)
    assert all(again[group] < found[group] for group in again)
    # the administrator may turn learning off
    policy_set(
        actor=make_user("root", Role.ADMIN),
        auto_merge_threshold=None,
        rule="complete",
        trusted_sources="",
        learn_from_decisions=False,
    )
    call_command("dedup", "run", "--as", "alice")
    assert "learnt" not in Job.objects.filter(kind="dedup").latest("created_at").result
