"""Duplicates in a real browser: a rep searches, reviews a group side by side, merges it, sees everything on
the record kept, and undoes the merge. The worker's part (running the queued search) is done by the test, as
`kehu worker` would, while the page polls the search's progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kehu.core.models import Job
from kehu.customers.models import Customer
from kehu.customers.services import AddressInput, ContactPointInput, customer_create
from kehu.interactions.services import interaction_log
from tests.e2e.conftest import PHONE, sign_in, worker_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_review_merge_and_undo(page_for: Any, people: dict[str, Any], screenshots: Path) -> None:
    alice, zhangsan = people["alice"], people["zhangsan"]
    twin = customer_create(
        actor=alice,
        values={"display_name": "張三", "company_name": "东方机械", "job_title": "采购总监"},
        contact_points=[ContactPointInput(kind="mobile", value="+86 138-1234-5678")],
        addresses=[AddressInput(raw="上海市浦东新区世纪大道100号")],
    )
    interaction_log(actor=alice, customer=twin, kind="visit", subject="展会登记")
    page = page_for()
    sign_in(page, "alice")
    page.goto("/customers/")
    page.locator("a[href='/duplicates/']").first.click()
    page.locator("form[action='/duplicates/run/'] button[type=submit]").click()
    status = page.locator("[data-testid=run-status]")
    assert status.get_attribute("data-state") == "queued"
    worker_run(Job.objects.filter(kind="dedup").latest("created_at").pk)  # what `kehu worker` does
    # The page polls the search and shows the groups when it ends, with the weight distribution.
    page.locator("[data-testid=groups] tr[data-group]").first.wait_for()
    assert page.locator("[data-testid=run-status]").get_attribute("data-state") == "succeeded"
    assert page.locator("[data-chart=weight-data] svg").count() == 1
    page.locator("[data-testid=groups] tr[data-group] a").first.click()

    table = page.locator("[data-testid=side-by-side]")
    assert "✓" in table.locator("tr[data-field=phones]").inner_text()  # same mobile, written two ways
    assert "≠" in table.locator("tr[data-field=display_name]").inner_text()
    assert "13812345678" not in page.content()  # masked here as everywhere
    assert page.locator("[data-testid=comparisons]").first.inner_text().count("+") >= 2
    page.screenshot(path=str(screenshots / "duplicates-desktop.png"), full_page=True)
    # Keep 张三's record and name; take the job title from the other record.
    page.locator(f"input[name=survivor][value='{zhangsan.public_id}']").check()
    page.locator(f"input[name=pick_display_name][value='{zhangsan.public_id}']").check()
    page.locator("[data-testid=merge]").click()

    page.wait_for_url("**/duplicates/merges/**")
    merge_page = page.url
    assert page.locator("[data-testid=merge-state]").inner_text() == "已合并"
    page.locator("[data-testid=survivor]").click()
    assert "展会登记" in page.locator("body").inner_text()  # the other record's visit is on the record kept
    assert "采购总监" in page.locator("body").inner_text()  # and the job title it had
    survivor = Customer.objects.get(pk=zhangsan.pk)
    assert survivor.display_name == "张三"
    assert survivor.interactions.count() == 2
    assert page.goto(f"/customers/{twin.public_id}/").status == 404  # the merged record is out of sight
    page.goto(merge_page)

    page.locator("[data-testid=undo]").click()
    assert "撤销" in page.locator("[data-testid=merge-state]").inner_text()
    assert Customer.objects.get(pk=twin.pk).merged_into_id is None
    assert Customer.objects.get(pk=zhangsan.pk).interactions.count() == 1
    assert Customer.objects.get(pk=zhangsan.pk).job_title == ""
    response = page.goto(f"/customers/{twin.public_id}/")
    assert response.status == 200
    assert "展会登记" in page.locator("body").inner_text()

    # Entering the same person again: the form says who it probably is before saving.
    page.goto("/customers/new/")
    page.fill("#id_display_name", "Zhang San")
    page.fill("#id_mobile", "138 1234 5678")
    page.locator("#id_mobile").blur()
    hints = page.locator("[data-testid=duplicate-hints]")
    hints.wait_for()
    assert "手机相同" in hints.inner_text()
    assert hints.locator(f"a[href='/customers/{zhangsan.public_id}/']").count() == 1

    phone = page_for(viewport=PHONE)
    sign_in(phone, "alice")
    phone.goto("/duplicates/")
    phone.screenshot(path=str(screenshots / "duplicates-phone.png"), full_page=True)
