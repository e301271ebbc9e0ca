"""/api/v1/interactions over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.interactions.models import Interaction
from tests.conftest import Api, errors_of, make_user

pytestmark = pytest.mark.django_db


def test_log_list_get_update(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    logged = as_alice.post(
        "/interactions",
        {
            "customer": zhangsan["id"],
            "kind": "call",
            "direction": "outbound",
            "subject": "回访",
            "body": "客户对新品感兴趣 <script>alert(1)</script>",
            "outcome": "约下周拜访",
        },
    )
    assert logged.status_code == 201, logged.content
    body = logged.json()
    assert (body["kind"], body["user"], body["body"]) == (
        "call",
        "alice",
        "客户对新品感兴趣 <script>alert(1)</script>",
    )
    as_alice.post(
        "/interactions",
        {
            "customer": zhangsan["id"],
            "kind": "feedback",
            "direction": "inbound",
            "subject": "物流较慢",
            "satisfaction": 3,
            "occurred_at": "2026-01-01T10:00:00+08:00",
        },
    )
    listed = as_alice.get("/interactions", customer=zhangsan["id"]).json()["items"]
    assert [item["kind"] for item in listed] == ["call", "feedback"]
    assert as_alice.get("/interactions", kind="feedback").json()["items"][0]["satisfaction"] == 3
    assert as_alice.get(f"/interactions/{body['id']}").json()["subject"] == "回访"
    patched = as_alice.patch(f"/interactions/{body['id']}", {"outcome": "已成交"})
    assert patched.json()["outcome"] == "已成交"


def test_invalid_interactions_name_the_field(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    cases = [
        ({"kind": "telepathy", "subject": "x"}, "kind"),
        ({"kind": "call", "subject": "x", "satisfaction": 9}, "satisfaction"),
        ({"kind": "call", "body": "长" * 20001}, "body"),
        ({"kind": "call"}, "body"),
        ({"kind": "call", "subject": "x", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
        ({"kind": "call", "subject": "x", "channel": "渠" * 300}, "channel"),
        ({"kind": "call", "subject": "x", "outcome": "果" * 300}, "outcome"),
    ]
    for body, field in cases:
        response = as_alice.post("/interactions", {"customer": zhangsan["id"], **body})
        assert response.status_code == 422, body
        assert field in errors_of(response), (body, response.json())
    assert Interaction.objects.count() == 0


def test_scope_and_roles(
    as_alice: Api, as_charlie: Api, zhangsan: dict[str, Any], api_for: Callable[[User], Api]
) -> None:
    logged = as_alice.post(
        "/interactions", {"customer": zhangsan["id"], "kind": "note", "direction": "internal", "body": "VIP"}
    ).json()
    assert as_charlie.get(f"/interactions/{logged['id']}").status_code == 404
    assert (
        as_charlie.post("/interactions", {"customer": zhangsan["id"], "kind": "call", "subject": "x"}).status_code
        == 404
    )
    assert as_charlie.patch(f"/interactions/{logged['id']}", {"body": "hacked"}).status_code == 404
    assert Interaction.objects.get(public_id=logged["id"]).body == "VIP"
    service = api_for(make_user("svc", Role.SERVICE_AGENT))
    assert (
        service.post("/interactions", {"customer": zhangsan["id"], "kind": "feedback", "subject": "投诉"}).status_code
        == 201
    )
    marketer = api_for(make_user("mkt", Role.MARKETER))
    assert (
        marketer.post("/interactions", {"customer": zhangsan["id"], "kind": "call", "subject": "x"}).status_code == 403
    )
    assert Interaction.objects.count() == 2


def test_patch_refuses_null_for_required_fields(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    logged = as_alice.post(
        "/interactions", {"customer": zhangsan["id"], "kind": "call", "subject": "回访", "satisfaction": 4}
    ).json()
    refused = as_alice.patch(f"/interactions/{logged['id']}", {"occurred_at": None, "kind": None})
    assert refused.status_code == 422
    assert errors_of(refused) == {
        "kind": "may not be null; leave it out to keep it",
        "occurred_at": "may not be null; leave it out to keep it",
    }
    cleared = as_alice.patch(f"/interactions/{logged['id']}", {"satisfaction": None})
    assert cleared.json()["satisfaction"] is None
