"""/api/v1/imports: upload → start (dry run or import) → follow → issues and report; other users get 404."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from django.test import Client

from kehu.core.jobs import job_run
from kehu.core.models import Job
from kehu.customers.models import Customer
from tests.conftest import Api

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _upload(api: Api, name: str) -> Any:
    with (FIXTURES / name).open("rb") as handle:
        return api.client.post("/api/v1/imports/uploads", {"file": handle}, HTTP_AUTHORIZATION=f"Bearer {api.token}")


def test_upload_start_follow_and_report(as_alice: Api) -> None:
    uploaded = _upload(as_alice, "customers_merged_header.xlsx")
    assert uploaded.status_code == 201, uploaded.content
    body = uploaded.json()
    assert body["file_format"] == "xlsx"
    assert body["headers"] == ["姓名", "公司", "手机", "邮箱", "地址", "生日"]
    assert body["mapping"]["手机"] == "mobile"
    assert len(body["preview"]) == 5
    started = as_alice.post("/imports", {"upload_id": body["id"], "dry_run": True, "mapping": {"公司": ""}})
    assert started.status_code == 202, started.content
    job = started.json()
    assert job["state"] == "queued"
    assert job["dry_run"] is True
    job_run(Job.objects.get(public_id=job["id"]).pk)
    followed = as_alice.get(f"/imports/{job['id']}").json()
    assert followed["state"] == "succeeded"
    assert followed["counts"]["created"] == 12
    assert Customer.objects.count() == 0
    real = as_alice.post("/imports", {"upload_id": body["id"], "mapping": {"公司": ""}}).json()
    job_run(Job.objects.get(public_id=real["id"]).pk)
    assert as_alice.get(f"/imports/{real['id']}").json()["counts"]["created"] == 12
    assert not Customer.objects.exclude(company_name="").exists()  # the company column was left out
    assert [item["id"] for item in as_alice.get("/imports").json()] == [real["id"], job["id"]]


def test_refused_rows_through_the_api(as_alice: Api) -> None:
    body = _upload(as_alice, "customers_5pct_broken.csv").json()
    job = as_alice.post("/imports", {"upload_id": body["id"]}).json()
    job_run(Job.objects.get(public_id=job["id"]).pk)
    issues = as_alice.get(f"/imports/{job['id']}/issues", limit=3).json()
    assert issues[0] == {"row": 12, "column": "手机", "reason": "1381234567 has 10 digits; a mainland mobile has 11"}
    assert len(issues) == 3
    report = as_alice.get(f"/imports/{job['id']}/report")
    assert report["Content-Disposition"].startswith("attachment;")
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert len(lines) == 11


def test_bad_input_is_explained_and_others_see_nothing(as_alice: Api, as_charlie: Api, tmp_path: Path) -> None:
    body = _upload(as_alice, "customers_excel_gbk.csv").json()
    assert body["encoding"] == "gb18030"
    refused = as_alice.post("/imports", {"upload_id": body["id"], "mapping": {"手机": "mobile", "电话": "mobile"}})
    assert refused.status_code == 422
    assert "both fill" in refused.content.decode()
    unknown = as_alice.post("/imports", {"upload_id": body["id"], "mapping": {"手机": "fax"}})
    assert unknown.status_code == 422
    assert not Job.objects.exists()
    assert as_charlie.post("/imports", {"upload_id": body["id"]}).status_code == 404
    job = as_alice.post("/imports", {"upload_id": body["id"]}).json()
    assert as_charlie.get(f"/imports/{job['id']}").status_code == 404
    assert as_charlie.get(f"/imports/{job['id']}/report").status_code == 404
    assert as_charlie.post(f"/imports/{job['id']}/cancel").status_code == 404
    assert as_charlie.get("/imports").json() == []
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with empty.open("rb") as handle:
        response = Client().post(
            "/api/v1/imports/uploads", {"file": handle}, HTTP_AUTHORIZATION=f"Bearer {as_alice.token}"
        )
    assert response.status_code == 422
    assert "empty" in response.content.decode()
