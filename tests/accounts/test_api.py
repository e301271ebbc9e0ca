"""/api/v1/me, personal tokens, and session authentication with CSRF."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kehu.accounts.models import ApiToken, User
from kehu.accounts.services import token_hash
from tests.conftest import Api, errors_of

pytestmark = pytest.mark.django_db


def test_me_describes_role_and_scope(as_alice: Api) -> None:
    body = as_alice.get("/me").json()
    assert (body["username"], body["role"], body["team"], body["scope"]) == (
        "alice",
        "sales_rep",
        "华东销售部",
        "own",
    )
    assert "create" in body["grants"]["customer"]


def test_tokens_are_stored_hashed_listed_and_revoked(as_alice: Api, alice: User) -> None:
    created = as_alice.post("/tokens", {"name": "导入脚本"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("kehu_")
    stored = ApiToken.objects.get(pk=created.json()["id"])
    assert stored.key_hash == token_hash(secret)
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert "secret" not in as_alice.get("/tokens").json()[0]
    other = Api(client=Client(), token=secret, user=alice)
    assert other.get("/me").status_code == 200
    assert as_alice.delete(f"/tokens/{created.json()['id']}").status_code == 204
    assert other.get("/me").status_code == 401
    assert errors_of(as_alice.post("/tokens", {"name": "x", "expires_at": "2000-01-01T00:00:00Z"})) == {
        "expires_at": "is in the past"
    }


def test_expired_token_and_disabled_user_are_refused(as_alice: Api, alice: User) -> None:
    ApiToken.objects.filter(user=alice).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert as_alice.get("/me").status_code == 401
    ApiToken.objects.filter(user=alice).update(expires_at=None)
    assert as_alice.get("/me").status_code == 200
    alice.is_active = False
    alice.save()
    assert as_alice.get("/me").status_code == 401


def test_cannot_revoke_someone_elses_token(as_alice: Api, as_charlie: Api) -> None:
    token_id = ApiToken.objects.get(user__username="charlie").pk
    assert as_alice.delete(f"/tokens/{token_id}").status_code == 404
    assert ApiToken.objects.get(pk=token_id).revoked_at is None


def test_session_auth_requires_csrf_on_writes(alice: User, zhangsan: dict[str, Any]) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get(f"/api/v1/customers/{zhangsan['id']}").status_code == 200
    refused = browser.patch(
        f"/api/v1/customers/{zhangsan['id']}",
        data=json.dumps({"job_title": "x"}),
        content_type="application/json",
    )
    assert refused.status_code in (401, 403)
    assert User.objects.get(pk=alice.pk).customers.get().job_title == ""


def test_openapi_schema_is_served(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/customers" in schema["paths"]
    assert "/api/v1/search" in schema["paths"]
    assert client.get("/api/docs").status_code == 302


def test_api_docs_load_no_external_assets(client: Client) -> None:
    page = client.get("/api/v1/docs").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "https://" not in page
