"""Importing in a real browser: upload → map (preview) → dry run → import → report, as a sales rep does it.

The worker's part (running the queued job) is done by the test between clicks, as `kehu worker` would; the
page finds out by itself, through its htmx polling.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from kehu.core.models import Job
from kehu.customers.models import Customer
from tests.e2e.conftest import DESKTOP, PHONE, sign_in, worker_run

pytestmark = pytest.mark.django_db(transaction=True)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _run_queued_job() -> Job:
    job = Job.objects.filter(state="queued").order_by("-created_at").first()
    assert job is not None, "the page queued no job"
    worker_run(job.pk)
    job.refresh_from_db()
    return job


def test_a_rep_imports_a_spreadsheet_and_downloads_the_refused_rows(
    page_for: Any, people: dict[str, Any], screenshots: Path
) -> None:
    before = Customer.objects.count()
    page = page_for(viewport=DESKTOP)
    sign_in(page, "alice")
    page.get_by_role("link", name="导入", exact=True).click()
    page.set_input_files("#id_file", str(FIXTURES / "customers_5pct_broken.csv"))
    page.get_by_role("button", name="上传并对应列").click()

    facts = page.locator("[data-testid=file-facts]").inner_text()
    assert "utf-8-sig" in facts
    assert "已识别 6 / 6 列" in facts
    preview = page.locator("[data-testid=preview]")
    assert "13840240002" in preview.inner_text()
    assert page.locator("#id_col_1").input_value() == "mobile"
    assert page.locator("#id_col_5").input_value() == "birthday"
    page.screenshot(path=str(screenshots / "import-map-desktop.png"), full_page=False)

    page.get_by_role("button", name="试运行").click()
    status = page.locator("[data-testid=job-status]")
    assert status.get_attribute("data-state") == "queued"
    dry = _run_queued_job()
    assert dry.params["dry_run"] is True
    page.wait_for_selector("[data-testid=job-status][data-state=succeeded]")  # htmx polled the new state
    assert page.locator("[data-count=created]").inner_text() == "190"
    assert "将新建" in page.locator("[data-testid=job-counts]").inner_text()
    assert Customer.objects.count() == before

    page.get_by_role("button", name="正式导入").click()
    _run_queued_job()
    page.wait_for_selector("[data-testid=job-status][data-state=succeeded]")
    assert page.locator("[data-count=created]").inner_text() == "190"
    assert page.locator("[data-count=failed]").inner_text() == "10"
    issues = page.locator("[data-testid=issues]").inner_text()
    assert "1381234567 位数为 10" in issues or "1381234567" in issues
    assert "火星省 不是中国的省份" in issues
    assert Customer.objects.count() == before + 190
    page.screenshot(path=str(screenshots / "import-report-desktop.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载 Excel").click()
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    rows = workbook.get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["行", "列", "原因"]
    assert [int(row[0]) for row in rows[1:]] == [12, 31, 47, 66, 88, 104, 123, 150, 171, 199]

    phone = page_for(viewport=PHONE)
    sign_in(phone, "alice")
    phone.goto("/imports/")
    assert "导入：customers_5pct_broken.csv" in phone.locator("[data-testid=imports]").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
