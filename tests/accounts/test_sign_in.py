"""Sign-in throttling and lockout, session expiry, disabled users; every outcome audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kehu.accounts.models import SignInAttempt, User
from kehu.audit.models import AuditEvent, AuditRecord

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def rep(alice: User) -> User:
    alice.set_password(PASSWORD)
    alice.save()
    return alice


def _sign_in(client: Client, password: str, username: str = "alice") -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_success_and_failure_are_audited(client: Client, rep: User) -> None:
    assert "用户名或密码不正确" in _sign_in(client, "wrong").content.decode()
    assert _sign_in(client, PASSWORD).status_code == 302
    events = list(AuditRecord.objects.values_list("event", "actor_id", "target_id", "source").order_by("sequence"))
    assert events[-2:] == [
        (AuditEvent.USER_SIGN_IN_FAILED, None, "alice", "web"),
        (AuditEvent.USER_SIGNED_IN, rep.pk, str(rep.pk), "web"),
    ]
    client.post("/accounts/logout/")
    assert AuditRecord.objects.order_by("-sequence").values_list("event", flat=True)[0] == AuditEvent.USER_SIGNED_OUT
    assert client.get("/api/v1/me").status_code == 401


def test_five_failures_lock_the_user_name_even_for_the_right_password(client: Client, rep: User, settings: Any) -> None:
    for _ in range(settings.KEHU_SIGNIN_MAX_FAILURES):
        _sign_in(client, "wrong")
    locked = _sign_in(client, PASSWORD)
    assert locked.status_code == 200
    assert "登录失败次数过多" in locked.content.decode()
    assert client.get("/api/v1/me").status_code == 401
    assert AuditRecord.objects.filter(event=AuditEvent.USER_LOCKED_OUT).count() == 1
    # The lock is on the name: the window passes and the right password works again.
    SignInAttempt.objects.update(at=timezone.now() - dt.timedelta(minutes=settings.KEHU_SIGNIN_LOCK_MINUTES + 1))
    assert _sign_in(client, PASSWORD).status_code == 302


def test_unknown_names_are_refused_like_wrong_passwords(client: Client, rep: User) -> None:
    unknown = _sign_in(client, PASSWORD, username="nobody").content.decode()
    wrong = _sign_in(client, "wrong").content.decode()
    assert "用户名或密码不正确" in unknown
    assert "用户名或密码不正确" in wrong


def test_one_address_is_throttled_across_names(client: Client, rep: User, settings: Any) -> None:
    for index in range(settings.KEHU_SIGNIN_MAX_FAILURES * 4):
        _sign_in(client, "wrong", username=f"guess{index}")
    assert "登录失败次数过多" in _sign_in(client, PASSWORD).content.decode()


def test_idle_and_old_sessions_end(client: Client, rep: User, settings: Any) -> None:
    _sign_in(client, PASSWORD)
    assert client.get("/api/v1/me").status_code == 200
    session = client.session
    session["kehu_last_seen_at"] = (
        timezone.now() - dt.timedelta(minutes=settings.KEHU_SESSION_IDLE_MINUTES + 1)
    ).timestamp()
    session.save()
    expired = client.get("/api/v1/me")
    assert expired.status_code == 401
    assert AuditRecord.objects.order_by("-sequence").values_list("event", flat=True)[0] == AuditEvent.SESSION_EXPIRED
    _sign_in(client, PASSWORD)
    session = client.session
    session["kehu_signed_in_at"] = (
        timezone.now() - dt.timedelta(hours=settings.KEHU_SESSION_ABSOLUTE_HOURS, minutes=1)
    ).timestamp()
    session.save()
    page = client.get("/")
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/")


def test_disabling_a_user_ends_their_session(client: Client, rep: User) -> None:
    _sign_in(client, PASSWORD)
    assert client.get("/api/v1/me").status_code == 200
    rep.is_active = False
    rep.save()
    assert client.get("/api/v1/me").status_code == 401


def test_next_only_goes_to_this_site(client: Client, rep: User) -> None:
    response = client.post("/accounts/login/?next=https://evil.example/", {"username": "alice", "password": PASSWORD})
    assert response["Location"] == "/"
