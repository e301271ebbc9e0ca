"""The privacy pages as their users work them: consent on the customer, the request register with export and
erasure, the retention rules and report, and the audit viewer for the auditor. Each refusal changes nothing."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.test import Client

from kehu.accounts.models import Team, User
from kehu.accounts.roles import Role
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.customers.models import Customer
from kehu.customers.services import ContactPointInput, customer_create
from kehu.privacy.models import Consent, RetentionRule, SubjectRequest
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def customer(alice: User) -> Customer:
    return customer_create(
        actor=alice,
        values={"display_name": "张三"},
        contact_points=[ContactPointInput(kind="mobile", value="13812345678", is_primary=True)],
    )


@pytest.fixture
def admin(db: None) -> User:
    return make_user("root", Role.ADMIN)


def test_rep_records_and_withdraws_consent(alice: User, charlie: User, customer: Customer) -> None:
    page = f"/customers/{customer.public_id}/consents/"
    client = signed_in(alice)
    assert "No consent recorded yet" in client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    given = {
        "purpose": "marketing_sms",
        "channel": "sms",
        "legal_basis": "consent",
        "source": "门店登记表",
        "wording": f"我同意接收促销短信 {XSS}",
    }
    assert client.post(page, given).status_code == 302
    listed = client.get(page).content.decode()
    assert "门店登记表" in listed
    assert "&lt;script&gt;" in listed
    assert XSS not in listed

    # Profiling rests on consent only: the service's reason is shown next to the legal-basis field, in the
    # page's language.
    refused = client.post(page, {**given, "purpose": "profiling", "legal_basis": "contract"})
    assert refused.status_code == 400
    assert refused.context["form"].errors["legal_basis"] == ["“用户画像与自动化分析”只能基于本人同意"]
    english = client.post(page, {**given, "purpose": "profiling", "legal_basis": "contract"}, HTTP_ACCEPT_LANGUAGE="en")
    reason = "Profiling and automated analysis rests on the person's consent"
    assert english.context["form"].errors["legal_basis"] == [reason]
    assert Consent.objects.filter(customer=customer).count() == 1

    # Another team's rep cannot see or change it.
    before = Consent.objects.count(), AuditRecord.objects.count()
    other = signed_in(charlie)
    assert other.get(page).status_code == 404
    assert other.post(page, given).status_code == 404
    withdraw = {"purpose": "marketing_sms", "channel": "sms", "source": "x"}
    assert other.post(f"{page}withdraw/", withdraw).status_code == 404
    assert (Consent.objects.count(), AuditRecord.objects.exclude(event=AuditEvent.PERMISSION_DENIED).count()) == before

    withdrawn = client.post(f"{page}withdraw/", {"purpose": "marketing_sms", "channel": "sms", "source": "电话退订"})
    assert withdrawn.status_code == 302
    consent = Consent.objects.get(customer=customer)
    assert consent.withdrawn_at is not None
    assert consent.withdrawal_source == "电话退订"
    assert AuditRecord.objects.filter(event=AuditEvent.CONSENT_WITHDRAWN, customer_id=customer.pk).count() == 1
    assert "电话退订" in client.get(page).content.decode()


def test_access_request_from_register_to_archive(alice: User, east: Team, admin: User, customer: Customer) -> None:
    manager = make_user("mgr", Role.MANAGER, east)
    client = signed_in(manager)
    detail = client.get(f"/customers/{customer.public_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"/customers/{customer.public_id}/requests/new/" in detail
    # A sales rep may not register requests: no link, and the page is not there for them.
    rep = signed_in(alice)
    assert "/requests/new/" not in rep.get(f"/customers/{customer.public_id}/").content.decode()
    assert rep.get(f"/customers/{customer.public_id}/requests/new/").status_code == 404

    new = f"/customers/{customer.public_id}/requests/new/"
    missing = client.post(new, {"kind": "access", "received_through": ""})
    assert missing.status_code == 400
    assert "received_through" in missing.context["form"].errors
    opened = client.post(new, {"kind": "access", "received_through": "客户来电", "details": XSS})
    assert opened.status_code == 302
    item = SubjectRequest.objects.get()
    assert opened["Location"] == f"/privacy/requests/{item.public_id}/"
    register = client.get("/privacy/requests/?status=open").content.decode()
    assert f"/privacy/requests/{item.public_id}/" in register
    shown = client.get(opened["Location"]).content.decode()
    assert "&lt;script&gt;" in shown
    assert XSS not in shown
    assert "/export/" not in shown  # the manager may register, not export

    assert client.post(f"/privacy/requests/{item.public_id}/export/").status_code == 404
    archive = signed_in(admin).post(f"/privacy/requests/{item.public_id}/export/")
    assert archive.status_code == 200
    assert archive["Content-Type"] == "application/zip"
    assert "no-store" in archive["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(archive.content)) as files:
        data = json.loads(files.read("data.json"))
    assert data["customer"][0]["display_name"] == "张三"
    item.refresh_from_db()
    assert item.status == "completed"
    assert AuditRecord.objects.filter(event=AuditEvent.SUBJECT_DATA_EXPORTED, customer_id=customer.pk).exists()


def test_erasure_needs_confirmation(admin: User, customer: Customer) -> None:
    client = signed_in(admin)
    opened = client.post(
        f"/customers/{customer.public_id}/requests/new/", {"kind": "deletion", "received_through": "email"}
    )
    erase = opened["Location"] + "erase/"
    unconfirmed = client.post(erase, {})
    assert unconfirmed.status_code == 400
    customer.refresh_from_db()
    assert customer.erased_at is None
    assert customer.display_name == "张三"
    assert client.post(erase, {"confirm": "on"}).status_code == 302
    customer.refresh_from_db()
    assert customer.erased_at is not None
    assert customer.display_name != "张三"
    assert "张三" not in client.get(opened["Location"]).content.decode()


def test_closing_a_request_needs_an_outcome(admin: User, customer: Customer) -> None:
    client = signed_in(admin)
    opened = client.post(
        f"/customers/{customer.public_id}/requests/new/", {"kind": "correction", "received_through": "letter"}
    )
    close = opened["Location"] + "close/"
    empty = client.post(close, {"status": "completed", "outcome": ""})
    assert empty.status_code == 400
    assert "outcome" in empty.context["close_form"].errors
    assert client.post(close, {"status": "completed", "outcome": "地址已更正"}).status_code == 302
    assert SubjectRequest.objects.get().outcome == "地址已更正"


def test_retention_rules_and_report(admin: User, east: Team) -> None:
    client = signed_in(admin)
    assert "No active rule" in client.get("/privacy/retention/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    bad = client.post("/privacy/retention/", {"data_type": "untouched_leads", "months": "0", "action": "flag"})
    assert bad.status_code == 400
    assert not RetentionRule.objects.exists()
    saved = client.post(
        "/privacy/retention/", {"data_type": "untouched_leads", "months": "24", "action": "flag", "active": "on"}
    )
    assert saved.status_code == 302
    page = client.get("/privacy/retention/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "24 months" in page
    assert signed_in(make_user("mgr", Role.MANAGER, east)).get("/privacy/retention/").status_code == 404


def test_auditor_reads_filters_and_exports_the_log(alice: User, customer: Customer) -> None:
    auditor = signed_in(make_user("audit", Role.AUDITOR))
    page = auditor.get("/audit/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Customer created" in text
    assert "alice" in text
    assert "13812345678" not in text
    assert "张三" not in text
    only_customer = auditor.get(f"/audit/?customer={customer.public_id}&event=customer.created").context["rows"]
    assert [row["event"] for row in only_customer] == ["customer.created"]
    assert auditor.get("/audit/?event=customer.deleted_by_nobody").status_code == 200  # unknown choice: form error
    exported = auditor.get(f"/audit/export/?customer={customer.public_id}")
    assert exported["Content-Type"].startswith("text/csv")
    body = exported.content.decode("utf-8")
    assert body.startswith("\ufeffsequence,occurred_at,event")
    assert "customer.created" in body
    rep = signed_in(alice)
    assert rep.get("/audit/").status_code == 404
    assert rep.get("/audit/export/").status_code == 404


def test_audit_pages_page_through_the_log(admin: User, customer: Customer, alice: User) -> None:
    from kehu.audit.services import audit_record

    for index in range(130):
        audit_record(event=AuditEvent.CUSTOMER_UPDATED, actor=alice, target_type="customer", target_id=str(index))
    client = signed_in(admin)
    first = client.get("/audit/")
    assert len(first.context["rows"]) == 100
    following = client.get("/audit/?" + first.context["next_query"])
    seen: list[Any] = [row["sequence"] for row in first.context["rows"] + following.context["rows"]]
    assert len(seen) == len(set(seen)) == AuditRecord.objects.count()
    assert seen == sorted(seen, reverse=True)
