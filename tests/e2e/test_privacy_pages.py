"""The privacy pages in a real browser: a rep records and withdraws a customer's consent from the customer's
page, and the auditor finds those changes in the audit log by filtering on the rep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.privacy.models import Consent
from tests.e2e.conftest import DESKTOP, PASSWORD, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rep_records_consent_and_the_auditor_sees_it(
    page_for: Any, people: dict[str, Any], screenshots: Path
) -> None:
    zhangsan = people["zhangsan"]
    page = page_for()
    sign_in(page, "alice")
    page.goto(f"/customers/{zhangsan.public_id}/")
    page.get_by_role("link", name="同意记录").click()
    assert "尚无同意记录" in page.locator("[data-testid=consents]").inner_text()

    page.locator("details.card-form summary").click()
    page.select_option("#id_purpose", "marketing_sms")
    page.select_option("#id_channel", "sms")
    page.fill("#id_source", "门店登记表")
    page.fill("#id_wording", "我同意接收新品与促销短信，可随时回复 TD 退订。")
    page.locator("details.card-form button[type=submit]").click()
    table = page.locator("[data-testid=consents]")
    assert "门店登记表" in table.inner_text()
    assert "有效" in table.inner_text()

    page.fill("input[name=source]", "电话要求退订")
    page.get_by_role("button", name="撤回").click()
    assert "已撤回同意" in page.locator("body").inner_text()
    assert "电话要求退订" in page.locator("[data-testid=consents]").inner_text()
    assert Consent.objects.get(customer=zhangsan).withdrawn_at is not None

    User.objects.create_user("audit", password=PASSWORD, role=Role.AUDITOR)
    auditor = page_for(viewport=DESKTOP)
    sign_in(auditor, "audit")
    auditor.get_by_role("link", name="审计").click()
    auditor.fill("#id_actor", "alice")
    auditor.click("form.filters button[type=submit]")
    log = auditor.locator("[data-testid=audit-list]").inner_text()
    assert "给予同意" in log
    assert "撤回同意" in log
    assert "13812345678" not in auditor.content()  # ids and field names only
    auditor.screenshot(path=str(screenshots / "audit-desktop.png"), full_page=False)
