"""Shared personas and an API client: alice and bob are reps in one team, charlie is a rep in another."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from kehu.accounts.models import Team, User
from kehu.accounts.roles import Role
from kehu.accounts.services import api_token_create
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.customers.models import Customer


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_audit_head_file(settings: Any, tmp_path: Path) -> None:
    """Each test's database has its own chain, so each gets its own head file outside it (and its uploads)."""
    settings.KEHU_AUDIT_HEAD_FILE = tmp_path / "audit-head.json"
    settings.KEHU_ERASURE_JOURNAL = tmp_path / "erasure-journal.jsonl"
    settings.KEHU_UPLOAD_DIR = tmp_path / "uploads"


@pytest.fixture(autouse=True)
def _services_speak_english() -> Iterator[None]:
    """Services give their reasons in the active language (zh-Hans when none is); the tests read them in
    English. Pages and the API still choose the language per request, as in production."""
    with translation.override("en"):
        yield


@dataclass
class Api:
    """Calls /api/v1 over HTTP as one user, with a personal API token."""

    client: Client
    token: str
    user: User

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        url = f"/api/v1{path}"
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        elif params:
            kwargs["data"] = params
        return getattr(self.client, method)(url, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        return self._call("get", path, **params)

    def post(self, path: str, body: Any = None) -> Any:
        return self._call("post", path, body if body is not None else {})

    def patch(self, path: str, body: Any) -> Any:
        return self._call("patch", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self._call("put", path, body)

    def delete(self, path: str) -> Any:
        return self._call("delete", path)


def make_user(username: str, role: Role, team: Team | None = None) -> User:
    user = User.objects.create_user(username=username, password="not-used-123", role=role, team=team)
    return user


@pytest.fixture
def east(db: None) -> Team:
    return Team.objects.create(name="华东销售部")


@pytest.fixture
def south(db: None) -> Team:
    return Team.objects.create(name="华南销售部")


@pytest.fixture
def alice(east: Team) -> User:
    return make_user("alice", Role.SALES_REP, east)


@pytest.fixture
def bob(east: Team) -> User:
    return make_user("bob", Role.SALES_REP, east)


@pytest.fixture
def charlie(south: Team) -> User:
    return make_user("charlie", Role.SALES_REP, south)


@pytest.fixture
def api_for(db: None) -> Callable[[User], Api]:
    def build(user: User) -> Api:
        from django.db import transaction

        with transaction.atomic():
            issued = api_token_create(actor=user, name="tests")
        return Api(client=Client(), token=issued.secret, user=user)

    return build


@pytest.fixture
def as_alice(alice: User, api_for: Callable[[User], Api]) -> Api:
    return api_for(alice)


@pytest.fixture
def as_charlie(charlie: User, api_for: Callable[[User], Api]) -> Api:
    return api_for(charlie)


@pytest.fixture
def zhangsan(as_alice: Api) -> dict[str, Any]:
    """A customer of alice's, created through the API."""
    response = as_alice.post(
        "/customers",
        {
            "display_name": "张三",
            "family_name": "张",
            "given_name": "三",
            "company_name": "深圳市腾讯计算机系统有限公司",
            "lifecycle_stage": "customer",
            "source_channel": "website",
            "contact_points": [
                {"kind": "mobile", "value": "138-1234-5678"},
                {"kind": "email", "value": "Zhang.San@Example.COM"},
                {"kind": "wechat", "value": "zhangsan_wx"},
            ],
            "addresses": [{"raw": "广东省深圳市南山区科技园路1号 518057"}],
            "tags": ["VIP"],
        },
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def errors_of(response: Any) -> dict[str, str]:
    """{field: reason} from an API error body."""
    return {item["field"]: item["reason"] for item in response.json()["errors"]}


def audit_count() -> int:
    """Audit records of changes; refusals by role are audited too and are left out here."""
    return AuditRecord.objects.exclude(event=AuditEvent.PERMISSION_DENIED).count()


def customer_row(public_id: str) -> Customer:
    return Customer.objects.get(public_id=public_id)
