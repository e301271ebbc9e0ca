"""The duplicate review through the API: a search finds the group, the group shows why, a merge and its undo."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.accounts.models import Role
from kehu.core.jobs import job_run
from kehu.core.models import Job
from kehu.customers.models import Customer
from kehu.dedup.models import NotSamePair
from tests.conftest import Api, make_user


@pytest.fixture
def twins(as_alice: Api) -> list[dict[str, Any]]:
    bodies = [
        {
            "display_name": "王小明",
            "company_name": "杭州云帆科技有限公司",
            "birthday": "1990-06-01",
            "contact_points": [{"kind": "mobile", "value": "13911112222"}, {"kind": "email", "value": "xm@yunfan.cn"}],
            "addresses": [{"raw": "浙江省杭州市西湖区文三路100号"}],
        },
        {
            "display_name": "Wang Xiaoming",
            "company_name": "云帆科技",
            "contact_points": [{"kind": "mobile", "value": "139-1111-2222"}],
            "addresses": [{"raw": "浙江省杭州市西湖区文三路100号"}],
        },
        {
            "display_name": "刘芳",
            "contact_points": [{"kind": "mobile", "value": "13700009999"}],
            "addresses": [{"raw": "北京市朝阳区建国路1号"}],
        },
    ]
    created = []
    for body in bodies:
        response = as_alice.post("/customers", body)
        assert response.status_code == 201, response.content
        created.append(response.json())
    return created


def _search(api: Api) -> list[dict[str, Any]]:
    started = api.post("/dedup/runs", {"threshold": 0.7})
    assert started.status_code == 202, started.content
    job = Job.objects.get(public_id=started.json()["job"])
    assert job_run(job.pk) is not None
    groups = api.get("/dedup/groups").json()
    return list(groups)


def test_review_merge_and_undo_through_the_api(as_alice: Api, twins: list[dict[str, Any]]) -> None:
    groups = _search(as_alice)
    assert len(groups) == 1
    assert set(map(str, groups[0]["customers"])) == {twins[0]["id"], twins[1]["id"]}
    detail = as_alice.get(f"/dedup/groups/{groups[0]['id']}").json()
    reasons = {item["comparison"]: item for item in detail["pairs"][0]["comparisons"]}
    assert reasons["phone"]["agrees"] is True
    assert reasons["phone"]["weight"] > 0
    rows = {row["name"]: row for row in detail["fields"]}
    assert rows["phones"]["agree"] is True
    assert rows["display_name"]["agree"] is False
    assert "13911112222" not in str(detail)  # masked for the reviewer as everywhere else
    assert str(detail["suggested_survivor"]) == twins[0]["id"]  # the more complete record

    merged = as_alice.post(
        f"/dedup/groups/{groups[0]['id']}/merge", {"picks": {"display_name": twins[0]["id"]}, "rule": "complete"}
    )
    assert merged.status_code == 201, merged.content
    body = merged.json()
    assert str(body["survivor"]) == twins[0]["id"]
    assert as_alice.get(f"/customers/{twins[1]['id']}").status_code == 404
    assert as_alice.get("/dedup/groups").json() == []
    assert len(as_alice.get("/dedup/merges").json()) == 1

    undone = as_alice.post(f"/dedup/merges/{body['id']}/undo")
    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_at"] is not None
    assert as_alice.get(f"/customers/{twins[1]['id']}").status_code == 200
    assert as_alice.post(f"/dedup/merges/{body['id']}/undo").status_code == 422


def test_not_same_is_never_suggested_again(as_alice: Api, twins: list[dict[str, Any]]) -> None:
    groups = _search(as_alice)
    assert as_alice.post(f"/dedup/groups/{groups[0]['id']}/not-same").status_code == 200
    assert NotSamePair.objects.count() == 1
    assert _search(as_alice) == []


def test_other_team_and_roles_are_refused(
    as_alice: Api, as_charlie: Api, api_for: Any, twins: list[dict[str, Any]]
) -> None:
    groups = _search(as_alice)
    group = groups[0]["id"]
    assert as_charlie.get(f"/dedup/groups/{group}").status_code == 404
    assert as_charlie.post(f"/dedup/groups/{group}/merge", {}).status_code == 404
    mine = as_charlie.post("/customers", {"display_name": "王小明"}).json()
    refused = as_charlie.post("/dedup/merges", {"survivor": mine["id"], "others": [twins[0]["id"]]})
    assert refused.status_code == 404
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0
    analyst = api_for(make_user("ana", Role.ANALYST))
    assert analyst.get("/dedup/groups").status_code == 403
    assert as_alice.get("/dedup/policy").status_code == 403
    assert as_alice.put("/dedup/policy", {"auto_merge_threshold": 0.95}).status_code == 403


def test_policy_merges_confident_groups_automatically(api_for: Any, as_alice: Api, twins: list[dict[str, Any]]) -> None:
    admin = api_for(make_user("root", Role.ADMIN))
    too_low = admin.put("/dedup/policy", {"auto_merge_threshold": 0.5})
    assert too_low.status_code == 422
    assert "auto_merge_threshold" in str(too_low.json())
    assert admin.get("/dedup/policy").json()["learn_from_decisions"] is True  # by default
    off = admin.put("/dedup/policy", {"learn_from_decisions": False})
    assert off.json()["learn_from_decisions"] is False
    assert admin.put("/dedup/policy", {"auto_merge_threshold": 0.9, "rule": "recent"}).status_code == 200
    assert admin.get("/dedup/policy").json()["learn_from_decisions"] is True  # the default of a PUT without it
    assert _search(admin) == []  # merged, not queued
    merges = admin.get("/dedup/merges").json()
    assert len(merges) == 1
    assert merges[0]["automatic"] is True
    assert merges[0]["rule"] == "recent"


def test_cli_lists_merges_and_undoes(alice: Any, charlie: Any, twins: list[dict[str, Any]]) -> None:
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("dedup", "run", "--as", "alice", stdout=io.StringIO())
    listed = io.StringIO()
    call_command("dedup", "groups", "--as", "alice", stdout=listed)
    group_id, confidence, size, *members = listed.getvalue().split()
    assert int(size) == 2
    assert float(confidence) >= 0.7
    assert set(members) == {twins[0]["id"], twins[1]["id"]}
    with pytest.raises(CommandError, match="not one of the customers"):
        call_command("dedup", "merge", "--as", "alice", "--group", group_id, "--survivor", twins[2]["id"])
    merged = io.StringIO()
    call_command(
        "dedup",
        "merge",
        "--as",
        "alice",
        "--group",
        group_id,
        "--pick",
        f"display_name={twins[1]['id']}",
        stdout=merged,
    )
    merge_id = merged.getvalue().split("merge ")[1].split()[0]
    survivor = Customer.objects.get(public_id=twins[0]["id"])
    assert survivor.display_name == "Wang Xiaoming"
    assert Customer.objects.get(public_id=twins[1]["id"]).merged_into_id == survivor.pk
    with pytest.raises(CommandError, match="outside what this user may change"):
        call_command("dedup", "undo", "--as", "charlie", merge_id)  # another team's rep
    call_command("dedup", "undo", "--as", "alice", merge_id, stdout=io.StringIO())
    assert Customer.objects.get(public_id=twins[0]["id"]).display_name == "王小明"
    with pytest.raises(CommandError, match="已经撤销过了"):  # the terminal speaks kehu's language (zh-Hans)
        call_command("dedup", "undo", "--as", "alice", merge_id)
