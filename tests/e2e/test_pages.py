"""What a new user does in the pages, in a real browser: sign in, find a customer, log a call, fix a phone
number, stay out of a colleague's customers, switch language, and use the list on a phone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kehu.customers.models import Customer
from tests.e2e.conftest import PHONE, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rep_finds_a_customer_logs_a_call_and_fixes_a_phone(page_for: Any, people: dict[str, Any]) -> None:
    page = page_for()
    sign_in(page, "alice")
    assert page.locator("h1").inner_text() == "你好，王芳"

    page.keyboard.press("/")  # the shortcut focuses the search box in the top bar
    page.keyboard.type("zhangsan")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=zhangsan"))
    page.locator("[data-testid=search-customers] a", has_text="张三").click()
    page.wait_for_url(re.compile(r"/customers/[0-9a-f-]{36}/$"))
    assert page.locator("[data-testid=customer-name]").inner_text() == "张三"
    assert "138****5678" in page.locator("[data-testid=contact-points]").inner_text()

    # Log a call inline; it tops the timeline at once. The note's markup stays text.
    note = "<script>alert('xss')</script><img src=x onerror=alert(1)> 回电确认报价"
    page.select_option("#id_kind", "call")
    page.fill("#id_subject", "确认报价")
    page.fill("#id_body", note)
    page.get_by_role("button", name="记录", exact=True).click()
    first = page.locator("[data-testid=timeline] > li").first
    first.locator("text=确认报价").wait_for()
    assert "电话" in first.inner_text()
    assert first.locator(".body").inner_text() == note
    assert page.dialogs == []
    assert page.locator("#id_subject").input_value() == ""  # a fresh form for the next one

    # Change the mobile number: a typo is refused next to the field, in Chinese; the fix is saved.
    mobile = page.locator("[data-testid=contact-points] li", has_text="手机")
    mobile.get_by_role("link", name=re.compile("修改")).click()
    page.fill("#id_value", "1381234567")
    page.get_by_role("button", name="保存", exact=True).click()
    error = page.locator("#id_value_error")
    assert "有 10 位数字；中国大陆手机号为 11 位" in error.inner_text()
    assert page.locator("#id_value").get_attribute("aria-invalid") == "true"
    page.fill("#id_value", "138 1234 5679")
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_url(re.compile(r"/customers/[0-9a-f-]{36}/$"))
    assert "138****5679" in page.locator("[data-testid=contact-points]").inner_text()
    assert people["zhangsan"].contact_points.get(kind="mobile").value == "+8613812345679"


def test_another_rep_gets_not_found_for_that_customer(page_for: Any, people: dict[str, Any]) -> None:
    page = page_for()
    sign_in(page, "charlie")
    response = page.goto(f"/customers/{people['zhangsan'].public_id}/")
    assert response.status == 404
    assert "客户不存在" in page.content()
    assert "张三" not in page.content()
    page.goto("/customers/")
    assert "张三" not in page.locator("[data-testid=customer-list]").inner_text()


def test_switching_to_english(page_for: Any, people: dict[str, Any]) -> None:
    page = page_for()
    sign_in(page, "alice")
    page.goto("/customers/")
    assert page.locator("h1").inner_text() == "客户"
    page.select_option("select[name=language]", "en")  # submits itself
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.locator("h1").inner_text() == "Customers"
    assert page.get_by_role("button", name="New customer").is_visible()
    page.goto(f"/customers/{people['zhangsan'].public_id}/")
    assert page.get_by_role("heading", name="Timeline").is_visible()
    assert "Lifetime revenue" in page.content()


def test_the_list_on_a_phone(page_for: Any, people: dict[str, Any], screenshots: Path) -> None:
    page = page_for(viewport=PHONE)
    sign_in(page, "alice")
    page.screenshot(path=str(screenshots / "dashboard-phone.png"), full_page=True)
    page.goto("/customers/")
    table = page.locator("[data-testid=customer-list]")
    assert table.locator("tbody tr").count() == 4
    # Nothing wider than the screen but the table's own scroller.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.fill("#id_q", "wangwu")  # pinyin; htmx updates the list in place and the URL keeps the state
    page.wait_for_url(re.compile(r"q=wangwu"))
    table.locator("tbody tr").first.locator("text=王五").wait_for()
    assert table.locator("tbody tr").count() == 1
    page.screenshot(path=str(screenshots / "customers-phone.png"), full_page=True)
    table.locator("a", has_text="王五").click()
    page.wait_for_url(re.compile(r"/customers/[0-9a-f-]{36}/$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshots / "customer-360-phone.png"), full_page=True)


def test_desktop_screenshots(page_for: Any, people: dict[str, Any], screenshots: Path) -> None:
    page = page_for()
    sign_in(page, "alice")
    page.locator("[data-chart=revenue-data] svg").wait_for()
    page.screenshot(path=str(screenshots / "dashboard-desktop.png"), full_page=True)
    page.goto("/customers/")
    page.screenshot(path=str(screenshots / "customers-desktop.png"), full_page=True)
    page.goto(f"/customers/{people['zhangsan'].public_id}/")
    page.screenshot(path=str(screenshots / "customer-360-desktop.png"), full_page=True)
    assert Customer.objects.count() == 4
