"""Exporting the customer list as filtered: CSV with BOM and XLSX, masked as the list, formulas neutralised,
scope and filters applied, only the creator may download, and the export is audited."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.test import Client
from python_calamine import CalamineWorkbook

from kehu.accounts.models import User
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.core.jobs import job_run
from kehu.core.models import Job
from kehu.customers.services import ContactPointInput, customer_create


@pytest.fixture
def customers(alice: User, charlie: User) -> None:
    customer_create(
        actor=alice,
        values={"display_name": "张三", "company_name": '=HYPERLINK("http://evil")', "lifecycle_stage": "customer"},
        contact_points=[
            ContactPointInput("mobile", "13812345678", is_primary=True),
            ContactPointInput("email", "zhangsan@example.com", is_primary=True),
        ],
        tags=["VIP"],
    )
    customer_create(actor=alice, values={"display_name": "李四", "lifecycle_stage": "lead"})
    customer_create(actor=charlie, values={"display_name": "王五", "lifecycle_stage": "customer"})


def _export(client: Client, query: str, file_format: str) -> Job:
    response = client.post("/exports/customers/", {"query": query, "format": file_format})
    assert response.status_code == 302, response.content
    job = Job.objects.filter(kind="export").latest("created_at")
    assert response["Location"] == f"/exports/{job.public_id}/"
    job_run(job.pk)
    job.refresh_from_db()
    return job


def test_csv_export_of_the_filtered_list(alice: User, customers: None) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    job = _export(client, "stage=customer", "csv")
    assert job.state == "succeeded", job.error
    assert job.result["rows"] == 1
    page = client.get(f"/exports/{job.public_id}/").content.decode()
    assert "Download 1 customers" in page
    download = client.get(f"/exports/{job.public_id}/download/")
    assert download["Content-Disposition"].startswith('attachment; filename="kehu-customers-')
    assert download["Cache-Control"] == "no-store"
    assert download.content.startswith(b"\xef\xbb\xbf")  # Excel opens the Chinese correctly
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["Name", "Kind", "Company"]
    assert len(lines) == 2  # only the customer stage, only alice's
    row = lines[1]
    assert row[0] == "张三"  # a rep may see names
    assert row[2] == '\'=HYPERLINK("http://evil")'  # a formula is text
    assert row[6] == "138****5678"  # masked, as in the list
    assert "13812345678" not in download.content.decode("utf-8-sig")
    assert row[8] == "VIP"
    record = AuditRecord.objects.get(event=AuditEvent.CUSTOMERS_EXPORTED)
    assert record.extra == {"rows": 1, "format": "csv"}
    assert record.fields == ["stage"]


def test_xlsx_export_follows_the_scope_and_only_its_creator_downloads(alice: User, bob: User, customers: None) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    job = _export(client, "", "xlsx")
    assert job.result["rows"] == 2  # alice's two, not charlie's
    body = client.get(f"/exports/{job.public_id}/download/").content
    rows = CalamineWorkbook.from_filelike(io.BytesIO(body)).get_sheet_by_index(0).to_python()
    assert sorted(row[0] for row in rows[1:]) == ["张三", "李四"]
    other = Client()
    other.force_login(bob)
    assert other.get(f"/exports/{job.public_id}/").status_code == 404
    assert other.get(f"/exports/{job.public_id}/download/").status_code == 404


def test_a_large_list_is_exported_in_batches_with_progress(alice: User, settings: Any) -> None:
    from kehu.ingest import exports

    for index in range(25):
        customer_create(actor=alice, values={"display_name": f"客户{index}"})
    seen: list[int] = []
    original = exports.BATCH
    exports.BATCH = 10
    try:
        job = exports.export_start(actor=alice, query="q=客户", file_format="csv")
        job_run(job.pk, on_progress=lambda current: seen.append(current.progress_done))
    finally:
        exports.BATCH = original
    job.refresh_from_db()
    assert job.result["rows"] == 25
    assert seen == [0, 10, 20, 25]
    assert job.progress_total == 25


def test_the_list_offers_the_export_with_its_filters(alice: User, customers: None) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    page = client.get("/customers/?stage=customer").content.decode()
    assert re.search(r'name="query" value="stage=customer" data-state', page)
    assert 'action="/exports/customers/"' in page
