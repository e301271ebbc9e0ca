"""/api/v1/customers over HTTP: create, read, update, archive, list, search, scope, masking, audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.customers.models import ContactPoint, Customer
from tests.conftest import Api, audit_count, customer_row, errors_of, make_user

pytestmark = pytest.mark.django_db


def reveal(api: Api, customer_id: str, *fields: str) -> dict[str, Any]:
    response = api.post(f"/customers/{customer_id}/reveal", {"fields": list(fields)})
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_create_normalises_and_parses(as_alice: Api, zhangsan: dict[str, Any], alice: User) -> None:
    masked = {point["kind"]: point for point in zhangsan["contact_points"]}
    assert (masked["mobile"]["value"], masked["mobile"]["raw_value"], masked["mobile"]["masked"]) == (
        "138****5678",
        "138****5678",
        True,
    )
    full = reveal(as_alice, zhangsan["id"], "contact_points", "addresses")
    points = {point["kind"]: point for point in full["contact_points"]}
    assert points["mobile"]["value"] == "+8613812345678"
    assert points["mobile"]["raw_value"] == "138-1234-5678"
    assert points["email"]["value"] == "zhang.san@example.com"
    assert points["wechat"]["value"] == "zhangsan_wx"
    assert all(point["is_primary"] for point in full["contact_points"])
    [address] = full["addresses"]
    assert (
        address["province"],
        address["city"],
        address["district"],
        address["street"],
        address["postal_code"],
    ) == ("广东省", "深圳市", "南山区", "科技园路1号", "518057")
    assert zhangsan["owner"]["name"] == "alice"
    assert zhangsan["team"] == "华东销售部"
    assert zhangsan["tags"] == ["VIP"]
    record = AuditRecord.objects.get(event=AuditEvent.CUSTOMER_CREATED)
    assert record.target_id == zhangsan["id"]
    assert record.actor == alice
    assert record.source == "api"
    assert "张三" not in str(record.extra)
    assert "13812345678" not in str(record.extra)


def test_get_returns_the_record(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    response = as_alice.get(f"/customers/{zhangsan['id']}")
    assert response.status_code == 200
    created = dict(zhangsan)
    assert created.pop("possible_duplicates") == []  # only the answer to a create carries the duplicate check
    assert response.json() == created


def test_outsider_gets_404_and_changes_nothing(as_charlie: Api, zhangsan: dict[str, Any]) -> None:
    before = audit_count()
    customer_id = zhangsan["id"]
    assert as_charlie.get(f"/customers/{customer_id}").status_code == 404
    response = as_charlie.patch(f"/customers/{customer_id}", {"display_name": "李四"})
    assert response.status_code == 404
    assert response.json() == {"errors": [{"field": None, "reason": "not found"}]}
    assert as_charlie.post(f"/customers/{customer_id}/archive").status_code == 404
    assert (
        as_charlie.post(f"/customers/{customer_id}/contact-points", {"kind": "email", "value": "x@y.cn"}).status_code
        == 404
    )
    assert as_charlie.delete(f"/customers/{customer_id}/tags/VIP").status_code == 404
    assert as_charlie.get(f"/customers/{customer_id}/timeline").status_code == 404
    assert as_charlie.get("/search", q="张三").json() == []
    assert as_charlie.get("/customers").json()["items"] == []
    customer = customer_row(customer_id)
    assert customer.display_name == "张三"
    assert customer.archived_at is None
    assert customer.contact_points.count() == 3
    assert audit_count() == before


def test_unknown_and_malformed_ids_answer_404(as_alice: Api) -> None:
    assert as_alice.get("/customers/00000000-0000-4000-8000-000000000000").status_code == 404
    assert as_alice.get("/customers/1").status_code == 404


def test_teammate_sees_nothing_but_manager_sees_team(
    zhangsan: dict[str, Any], bob: User, east: Any, api_for: Callable[[User], Api]
) -> None:
    assert api_for(bob).get(f"/customers/{zhangsan['id']}").status_code == 404
    manager = make_user("manager", Role.MANAGER, east)
    assert api_for(manager).get(f"/customers/{zhangsan['id']}").status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "reason_part"),
    [
        (
            {"display_name": "王五", "contact_points": [{"kind": "mobile", "value": "1381234567"}]},
            "contact_points.0.value",
            "has 10 digits; a mainland mobile has 11",
        ),
        (
            {"display_name": "王五", "contact_points": [{"kind": "email", "value": "wang@@example"}]},
            "contact_points.0.value",
            "email",
        ),
        (
            {"display_name": "王五", "attributes": {"shoe_size": 42}},
            "attributes.shoe_size",
            "not a defined custom field",
        ),
        ({"display_name": "王五", "birthday": "not-a-date"}, "birthday", "date"),
        ({"display_name": "王" * 201}, "display_name", "at most 200 characters"),
        # Lengths the schema does not state are checked by the services (PostgreSQL would refuse the row).
        ({"display_name": "王五", "region": "华" * 51}, "region", "at most 50"),
        (
            {
                "display_name": "王五",
                "contact_points": [{"kind": "mobile", "value": "13812345678", "label": "工" * 51}],
            },
            "contact_points.0.label",
            "at most 50",
        ),
        ({"display_name": "王五", "addresses": [{"city": "市" * 51}]}, "addresses.0.city", "at most 50"),
        ({"display_name": "王五", "industry": "mining"}, "industry", "is not one of"),
        (
            {"display_name": "王五", "contact_points": [{"kind": "fax", "value": "123"}]},
            "contact_points.0.kind",
            "",
        ),
        ({}, "display_name", "is required"),
        ({"display_name": "王五", "kind": "organization", "gender": "male"}, "gender", "applies to people"),
    ],
)
def test_invalid_input_names_the_field(as_alice: Api, body: dict[str, Any], field: str, reason_part: str) -> None:
    before = (Customer.objects.count(), audit_count())
    response = as_alice.post("/customers", body)
    assert response.status_code == 422, response.content
    errors = errors_of(response)
    assert field in errors, errors
    assert reason_part in errors[field]
    assert (Customer.objects.count(), audit_count()) == before


def test_custom_fields_are_validated_by_type(api_for: Callable[[User], Api], as_alice: Api, db: None) -> None:
    admin = make_user("root", Role.ADMIN)
    as_admin = api_for(admin)
    created = as_admin.post(
        "/custom-fields", {"key": "budget", "label": "预算", "field_type": "integer", "min_value": 0}
    )
    assert created.status_code == 201
    assert (
        as_admin.post(
            "/custom-fields", {"key": "level", "label": "等级", "field_type": "choice", "choices": ["A", "B"]}
        ).status_code
        == 201
    )
    wrong = as_alice.post("/customers", {"display_name": "王五", "attributes": {"budget": "lots", "level": "C"}})
    assert wrong.status_code == 422
    assert errors_of(wrong) == {
        "attributes.budget": "must be a number",
        "attributes.level": "must be one of: A, B",
    }
    negative = as_alice.post("/customers", {"display_name": "王五", "attributes": {"budget": -5}})
    assert errors_of(negative) == {"attributes.budget": "must be at least 0"}
    ok = as_alice.post("/customers", {"display_name": "王五", "attributes": {"budget": 5000, "level": "A"}})
    assert ok.status_code == 201
    assert ok.json()["attributes"] == {"budget": 5000, "level": "A"}
    listed = as_alice.get("/customers", attribute="level=A").json()["items"]
    assert [item["display_name"] for item in listed] == ["王五"]
    assert as_alice.post("/custom-fields", {"key": "x", "label": "x", "field_type": "text"}).status_code == 403
    assert [f["key"] for f in as_alice.get("/custom-fields").json()] == ["budget", "level"]
    patched = as_admin.patch("/custom-fields/level", {"choices": ["A", "B", "C"]})
    assert patched.json()["choices"] == ["A", "B", "C"]


def test_update_changes_only_what_was_sent_and_audits_field_names(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    response = as_alice.patch(f"/customers/{zhangsan['id']}", {"lifecycle_stage": "churned", "job_title": "采购经理"})
    assert response.status_code == 200
    body = response.json()
    assert (body["lifecycle_stage"], body["job_title"], body["display_name"]) == (
        "churned",
        "采购经理",
        "张三",
    )
    record = AuditRecord.objects.filter(event=AuditEvent.CUSTOMER_UPDATED).get()
    assert record.fields == ["job_title", "lifecycle_stage"]
    unchanged = as_alice.patch(f"/customers/{zhangsan['id']}", {"lifecycle_stage": "churned"})
    assert unchanged.status_code == 200
    assert AuditRecord.objects.filter(event=AuditEvent.CUSTOMER_UPDATED).count() == 1


def test_archive_hides_from_list_and_restore_brings_back(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    archived = as_alice.post(f"/customers/{zhangsan['id']}/archive")
    assert archived.status_code == 200
    assert archived.json()["archived_at"] is not None
    assert as_alice.get("/customers").json()["items"] == []
    assert [c["id"] for c in as_alice.get("/customers", archived="true").json()["items"]] == [zhangsan["id"]]
    restored = as_alice.post(f"/customers/{zhangsan['id']}/restore")
    assert restored.json()["archived_at"] is None
    events = list(
        AuditRecord.objects.filter(customer_id=customer_row(zhangsan["id"]).pk).values_list("event", flat=True)
    )
    assert events[-2:] == [AuditEvent.CUSTOMER_ARCHIVED, AuditEvent.CUSTOMER_RESTORED]


def test_analyst_sees_masked_values_and_cannot_write(
    zhangsan: dict[str, Any], api_for: Callable[[User], Api], db: None
) -> None:
    analyst = api_for(make_user("ana", Role.ANALYST))
    body = analyst.get(f"/customers/{zhangsan['id']}").json()
    points = {point["kind"]: point for point in body["contact_points"]}
    assert points["mobile"]["value"] == "138****5678"
    assert points["mobile"]["raw_value"] == "138****5678"
    assert points["email"]["value"] == "z***@example.com"
    assert points["mobile"]["masked"] is True
    assert body["addresses"][0]["street"] == "******"
    assert body["addresses"][0]["province"] == "广东省"
    before = audit_count()
    response = analyst.post("/customers", {"display_name": "王五"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["reason"] == "your role may not create customer"
    assert analyst.patch(f"/customers/{zhangsan['id']}", {"display_name": "x"}).status_code == 403
    assert customer_row(zhangsan["id"]).display_name == "张三"
    assert audit_count() == before
    denied = AuditRecord.objects.filter(event=AuditEvent.PERMISSION_DENIED).order_by("sequence")
    assert [(r.actor_label, r.target_type, r.extra["action"]) for r in denied] == [
        ("ana", "customer", "create"),
        ("ana", "customer", "change"),
    ]


def test_auditor_cannot_read_customers(zhangsan: dict[str, Any], api_for: Callable[[User], Api], db: None) -> None:
    auditor = api_for(make_user("audit", Role.AUDITOR))
    assert auditor.get(f"/customers/{zhangsan['id']}").status_code == 403
    assert auditor.get("/customers").status_code == 403


def test_unauthenticated_requests_are_refused(client: Any, zhangsan: dict[str, Any]) -> None:
    response = client.get(f"/api/v1/customers/{zhangsan['id']}")
    assert response.status_code == 401
    bad = client.get("/api/v1/customers", HTTP_AUTHORIZATION="Bearer kehu_wrong")
    assert bad.status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "张三",
        "zhangsan",
        "zhang san",
        "zs",
        "5678",
        "尾号5678",
        "138 1234 5678",
        "+86 138-1234-5678",
        "zhang.san@example.com",
        "zhang.san",
        "example.com",
        "張三",
        "腾讯",
        "zhangsan_wx",
        "ZhangSan",
    ],
)
def test_search_finds_the_customer_every_way(as_alice: Api, zhangsan: dict[str, Any], query: str) -> None:
    other = as_alice.post(
        "/customers", {"display_name": "李四", "contact_points": [{"kind": "mobile", "value": "13900001111"}]}
    )
    assert other.status_code == 201
    found = as_alice.get("/search", q=query)
    assert found.status_code == 200
    assert [item["id"] for item in found.json()] == [zhangsan["id"]], query


def test_search_through_list_combines_with_filters(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    assert [c["id"] for c in as_alice.get("/customers", q="zs", lifecycle_stage="customer").json()["items"]] == [
        zhangsan["id"]
    ]
    assert as_alice.get("/customers", q="zs", lifecycle_stage="lead").json()["items"] == []
    assert as_alice.get("/search", q="nobody-like-this").json() == []


def test_search_follows_edits(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    as_alice.patch(f"/customers/{zhangsan['id']}", {"display_name": "张伟", "given_name": "伟"})
    assert [c["id"] for c in as_alice.get("/search", q="zhangwei").json()] == [zhangsan["id"]]
    assert as_alice.get("/search", q="张三").json() == []
    point = next(p for p in zhangsan["contact_points"] if p["kind"] == "mobile")
    as_alice.patch(f"/customers/{zhangsan['id']}/contact-points/{point['id']}", {"value": "13987654321"})
    assert [c["id"] for c in as_alice.get("/search", q="4321").json()] == [zhangsan["id"]]
    assert as_alice.get("/search", q="5678").json() == []


def test_list_filters_sort_and_cursor(as_alice: Api, alice: User) -> None:
    names = ["甲", "乙", "丙", "丁", "戊"]
    for index, name in enumerate(names):
        body = {
            "display_name": name,
            "lifecycle_stage": "lead" if index % 2 else "customer",
            "source_channel": "store",
            "addresses": [{"raw": "北京市朝阳区建国路88号"}] if index == 0 else [],
        }
        assert as_alice.post("/customers", body).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "sort": "created_at"}
        if cursor:
            params["cursor"] = cursor
        page = as_alice.get("/customers", **params).json()
        seen += [item["display_name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    stage = as_alice.get("/customers", lifecycle_stage="lead").json()["items"]
    assert sorted(item["display_name"] for item in stage) == ["丁", "乙"]
    province = as_alice.get("/customers", province="北京").json()["items"]
    assert [item["display_name"] for item in province] == ["甲"]
    owner = as_alice.get("/customers", owner=str(alice.public_id), limit=10).json()["items"]
    assert len(owner) == 5
    bad = as_alice.get("/customers", cursor="garbage")
    assert bad.status_code == 422
    assert errors_of(bad) == {"cursor": "is not a cursor this list gave out"}
    bad_sort = as_alice.get("/customers", sort="password")
    assert bad_sort.status_code == 422
    assert "sort" in errors_of(bad_sort)


def test_contact_points_endpoints(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    base = f"/customers/{zhangsan['id']}/contact-points"
    added = as_alice.post(base, {"kind": "mobile", "value": "+86 139 0000 2222", "is_primary": True})
    assert added.status_code == 201
    assert added.json()["value"] == "139****2222"
    listed = as_alice.get(base).json()
    mobiles = [p for p in listed if p["kind"] == "mobile"]
    assert [(p["value"], p["is_primary"]) for p in mobiles] == [("139****2222", True), ("138****5678", False)]
    full = reveal(as_alice, zhangsan["id"], "contact_points")["contact_points"]
    assert [(p["value"], p["is_primary"]) for p in full if p["kind"] == "mobile"] == [
        ("+8613900002222", True),
        ("+8613812345678", False),
    ]
    duplicate = as_alice.post(base, {"kind": "mobile", "value": "13900002222"})
    assert duplicate.status_code == 422
    assert errors_of(duplicate) == {"value": "+8613900002222 is already on this customer"}
    landline_as_mobile = as_alice.post(base, {"kind": "mobile", "value": "0755-86013388"})
    assert "landline" in errors_of(landline_as_mobile)["value"]
    typo = as_alice.patch(f"{base}/{added.json()['id']}", {"value": "139000022"})
    assert typo.status_code == 422
    assert errors_of(typo) == {"value": "139000022 has 9 digits; a mainland mobile has 11"}
    assert ContactPoint.objects.get(pk=added.json()["id"]).value == "+8613900002222"
    assert as_alice.delete(f"{base}/{added.json()['id']}").status_code == 204
    remaining = [p for p in as_alice.get(base).json() if p["kind"] == "mobile"]
    assert [(p["value"], p["is_primary"]) for p in remaining] == [("138****5678", True)]
    assert as_alice.delete(f"{base}/999999").status_code == 404


def test_address_endpoints(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    base = f"/customers/{zhangsan['id']}/addresses"
    added = as_alice.post(base, {"raw": "上海市浦东新区世纪大道100号", "label": "公司"})
    assert added.status_code == 201
    assert (added.json()["province"], added.json()["city"], added.json()["district"]) == ("上海市", "上海市", "浦***")
    changed = as_alice.put(
        f"{base}/{added.json()['id']}",
        {"province": "浙江省", "city": "杭州市", "district": "西湖区", "street": "文三路1号"},
    )
    assert changed.status_code == 200
    assert changed.json()["street"] == "*****"
    [stored] = [a for a in reveal(as_alice, zhangsan["id"], "addresses")["addresses"] if a["id"] == added.json()["id"]]
    assert (stored["district"], stored["street"], stored["masked"]) == ("西湖区", "文三路1号", False)
    bad = as_alice.post(base, {"province": "", "raw": ""})
    assert errors_of(bad) == {"raw": "give an address or its parts"}
    bad_code = as_alice.post(base, {"raw": "北京市朝阳区建国路88号", "postal_code": "12345"})
    assert errors_of(bad_code) == {"postal_code": "a Chinese postal code has 6 digits"}
    assert as_alice.delete(f"{base}/{added.json()['id']}").status_code == 204
    assert len(as_alice.get(base).json()) == 1


def test_tags_endpoints(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    assert as_alice.post("/tags", {"name": "重点客户", "color": "#ff0000"}).status_code == 201
    assert errors_of(as_alice.post("/tags", {"name": "重点客户"})) == {"name": "the tag 重点客户 already exists"}
    tagged = as_alice.post(f"/customers/{zhangsan['id']}/tags", {"names": ["重点客户", "新标签"]})
    assert tagged.json() == sorted(["VIP", "重点客户", "新标签"])
    assert [t["name"] for t in as_alice.get("/tags").json()] == sorted(["VIP", "重点客户", "新标签"])
    assert as_alice.delete(f"/customers/{zhangsan['id']}/tags/VIP").status_code == 204
    assert [c["id"] for c in as_alice.get("/customers", tag="新标签").json()["items"]] == [zhangsan["id"]]
    assert as_alice.get("/customers", tag="VIP").json()["items"] == []


def test_timeline_lists_changes_newest_first(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    as_alice.post("/interactions", {"customer": zhangsan["id"], "kind": "call", "subject": "回访"})
    timeline = as_alice.get(f"/customers/{zhangsan['id']}/timeline").json()
    assert timeline[0]["occurred_at"] >= timeline[-1]["occurred_at"]
    assert {entry["kind"] for entry in timeline} == {"interaction", "change"}
    assert any(entry["title"] == "customer.created" for entry in timeline)


def test_rep_cannot_assign_to_other_team(as_alice: Api, charlie: User, bob: User) -> None:
    response = as_alice.post("/customers", {"display_name": "王五", "owner": str(charlie.public_id)})
    assert errors_of(response) == {"owner": "you may not assign customers to this user"}


def test_parent_organisation(as_alice: Api) -> None:
    org = as_alice.post("/customers", {"kind": "organization", "display_name": "华信科技有限公司"}).json()
    person = as_alice.post("/customers", {"display_name": "王五", "parent": org["id"]})
    assert person.json()["parent"] == org["id"]
    not_org = as_alice.post("/customers", {"display_name": "赵六", "parent": person.json()["id"]})
    assert errors_of(not_org) == {"parent": "the parent must be an organisation"}


def test_choices_lists_coded_values(as_alice: Api) -> None:
    body = as_alice.get("/choices").json()
    assert "ecommerce" in body["source_channel"]
    assert body["lifecycle_stage"] == ["lead", "prospect", "customer", "churned"]


def test_quick_search_follows_owner_and_archive(
    as_alice: Api, zhangsan: dict[str, Any], bob: User, east: Any, api_for: Callable[[User], Api]
) -> None:
    as_bob = api_for(bob)
    manager = api_for(make_user("boss", Role.MANAGER, east))
    assert as_bob.get("/search", q="zhangsan").json() == []
    reassigned = manager.patch(f"/customers/{zhangsan['id']}", {"owner": str(bob.public_id)})
    assert reassigned.status_code == 200, reassigned.content
    assert [c["id"] for c in as_bob.get("/search", q="zhangsan").json()] == [zhangsan["id"]]
    assert as_alice.get("/search", q="zhangsan").json() == []
    as_bob.post(f"/customers/{zhangsan['id']}/archive")
    assert as_bob.get("/search", q="zhangsan").json() == []
    archived = as_bob.get("/customers", q="zhangsan", archived="true").json()["items"]
    assert [c["id"] for c in archived] == [zhangsan["id"]]
    as_bob.post(f"/customers/{zhangsan['id']}/restore")
    assert [c["id"] for c in as_bob.get("/search", q="zhangsan").json()] == [zhangsan["id"]]


def test_quick_search_lists_newest_first_and_ignores_index_internals(as_alice: Api, alice: User) -> None:
    ids = [as_alice.post("/customers", {"display_name": f"张{given}"}).json()["id"] for given in "一二三"]
    assert [c["id"] for c in as_alice.get("/search", q="张").json()] == ids[::-1]
    assert [c["id"] for c in as_alice.get("/search", q="zhang", limit=2).json()] == ids[:0:-1]
    for internal in ["live", f"o{alice.pk}", "onone", "archived"]:
        assert as_alice.get("/search", q=internal).json() == [], internal


def test_patch_null_clears_only_optional_fields(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    as_alice.patch(f"/customers/{zhangsan['id']}", {"birthday": "1990-05-01"})
    refused = as_alice.patch(f"/customers/{zhangsan['id']}", {"display_name": None, "birthday": None})
    assert errors_of(refused) == {"display_name": "may not be null; leave it out to keep it"}
    assert customer_row(zhangsan["id"]).birthday is not None
    cleared = as_alice.patch(f"/customers/{zhangsan['id']}", {"birthday": None})
    assert cleared.json()["birthday"] is None


def test_nul_characters_are_refused_before_they_reach_the_database(as_alice: Api) -> None:
    in_query = as_alice.get("/customers", q="张\x00三")
    assert in_query.status_code == 400
    assert in_query.json() == {"errors": [{"field": None, "reason": "the request contains a NUL character"}]}
    in_body = as_alice.post("/customers", {"display_name": "王\x00五"})
    assert in_body.status_code == 400
    assert Customer.objects.count() == 0


def test_custom_field_bounds_must_fit(api_for: Callable[[User], Api], db: None) -> None:
    as_admin = api_for(make_user("root", Role.ADMIN))
    response = as_admin.post(
        "/custom-fields", {"key": "x", "label": "x", "field_type": "decimal", "max_value": -2.5e16}
    )
    assert response.status_code == 422
    assert "max_value" in errors_of(response)


def test_parent_loops_are_refused(as_alice: Api) -> None:
    group = as_alice.post("/customers", {"kind": "organization", "display_name": "华信集团"}).json()
    branch = as_alice.post(
        "/customers", {"kind": "organization", "display_name": "华信深圳", "parent": group["id"]}
    ).json()
    loop = as_alice.patch(f"/customers/{group['id']}", {"parent": branch["id"]})
    assert errors_of(loop) == {"parent": "the parent belongs to this customer already; that would be a loop"}
    itself = as_alice.patch(f"/customers/{group['id']}", {"parent": group["id"]})
    assert errors_of(itself) == {"parent": "a customer cannot be its own parent"}
    assert customer_row(group["id"]).parent_id is None


def test_times_with_any_offset_are_stored_in_utc(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    odd = as_alice.get("/customers", created_before="2099-01-01T00:00:00-23:01")
    assert odd.status_code == 200
    assert [c["id"] for c in odd.json()["items"]] == [zhangsan["id"]]
    logged = as_alice.post(
        "/interactions",
        {"customer": zhangsan["id"], "kind": "visit", "subject": "拜访", "occurred_at": "2026-01-05T09:30:00+08:00"},
    )
    assert logged.json()["occurred_at"].startswith("2026-01-05T01:30:00")
    naive = as_alice.post(
        "/interactions",
        {"customer": zhangsan["id"], "kind": "visit", "subject": "拜访", "occurred_at": "2026-01-05T09:30:00"},
    )
    assert naive.json()["occurred_at"].startswith("2026-01-05T01:30:00")  # read in Asia/Shanghai
    edge = as_alice.get("/customers", created_after="0001-01-01T00:00:00+23:00")
    assert edge.status_code == 422
    assert "created_after" in errors_of(edge)


def test_services_refuse_text_longer_than_its_field(alice: User) -> None:
    """Callers other than the API (pages, import, CLI) get the same field errors; nothing is stored."""
    from kehu.core.errors import ServiceValidationError
    from kehu.customers.services import ContactPointInput, customer_create

    before = (Customer.objects.count(), ContactPoint.objects.count(), audit_count())
    with pytest.raises(ServiceValidationError) as refused:
        customer_create(actor=alice, values={"display_name": "王五", "region": "华" * 51, "job_title": "职" * 101})
    assert {error.field: error.reason for error in refused.value.errors} == {
        "region": "is 51 characters long; at most 50 are allowed",
        "job_title": "is 101 characters long; at most 100 are allowed",
    }
    with pytest.raises(ServiceValidationError) as refused:
        customer_create(
            actor=alice,
            values={"display_name": "王五"},
            contact_points=[ContactPointInput(kind="mobile", value="13812345678", label="工" * 51)],
        )
    assert [error.field for error in refused.value.errors] == ["contact_points.0.label"]
    assert (Customer.objects.count(), ContactPoint.objects.count(), audit_count()) == before
