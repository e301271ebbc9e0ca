"""Consent, data-subject requests (export, erasure) and retention, over HTTP and through the services."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.commerce.models import Order
from kehu.commerce.services import OrderLineInput, order_create, product_create
from kehu.customers.models import Customer
from kehu.interactions.services import interaction_log
from kehu.privacy.models import ConsentPurpose, RetentionFlag
from kehu.privacy.selectors import profiling_allowed
from kehu.privacy.services import erasures_replay, retention_apply, retention_report, retention_rule_set
from tests.conftest import Api, errors_of, make_user

pytestmark = pytest.mark.django_db

NAME, PHONE, EMAIL = "欧阳娜娜", "13912345678", "nana.ouyang@example.com"


@pytest.fixture
def admin(db: None) -> User:
    return make_user("root", Role.ADMIN)


@pytest.fixture
def as_admin(admin: User, api_for: Callable[[User], Api]) -> Api:
    return api_for(admin)


@pytest.fixture
def nana(as_admin: Api, admin: User) -> dict[str, Any]:
    created = as_admin.post(
        "/customers",
        {
            "display_name": NAME,
            "family_name": "欧阳",
            "given_name": "娜娜",
            "external_id": "shop-881",
            "source_system": "tmall",
            "contact_points": [{"kind": "mobile", "value": PHONE}, {"kind": "email", "value": EMAIL}],
            "addresses": [{"raw": "上海市浦东新区世纪大道100号"}],
            "tags": ["VIP"],
        },
    ).json()
    customer = Customer.objects.get(public_id=created["id"])
    product = product_create(actor=admin, sku="S1", name="茶叶", price=Decimal("88.00"))
    order_create(actor=admin, customer=customer, lines=[OrderLineInput(product, 3)], channel="store")
    interaction_log(actor=admin, customer=customer, kind="call", subject=f"给{NAME}回电 {PHONE}", body=f"邮件 {EMAIL}")
    interaction_log(actor=admin, customer=customer, kind="note", subject='=HYPERLINK("http://x")')
    as_admin.post(
        f"/customers/{created['id']}/consents",
        {"purpose": "marketing_email", "source": "官网注册", "wording": "我同意接收营销邮件"},
    )
    return dict(created)


def _open(api: Api, customer_id: str, kind: str) -> dict[str, Any]:
    response = api.post("/subject-requests", {"customer": customer_id, "kind": kind, "received_through": "邮件"})
    assert response.status_code == 201, response.content
    return dict(response.json())


def _every_stored_text() -> str:
    """Every value of every row of every table, and the SQLite search index, as one string."""
    parts = []
    for model in apps.get_models():
        parts += [str(row) for row in model._default_manager.values()]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT document, scope FROM customers_search")
            parts += [str(row) for row in cursor.fetchall()]
    return "\n".join(parts)


def test_erasure_leaves_no_trace_but_keeps_order_totals(as_admin: Api, nana: dict[str, Any]) -> None:
    # Given a customer with orders, interactions that name her, and consent
    totals = list(Order.objects.order_by("pk").values_list("total", flat=True))
    assert totals == [Decimal("264.00")]
    request = _open(as_admin, nana["id"], "deletion")
    # when her deletion request is carried out
    response = as_admin.post(f"/subject-requests/{request['id']}/erase")
    # then the request is completed, with the backups noted
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    assert "Backups made before" in response.json()["outcome"]
    # and no table nor the search index holds her name, phone or email in any form
    stored = _every_stored_text()
    for trace in (NAME, "欧阳", "娜娜", PHONE, "+86" + PHONE, EMAIL, "nana", "ouyangnana", "shop-881", "世纪大道"):
        assert trace not in stored, trace
    assert as_admin.get("/search", q="5678").json() == []
    assert as_admin.get("/search", q="ouyang").json() == []
    # while her orders stay, with the same totals, on the anonymised record
    assert list(Order.objects.order_by("pk").values_list("total", flat=True)) == totals
    customer = Customer.objects.get(public_id=nana["id"])
    assert customer.erased_at is not None
    assert customer.display_name.startswith("已删除 ")
    assert AuditRecord.objects.filter(event=AuditEvent.CUSTOMER_ERASED, customer_id=customer.pk).count() == 1
    # and a re-import of the same person is refused by the tombstone
    again = as_admin.post("/customers", {"display_name": "娜娜", "contact_points": [{"kind": "email", "value": EMAIL}]})
    assert "erased at their request" in errors_of(again)["contact_points"]
    same_id = as_admin.post("/customers", {"display_name": "N", "source_system": "tmall", "external_id": "shop-881"})
    assert same_id.status_code == 422
    # and a second erasure of a closed request is refused
    assert as_admin.post(f"/subject-requests/{request['id']}/erase").status_code == 422


def test_restoring_an_older_backup_erases_again_from_the_journal(as_admin: Api, admin: User, settings: Any) -> None:
    created = as_admin.post("/customers", {"display_name": "回来的人"}).json()
    settings.KEHU_ERASURE_JOURNAL.write_text(json.dumps({"public_id": created["id"], "erased_at": "x"}) + "\n")
    assert erasures_replay() == 1
    assert Customer.objects.get(public_id=created["id"]).erased_at is not None
    assert erasures_replay() == 0


def test_access_request_exports_everything_as_json_and_csv(as_admin: Api, nana: dict[str, Any]) -> None:
    request = _open(as_admin, nana["id"], "access")
    response = as_admin.post(f"/subject-requests/{request['id']}/export")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="subject-{request["id"]}.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {
        "data.json",
        *(
            f"{name}.csv"
            for name in (
                "customer",
                "contact_points",
                "addresses",
                "orders",
                "order_lines",
                "returns",
                "interactions",
                "consents",
                "audit_trail",
            )
        ),
    }
    data = json.loads(archive.read("data.json"))
    assert data["customer"][0]["display_name"] == NAME
    assert {p["value"] for p in data["contact_points"]} == {"+86" + PHONE, EMAIL}
    assert data["orders"][0]["total"] == "264.00"
    assert data["consents"][0]["wording"] == "我同意接收营销邮件"
    assert "customer.created" in {row["event"] for row in data["audit_trail"]}
    interactions = archive.read("interactions.csv").decode("utf-8")
    assert interactions.startswith("\ufeff")
    subjects = [row["subject"] for row in csv.DictReader(io.StringIO(interactions.lstrip("\ufeff")))]
    assert '\'=HYPERLINK("http://x")' in subjects
    assert as_admin.get(f"/subject-requests/{request['id']}").json()["status"] == "completed"
    assert AuditRecord.objects.filter(event=AuditEvent.SUBJECT_DATA_EXPORTED).count() == 1


def test_requests_have_deadlines_and_scope(
    nana: dict[str, Any], api_for: Callable[[User], Api], as_admin: Api, east: Any, south: Any
) -> None:
    request = _open(as_admin, nana["id"], "correction")
    received = dt.datetime.fromisoformat(request["received_at"])
    assert dt.datetime.fromisoformat(request["due_at"]) - received == dt.timedelta(days=15)
    assert request["overdue"] is False
    # an agent may open and read requests, not export, erase or close them
    agent = api_for(make_user("agent", Role.SERVICE_AGENT))
    assert agent.get(f"/subject-requests/{request['id']}").status_code == 200
    closed = agent.post(f"/subject-requests/{request['id']}/close", {"status": "completed", "outcome": "改了"})
    assert closed.status_code == 403
    # a manager of another team does not see it at all
    manager = api_for(make_user("boss", Role.MANAGER, south))
    assert manager.get(f"/subject-requests/{request['id']}").status_code == 404
    assert manager.get("/subject-requests").json() == []
    done = as_admin.post(f"/subject-requests/{request['id']}/close", {"status": "completed", "outcome": "地址已更正"})
    assert done.json()["status"] == "completed"


def test_consent_rules_and_profiling_filter(as_admin: Api, nana: dict[str, Any]) -> None:
    base = f"/customers/{nana['id']}/consents"
    sensitive = as_admin.post(base, {"purpose": "sensitive", "source": "纸质表", "wording": "同意处理身份证号"})
    reason = "Processing sensitive personal data needs the person's separate consent (PIPL arts. 23, 29)"
    assert errors_of(sensitive) == {"legal_basis": reason}
    contract = as_admin.post(
        base, {"purpose": "profiling", "legal_basis": "contract", "source": "官网", "wording": "分析"}
    )
    assert errors_of(contract) == {"legal_basis": "Profiling and automated analysis rests on the person's consent"}
    customers = Customer.objects.all()
    assert list(profiling_allowed(customers)) == []
    given = as_admin.post(base, {"purpose": "profiling", "source": "官网", "wording": "同意个性化分析"})
    assert given.status_code == 201
    assert [c.public_id for c in profiling_allowed(customers)] == [Customer.objects.get().public_id]
    withdrawn = as_admin.post(f"{base}/withdraw", {"purpose": "profiling", "source": "客服电话"})
    assert [c["active"] for c in withdrawn.json() if c["purpose"] == "profiling"] == [False]
    assert list(profiling_allowed(customers)) == []
    again = as_admin.post(f"{base}/withdraw", {"purpose": "profiling", "source": "客服电话"})
    assert errors_of(again) == {"purpose": "there is no active consent for Profiling and automated analysis"}
    assert {c.value for c in ConsentPurpose} >= {"marketing_email", "profiling", "sharing", "sensitive"}


def test_retention_reports_before_it_anonymises(admin: User, as_admin: Api) -> None:
    old = timezone.now() - dt.timedelta(days=800)
    stale = as_admin.post("/customers", {"display_name": "老线索", "lifecycle_stage": "lead"}).json()
    touched = as_admin.post("/customers", {"display_name": "新线索", "lifecycle_stage": "lead"}).json()
    Customer.objects.filter(public_id__in=[stale["id"], touched["id"]]).update(updated_at=old)
    retention_rule_set(actor=admin, data_type="untouched_leads", months=24, action="anonymise")
    # The first run only flags: the report shows both, nothing is removed yet
    [run] = retention_apply(actor=admin)
    assert (run.flagged, run.anonymised) == (2, 0)
    [report] = retention_report(actor=admin)
    assert (report.candidates, report.flagged, report.due) == (2, 2, 0)
    # One lead is touched again; a run after the grace period anonymises only the other
    Customer.objects.filter(public_id=touched["id"]).update(updated_at=timezone.now())
    later = timezone.now() + dt.timedelta(days=15)
    [run] = retention_apply(actor=admin, now=later)
    assert (run.unflagged, run.anonymised) == (1, 1)
    assert Customer.objects.get(public_id=stale["id"]).erased_at is not None
    assert Customer.objects.get(public_id=touched["id"]).erased_at is None
    assert RetentionFlag.objects.count() == 0
    assert as_admin.get("/retention/report").json()[0]["candidates"] == 0


@pytest.mark.django_db(transaction=True)
def test_consent_services_open_their_own_transaction(alice: User) -> None:
    """Pages call services outside any transaction (only tests wrap them in one): each must open its own, or
    its audit record would be refused."""
    from kehu.customers.services import customer_create
    from kehu.privacy.services import consent_give, consent_withdraw

    customer = customer_create(actor=alice, values={"display_name": "赵六"})
    consent_give(
        actor=alice, customer=customer, purpose="marketing_sms", legal_basis="consent", source="门店", wording="同意"
    )
    assert consent_withdraw(actor=alice, customer=customer, purpose="marketing_sms", source="电话") == 1
