"""Lead capture forms: a submission becomes a customer (or updates one) with source, campaign, consent and its
message; bots (honeypot, too fast, replayed token) and floods are kept out; a signed-in visitor lends it no rights."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.customers.models import Customer
from kehu.customers.services import ContactPointInput, customer_create
from kehu.ingest.leadforms import RATE_LIMIT
from kehu.ingest.models import LeadForm, LeadSubmission
from kehu.interactions.models import Interaction
from kehu.privacy.models import Consent
from tests.conftest import make_user


@pytest.fixture
def lead_form(db: None) -> LeadForm:
    owner = make_user("marketing", Role.MANAGER)
    return LeadForm.objects.create(
        name="2026 秋季展会",
        title="预约产品演示",
        fields=["name", "mobile", "email", "company", "city", "message"],
        required=["name", "mobile"],
        consent_purpose="marketing_sms",
        consent_text="我同意接收新品与活动短信，可随时回复 TD 退订。",
        source_channel="event",
        campaign="2026-autumn-fair",
        owner=owner,
        allowed_origins="https://www.example.com",
    )


def _page(client: Client, form: LeadForm) -> str:
    response = client.get(f"/f/{form.key}/")
    assert response.status_code == 200
    return str(response.content.decode())


def _submit(client: Client, form: LeadForm, *, wait: bool = True, **values: str) -> Any:
    token = re.search(r'name="token" value="([^"]+)"', _page(client, form))
    assert token is not None
    later = timezone.now() + dt.timedelta(seconds=5 if wait else 0)
    with mock.patch("kehu.ingest.leadforms.timezone.now", return_value=later):
        return client.post(f"/f/{form.key}/", {"token": token[1], **values})


def test_a_submission_becomes_a_customer_with_consent_and_message(lead_form: LeadForm) -> None:
    response = _submit(
        Client(), lead_form, name="赵六", mobile="139 0000 2222", email="zl@example.com", company="南方贸易",
        city="广州", message="想了解企业版价格", consent="on",
    )  # fmt: skip
    assert response.status_code == 200
    assert 'data-testid="lead-thanks"' in response.content.decode()
    customer = Customer.objects.get()
    assert (customer.display_name, customer.company_name) == ("赵六", "南方贸易")
    assert (customer.source_channel, customer.source_campaign) == ("event", "2026-autumn-fair")
    assert customer.owner == lead_form.owner
    assert sorted(customer.contact_points.values_list("kind", flat=True)) == ["email", "mobile"]
    assert customer.addresses.get().city == "广州"
    consent = Consent.objects.get(customer=customer)
    assert consent.purpose == "marketing_sms"
    assert consent.wording == lead_form.consent_text
    note = Interaction.objects.get(customer=customer)
    assert (note.direction, note.body) == ("inbound", "想了解企业版价格")
    assert LeadSubmission.objects.get().outcome == "created"


def test_a_known_mobile_updates_the_customer(lead_form: LeadForm) -> None:
    known = customer_create(
        actor=lead_form.owner,
        values={"display_name": "赵六"},
        contact_points=[ContactPointInput("mobile", "13900002222")],
    )
    _submit(Client(), lead_form, name="赵六", mobile="13900002222", company="南方贸易")
    assert Customer.objects.count() == 1
    known.refresh_from_db()
    assert known.company_name == "南方贸易"
    assert not Consent.objects.exists()  # the box was not ticked


def test_errors_are_shown_next_to_the_fields_and_nothing_is_stored(lead_form: LeadForm) -> None:
    response = _submit(Client(), lead_form, name="", mobile="1390000", company="x" * 300)
    assert response.status_code == 400
    page = response.content.decode()
    assert "is required" in page or "必填" in page
    assert "1390000" in page  # what was typed stays in the form
    assert not Customer.objects.exists()


def test_bots_are_kept_out(lead_form: LeadForm) -> None:
    honeypot = _submit(Client(), lead_form, name="bot", mobile="13900003333", website="http://spam")
    assert honeypot.status_code == 200  # looks accepted to the bot
    too_fast = _submit(Client(), lead_form, wait=False, name="bot", mobile="13900003333")
    assert too_fast.status_code == 400
    forged = Client().post(f"/f/{lead_form.key}/", {"token": "forged", "name": "bot", "mobile": "13900003333"})
    assert forged.status_code == 400
    assert not Customer.objects.exists()
    assert LeadSubmission.objects.filter(outcome="honeypot").count() == 1


def test_a_flood_from_one_address_is_limited(lead_form: LeadForm) -> None:
    client = Client()
    for index in range(RATE_LIMIT):
        assert _submit(client, lead_form, name=f"访客{index}", mobile=f"1390000{index:04d}").status_code == 200
    limited = _submit(client, lead_form, name="再来", mobile="13900009999")
    assert limited.status_code == 429
    assert Customer.objects.count() == RATE_LIMIT


def test_a_signed_in_visitor_lends_no_rights_and_the_form_is_framed_only_by_its_site(lead_form: LeadForm) -> None:
    admin = User.objects.create_user("boss", role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    _submit(client, lead_form, name="钱七", mobile="13900004444")
    customer = Customer.objects.get()
    assert customer.owner == lead_form.owner  # the form's owner, not the admin who happened to be signed in
    response = Client().get(f"/f/{lead_form.key}/")
    assert "frame-ancestors https://www.example.com" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    lead_form.allowed_origins = "https://www.example.com;script-src:* https://shop.example.com:8443"
    lead_form.save()
    policy = Client().get(f"/f/{lead_form.key}/")["Content-Security-Policy"]
    assert policy.endswith("frame-ancestors https://shop.example.com:8443")  # the malformed origin is left out
    assert "script-src:*" not in policy
    lead_form.active = False
    lead_form.save()
    assert Client().get(f"/f/{lead_form.key}/").status_code == 404


def test_the_administrator_sets_a_form_up(db: None) -> None:
    admin = User.objects.create_superuser(username="root", password="long enough pass 1", role="admin")
    owner = make_user("marketing", Role.MANAGER)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    assert client.get("/admin/ingest/leadform/add/").status_code == 200
    data = {
        "name": "官网注册", "title": "免费试用", "intro": "", "fields": ["name", "company"], "required": ["name"],
        "consent_purpose": "marketing_email", "consent_text": "", "source_channel": "website", "campaign": "",
        "owner": owner.pk, "thanks": "", "allowed_origins": "http://insecure.example.com", "active": "on",
    }  # fmt: skip
    refused = client.post("/admin/ingest/leadform/add/", data)
    page = refused.content.decode()
    assert "a form needs a mobile or an email field" in page
    assert "say what the person agrees to" in page
    assert "https://" in page
    assert not LeadForm.objects.exists()
    data.update(
        fields=["name", "mobile", "company"],
        consent_text="我同意接收产品资讯邮件。",
        allowed_origins="https://www.example.com",
    )
    created = client.post("/admin/ingest/leadform/add/", data)
    assert created.status_code == 302, created.content.decode()[:3000]
    form = LeadForm.objects.get()
    assert form.fields == ["name", "mobile", "company"]
    assert len(form.key) >= 16
    assert f"/f/{form.key}/" in client.get("/admin/ingest/leadform/").content.decode()
