"""Sign-in page: Chinese by default, English on request, and a working session for every role."""

from __future__ import annotations

import pytest
from django.test import Client

from kehu.accounts.models import User

pytestmark = pytest.mark.django_db


def test_sign_in_page_speaks_chinese_by_default(client: Client) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert "<h1>登录</h1>" in page
    assert "用户名" in page


def test_language_switch_to_english(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert "<h1>Sign in</h1>" in client.get("/accounts/login/").content.decode()


def test_sales_rep_signs_in_and_uses_the_api_with_the_session(client: Client, alice: User) -> None:
    alice.set_password("correct horse battery")
    alice.save()
    wrong = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert "用户名或密码不正确" in wrong.content.decode()
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 302
    assert "你好，alice" in client.get("/").content.decode()
    assert client.get("/api/v1/me").json()["username"] == "alice"


def test_admin_manages_users_but_not_customer_data(client: Client) -> None:
    admin = User.objects.create_superuser(username="root", password="long enough pass 1", role="admin")
    client.force_login(admin)
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get("/admin/accounts/team/").status_code == 200
    assert client.get("/admin/customers/customer/").status_code == 404
    assert client.get("/admin/audit/auditrecord/").status_code == 404
