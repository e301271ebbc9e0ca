"""The auditor reads, filters and exports the audit log over HTTP; nobody else may."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from tests.conftest import Api, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_auditor(api_for: Callable[[User], Api]) -> Api:
    return api_for(make_user("audit", Role.AUDITOR))


def test_auditor_filters_the_log(as_auditor: Api, as_alice: Api, zhangsan: dict[str, Any]) -> None:
    as_alice.patch(f"/customers/{zhangsan['id']}", {"job_title": "经理"})
    page = as_auditor.get("/audit", customer=zhangsan["id"]).json()
    assert [item["event"] for item in page["items"]] == ["customer.updated", "customer.created"]
    updated = page["items"][0]
    assert (updated["actor"], updated["fields"], updated["source"], updated["customer"]) == (
        "alice",
        ["job_title"],
        "api",
        zhangsan["id"],
    )
    # The API speaks English unless the client asks otherwise with Accept-Language.
    assert updated["event_label"] == "Customer updated"
    chinese = as_auditor.client.get(
        f"/api/v1/audit?customer={zhangsan['id']}",
        HTTP_AUTHORIZATION=f"Bearer {as_auditor.token}",
        HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9",
    )
    assert chinese.json()["items"][0]["event_label"] == "修改客户"
    only_updates = as_auditor.get("/audit", event="customer.updated").json()["items"]
    assert [item["sequence"] for item in only_updates] == [updated["sequence"]]
    by_actor = as_auditor.get("/audit", actor="alice", limit=2).json()
    assert len(by_actor["items"]) == 2
    assert by_actor["next_cursor"] is not None
    rest = as_auditor.get("/audit", actor="alice", limit=2, cursor=by_actor["next_cursor"]).json()["items"]
    assert rest
    assert all(item["sequence"] < by_actor["items"][-1]["sequence"] for item in rest)
    nothing = as_auditor.get("/audit", customer="00000000-0000-4000-8000-000000000000").json()["items"]
    assert nothing == []


def test_export_is_a_spreadsheet_safe_csv(
    as_auditor: Api, zhangsan: dict[str, Any], east: Any, api_for: Callable[[User], Api]
) -> None:
    sneaky = api_for(make_user("+1-sneaky", Role.SALES_REP, east))  # user names may start with + - @
    sneaky.post("/customers", {"display_name": "李四"})
    response = as_auditor.get("/audit/export")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="kehu-audit-')
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[-1]["event"] == "token.created"  # the oldest: the auditor's test token
    assert {row["event"] for row in rows} >= {"customer.created", "token.created"}
    assert rows[0]["actor"] == "'+1-sneaky"
    assert all(not row[column].startswith(("=", "+", "-", "@")) for row in rows for column in row)


def test_sales_rep_cannot_read_the_log(as_alice: Api, zhangsan: dict[str, Any]) -> None:
    assert as_alice.get("/audit").status_code == 403
    assert as_alice.get("/audit/export").status_code == 403
