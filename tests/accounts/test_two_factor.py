"""Two-factor sign-in, re-authentication before sensitive changes, and disabled users' sessions ending."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kehu.accounts.models import SignInAttempt, User, UserSession
from kehu.accounts.roles import Role
from kehu.accounts.services import user_deactivate
from kehu.audit.models import AuditEvent, AuditRecord

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def required(settings: Any) -> None:
    settings.KEHU_TWO_FACTOR_ROLES = frozenset({"admin", "manager", "sales_rep", "service_agent"})
    # django-otp also waits 2^(n-1) seconds after the n-th wrong code; kehu's lockout is what these tests check.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def rep(alice: User) -> User:
    alice.set_password(PASSWORD)
    alice.save()
    return alice


def code_for(user: User, *, steps_ahead: int = 0) -> str:
    device = TOTPDevice.objects.get(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def events() -> list[str]:
    return list(AuditRecord.objects.order_by("sequence").values_list("event", flat=True))


def sign_in(client: Client, username: str = "alice", password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password, "next": "/"})


def enrol(client: Client, user: User) -> list[str]:
    """Sign in for the first time under the requirement: set up the authenticator; returns the backup codes."""
    assert sign_in(client, user.username)["Location"].startswith("/accounts/two-factor/setup/")
    page = client.get("/accounts/two-factor/setup/?next=/").content.decode()
    assert "<svg" in page  # the QR code, inline
    response = client.post("/accounts/two-factor/setup/", {"code": code_for(user), "next": "/"})
    assert response.status_code == 200
    return re.findall(r"<li><code>([0-9a-z]+)</code></li>", response.content.decode())


def test_a_rep_sets_up_an_authenticator_at_first_sign_in(client: Client, rep: User, required: None) -> None:
    assert sign_in(client)["Location"] == "/accounts/two-factor/setup/?next=%2F"
    # Between the password and the code nothing is open: not the pages, not the API.
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/accounts/security/")["Location"].startswith("/accounts/login/")
    page = client.get("/accounts/two-factor/setup/").content.decode()
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page)
    assert secret is not None
    assert len(secret.group(1).replace(" ", "")) == 32  # 160-bit key in base32
    wrong = client.post("/accounts/two-factor/setup/", {"code": "000000"})
    assert "验证码无效" in wrong.content.decode()
    assert client.get("/api/v1/me").status_code == 401

    response = client.post("/accounts/two-factor/setup/", {"code": code_for(rep), "next": "/"})
    codes = re.findall(r"<li><code>([0-9a-z]+)</code></li>", response.content.decode())
    assert len(set(codes)) == 10
    assert client.get("/api/v1/me").json()["username"] == "alice"
    assert TOTPDevice.objects.get(user=rep).confirmed
    assert events()[-3:] == [
        AuditEvent.USER_TWO_FACTOR_FAILED,
        AuditEvent.USER_TWO_FACTOR_ENROLLED,
        AuditEvent.USER_SIGNED_IN,
    ]


def test_signing_in_again_takes_a_fresh_code_or_a_backup_code_once(client: Client, rep: User, required: None) -> None:
    codes = enrol(client, rep)
    used = code_for(rep)
    client.post("/accounts/logout/")

    assert sign_in(client)["Location"] == "/accounts/two-factor/?next=%2F"
    replay = client.post("/accounts/two-factor/", {"code": used, "next": "/"})
    assert "验证码无效" in replay.content.decode()  # a code is good once
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/accounts/two-factor/", {"code": code_for(rep, steps_ahead=1), "next": "/"}).status_code == 302
    assert client.get("/api/v1/me").status_code == 200
    client.post("/accounts/logout/")

    sign_in(client)
    assert client.post("/accounts/two-factor/", {"code": codes[0], "next": "/"}).status_code == 302
    client.post("/accounts/logout/")
    sign_in(client)
    again = client.post("/accounts/two-factor/", {"code": codes[0], "next": "/"})
    assert again.status_code == 200
    assert "验证码无效" in again.content.decode()


def test_wrong_codes_count_towards_the_lockout(client: Client, rep: User, required: None, settings: Any) -> None:
    enrol(client, rep)
    client.post("/accounts/logout/")
    sign_in(client)
    for _ in range(settings.KEHU_SIGNIN_MAX_FAILURES):
        client.post("/accounts/two-factor/", {"code": "123456"})
    locked = client.post("/accounts/two-factor/", {"code": code_for(rep, steps_ahead=1)})
    assert "登录失败次数过多" in locked.content.decode()
    assert client.get("/api/v1/me").status_code == 401
    failures = settings.KEHU_SIGNIN_MAX_FAILURES
    assert SignInAttempt.objects.filter(username="alice", succeeded=False).count() == failures + 1
    assert AuditRecord.objects.filter(event=AuditEvent.USER_TWO_FACTOR_FAILED).count() == failures


def test_a_session_without_the_required_factor_is_sent_back(client: Client, rep: User, required: None) -> None:
    """Signed in before the requirement applied to the role (force_login skips the steps): both doors close."""
    client.force_login(rep)
    response = client.get("/accounts/security/")
    assert response["Location"].startswith("/accounts/two-factor/")
    assert client.get("/api/v1/me").status_code == 401
    # The session now holds the pending step only: the user proves the second factor and carries on.
    assert client.get("/accounts/two-factor/")["Location"].startswith("/accounts/two-factor/setup/")


def test_roles_without_the_requirement_sign_in_with_the_password(client: Client, required: None) -> None:
    analyst = User.objects.create_user(username="ana", password=PASSWORD, role=Role.ANALYST)
    assert sign_in(client, analyst.username)["Location"] == "/"
    assert client.get("/api/v1/me").status_code == 200


def test_admin_resets_a_lost_phone(client: Client, rep: User, required: None) -> None:
    enrol(client, rep)
    client.post("/accounts/logout/")
    call_command("user", "reset-two-factor", "alice")
    assert not TOTPDevice.objects.filter(user=rep).exists()
    assert AuditRecord.objects.filter(event=AuditEvent.USER_TWO_FACTOR_RESET).exists()
    assert sign_in(client)["Location"].startswith("/accounts/two-factor/setup/")


def test_sensitive_changes_ask_for_the_password_again(client: Client, rep: User) -> None:
    client.force_login(rep)
    response = client.get("/accounts/security/password/")
    assert response["Location"] == "/accounts/reauthenticate/?next=%2Faccounts%2Fsecurity%2Fpassword%2F"
    refused = client.post("/accounts/reauthenticate/", {"password": "wrong", "next": "/accounts/security/password/"})
    assert "不匹配" in refused.content.decode()
    ok = client.post("/accounts/reauthenticate/", {"password": PASSWORD, "next": "/accounts/security/password/"})
    assert ok["Location"] == "/accounts/security/password/"
    assert AuditEvent.USER_REAUTHENTICATED in events()

    common = client.post("/accounts/security/password/", {"new_password": "password", "new_password_again": "password"})
    assert "这个密码太常见了" in common.content.decode()
    mismatch = client.post(
        "/accounts/security/password/", {"new_password": "a new long phrase", "new_password_again": "something else"}
    )
    assert "两次输入的密码不一致" in mismatch.content.decode()


def test_changing_the_password_ends_every_other_session(rep: User) -> None:
    laptop, phone = Client(), Client()
    for browser in (laptop, phone):
        assert sign_in(browser)["Location"] == "/"
    assert UserSession.objects.filter(user=rep).count() == 2
    new = "a brand new passphrase"
    response = laptop.post("/accounts/security/password/", {"new_password": new, "new_password_again": new})
    assert response["Location"] == "/accounts/security/"  # signing in counts as confirming the password just now
    assert laptop.get("/api/v1/me").status_code == 200
    assert phone.get("/api/v1/me").status_code == 401
    assert UserSession.objects.filter(user=rep).count() == 1
    assert AuditEvent.USER_PASSWORD_CHANGED in events()
    rep.refresh_from_db()
    assert rep.check_password(new)


def test_own_email_and_phone_are_validated_normalised_and_audited_without_values(client: Client, rep: User) -> None:
    sign_in(client)
    bad = client.post("/accounts/security/contact/", {"email": "alice@", "phone": "1381234567"})
    page = bad.content.decode()
    assert "1381234567 有 10 位数字；中国大陆手机号为 11 位" in page
    assert 'aria-invalid="true"' in page
    good = client.post("/accounts/security/contact/", {"email": "Alice@Example.COM", "phone": "138 1234 5678"})
    assert good["Location"] == "/accounts/security/"
    rep.refresh_from_db()
    assert (rep.email, rep.phone) == ("alice@example.com", "+8613812345678")
    record = AuditRecord.objects.filter(event=AuditEvent.USER_CONTACT_CHANGED).get()
    assert sorted(record.fields) == ["email", "phone"]
    assert "13812345678" not in str(record.__dict__)


def test_disabling_a_user_ends_their_sessions_at_once(rep: User, bob: User) -> None:
    browser = Client()
    sign_in(browser)
    assert browser.get("/api/v1/me").status_code == 200
    assert user_deactivate(actor=bob, user=rep) == 1
    assert not Session.objects.exists()
    assert browser.get("/api/v1/me").status_code == 401
    record = AuditRecord.objects.filter(event=AuditEvent.USER_DEACTIVATED).get()
    assert record.extra == {"sessions_ended": 1}
    assert "请重试" in sign_in(browser).content.decode() or "不正确" in sign_in(browser).content.decode()


def test_admin_disables_a_user_in_the_admin(client: Client, rep: User) -> None:
    admin = User.objects.create_superuser(username="root", password=PASSWORD, role=Role.ADMIN)
    browser = Client()
    sign_in(browser)
    client.force_login(admin)
    response = client.post(
        "/admin/accounts/user/", {"action": "deactivate", "_selected_action": [rep.pk, admin.pk]}, follow=True
    )
    assert response.status_code == 200
    rep.refresh_from_db()
    admin.refresh_from_db()
    assert not rep.is_active
    assert admin.is_active  # never oneself
    assert browser.get("/api/v1/me").status_code == 401


def test_deploy_check_warns_when_revealing_roles_can_skip_the_second_factor(settings: Any) -> None:
    settings.KEHU_TWO_FACTOR_ROLES = frozenset({"admin"})
    from kehu.accounts.checks import two_factor_for_revealing_roles

    [warning] = two_factor_for_revealing_roles(None)
    assert warning.id == "kehu.W001"
    assert "sales_rep" in warning.msg
    settings.KEHU_TWO_FACTOR_ROLES = frozenset({"admin", "wizard"})
    with pytest.raises(SystemCheckError, match=r"kehu\.E001"):
        call_command("check")
