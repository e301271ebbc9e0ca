"""The import pages: upload → map (with preview) → dry run → import for real → report; nobody else sees them."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from django.test import Client

from kehu.accounts.models import User
from kehu.core.jobs import job_run
from kehu.core.models import Job, JobState
from kehu.customers.models import Customer
from kehu.ingest.models import ImportTemplate, Upload

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _upload(client: Client, name: str) -> str:
    with (FIXTURES / name).open("rb") as handle:
        response = client.post("/imports/", {"file": handle, "import_type": "customers"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return str(response["Location"])


def _mapping_post(page: str, **extra: str) -> dict[str, str]:
    """What the mapping form sends as the page rendered it: every select with its chosen option."""
    data = {}
    for name, value in re.findall(r'<select name="(col_\d+)"[^>]*>.*?<option value="([^"]*)" selected', page, re.S):
        data[name] = value
    for name in re.findall(r'<select name="(col_\d+)"', page):
        data.setdefault(name, "")
    return {**data, "policy": "fill_blanks", "on_error": "skip", "encoding": "", **extra}


def test_upload_map_dry_run_import_and_report(alice: User) -> None:
    client = _client(alice)
    map_url = _upload(client, "customers_5pct_broken.csv")
    page = client.get(map_url).content.decode()
    assert "utf-8-sig" in page
    assert "6 of 6 columns recognised" in page
    assert "13840240002" in page  # the preview shows the first rows
    data = _mapping_post(page, dry_run="1", save_as="broken sheet")
    assert data["col_1"] == "mobile"
    response = client.post(map_url, data)
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.params["dry_run"] is True
    assert ImportTemplate.objects.get(created_by=alice).mapping["手机"] == "mobile"
    waiting = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in waiting  # polled until it ends
    job_run(job.pk)
    done = client.get(response["Location"]).content.decode()
    assert 'data-state="succeeded"' in done
    assert 'hx-trigger="every 1s"' not in done
    assert re.search(r'data-count="created">190<', done)
    assert "Import for real" in done
    assert Customer.objects.count() == 0
    real = client.post(f"/imports/{job.public_id}/run/")
    assert real.status_code == 302
    real_job = Job.objects.exclude(pk=job.pk).get()
    job_run(real_job.pk)
    assert Customer.objects.count() == 190
    detail = client.get(real["Location"]).content.decode()
    assert "1381234567 has 10 digits; a mainland mobile has 11" in detail
    report = client.get(f"/imports/{real_job.public_id}/report.csv")
    assert report["Content-Disposition"].startswith("attachment;")
    assert report["Cache-Control"] == "no-store"
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert len(lines) == 11
    xlsx = client.get(f"/imports/{real_job.public_id}/report.xlsx")
    assert xlsx.content[:2] == b"PK"


def test_a_saved_mapping_is_applied_to_the_next_file(alice: User) -> None:
    client = _client(alice)
    ImportTemplate.objects.create(
        created_by=alice, import_type="customers", name="fair", mapping={"客户名称": "company_name"}
    )
    map_url = _upload(client, "customers_excel_gbk.csv")
    template = ImportTemplate.objects.get()
    page = client.get(f"{map_url}?template={template.pk}").content.decode()
    assert re.search(r'<select name="col_0"[^>]*>.*?<option value="company_name" selected', page, re.S)
    assert "gb18030" in page


def test_other_users_get_not_found(alice: User, charlie: User) -> None:
    client = _client(alice)
    map_url = _upload(client, "customers_excel_gbk.csv")
    page = client.get(map_url).content.decode()
    client.post(map_url, _mapping_post(page))
    job = Job.objects.get()
    other = _client(charlie)
    assert other.get(map_url).status_code == 404
    assert other.get(f"/imports/{job.public_id}/").status_code == 404
    assert other.get(f"/imports/{job.public_id}/report.csv").status_code == 404
    assert other.post(f"/imports/{job.public_id}/cancel/").status_code == 404
    job.refresh_from_db()
    assert not job.cancel_requested
    assert str(job.public_id) not in other.get("/imports/").content.decode()


def test_a_bad_mapping_and_a_bad_file_are_explained(alice: User, tmp_path: Path) -> None:
    client = _client(alice)
    map_url = _upload(client, "customers_excel_gbk.csv")
    page = client.get(map_url).content.decode()
    data = _mapping_post(page)
    data["col_2"] = "mobile"  # 电话 as a second mobile column
    response = client.post(map_url, data)
    assert response.status_code == 400
    assert "both fill" in response.content.decode()
    assert not Job.objects.exists()
    old_excel = tmp_path / "old.xls"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with old_excel.open("rb") as handle:
        refused = client.post("/imports/", {"file": handle, "import_type": "customers"})
    assert refused.status_code == 400
    assert "old Excel .xls file" in refused.content.decode()
    assert Upload.objects.count() == 1


def test_a_cancelled_import_keeps_what_it_committed(alice: User) -> None:
    client = _client(alice)
    map_url = _upload(client, "customers_5pct_broken.csv")
    page = client.get(map_url).content.decode()
    client.post(map_url, _mapping_post(page))
    job = Job.objects.get()
    client.post(f"/imports/{job.public_id}/cancel/")
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED  # it had not started: cancelled at once
    assert job_run(job.pk) is not None
    assert Customer.objects.count() == 0
