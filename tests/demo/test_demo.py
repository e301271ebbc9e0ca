"""`kehu demo`: deterministic, resumable, realistic enough to analyse, and searchable."""

from __future__ import annotations

import hashlib
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min

from kehu.accounts.models import User
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.audit.services import audit_verify
from kehu.commerce.models import Order, OrderLine
from kehu.customers.models import ContactPoint, Customer
from kehu.customers.selectors import customer_search
from kehu.demo.generate import demo_load
from kehu.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def _fingerprint() -> str:
    rows = [
        list(Customer.objects.order_by("id").values_list("public_id", "display_name", "lifecycle_stage", "created_at")),
        list(ContactPoint.objects.order_by("id").values_list("kind", "value")),
        list(Order.objects.order_by("id").values_list("public_id", "placed_at", "total", "payment_status")),
        list(Interaction.objects.order_by("id").values_list("kind", "occurred_at", "subject")),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _wipe() -> None:
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    Customer.objects.all().delete()
    AuditRecord.objects.filter(event=AuditEvent.DEMO_LOADED).delete()


def test_same_seed_same_data(db: None) -> None:
    demo_load(customers=300, seed=7, batch_size=100)
    first = _fingerprint()
    _wipe()
    demo_load(customers=300, seed=7, batch_size=100)
    assert _fingerprint() == first
    _wipe()
    demo_load(customers=300, seed=8, batch_size=100)
    assert _fingerprint() != first


def test_parallel_generation_gives_the_same_data(db: None) -> None:
    demo_load(customers=300, seed=9, batch_size=100, workers=1)
    sequential = _fingerprint()
    _wipe()
    result = demo_load(customers=300, seed=9, batch_size=100, workers=2)
    assert result.customers == 300
    assert _fingerprint() == sequential


def test_rerun_resumes_without_duplicates(db: None) -> None:
    demo_load(customers=200, seed=3, batch_size=100)
    again = demo_load(customers=300, seed=3, batch_size=100)
    assert (again.batches_skipped, again.customers) == (2, 100)
    assert Customer.objects.count() == 300
    assert Customer.objects.values("external_id").distinct().count() == 300
    assert audit_verify().ok


def test_data_has_the_shape_analytics_needs(db: None) -> None:
    demo_load(customers=2000, seed=1, batch_size=1000)
    stages = Counter(Customer.objects.values_list("lifecycle_stage", flat=True))
    assert set(stages) == {"lead", "prospect", "customer", "churned"}
    assert stages["customer"] > stages["churned"] > 0
    per_customer = Counter(Order.objects.values("customer").annotate(n=Count("id")).values_list("n", flat=True))
    assert max(per_customer) >= 8
    assert per_customer[1] > 0
    span = Order.objects.aggregate(first=Min("placed_at"), last=Max("placed_at"))
    assert (span["last"] - span["first"]).days > 600
    months = Counter(placed.month for placed in Order.objects.values_list("placed_at", flat=True))
    assert months[11] > months[2] * 1.5  # 双11 against the Spring Festival lull
    phones = ContactPoint.objects.filter(kind="mobile").values_list("value", flat=True)
    assert all(value.startswith("+861") and len(value) == 14 for value in phones)
    assert Customer.objects.filter(kind="organization").count() > 100
    assert Customer.objects.exclude(display_name__regex=r"[\u4e00-\u9fff]").count() > 100  # English names too
    categories_bought_with_phones = Counter(
        OrderLine.objects.filter(order__lines__product__category="手机").values_list("product__category", flat=True)
    )
    assert categories_bought_with_phones["手机配件"] > categories_bought_with_phones["茶具"]


def test_demo_data_is_searchable(db: None) -> None:
    demo_load(customers=500, seed=5, batch_size=500)
    admin = User.objects.get(username="admin")
    customer = Customer.objects.filter(kind="person", display_name__regex=r"^[\u4e00-\u9fff]{2,3}$").first()
    assert customer is not None
    mobile = customer.contact_points.get(kind="mobile").value
    assert customer.pk in [found.id for found in customer_search(admin, customer.display_name, limit=100)]
    assert customer.pk in [found.id for found in customer_search(admin, mobile[-4:], limit=100)]
    rep = customer.owner
    assert rep is not None
    assert all(found.owner_public_id == rep.public_id for found in customer_search(rep, mobile[-4:], limit=100))


def test_command_prints_logins(db: None) -> None:
    out = StringIO()
    call_command("demo", customers=50, seed=1, verbosity=0, stdout=out)
    text = out.getvalue()
    assert "loaded 50 customers" in text
    for username in ["admin", "manager", "wangfang", "marketer", "service", "analyst", "auditor"]:
        assert username in text
    out = StringIO()
    call_command("demo", customers=50, seed=1, if_empty=True, verbosity=0, stdout=out)
    assert "demo data not loaded again" in out.getvalue()
