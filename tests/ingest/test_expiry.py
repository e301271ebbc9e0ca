"""Uploaded files and finished exports hold personal data: they are deleted after KEHU_UPLOAD_KEEP_DAYS."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from django.test import Client
from django.utils import timezone

from kehu.accounts.models import User
from kehu.core.jobs import job_run
from kehu.core.models import Job
from kehu.customers.services import customer_create
from kehu.ingest.exports import export_start
from kehu.ingest.files import upload_store
from kehu.ingest.models import Upload
from kehu.ingest.services import files_expire


def test_old_files_are_deleted_and_recent_or_busy_ones_kept(alice: User, settings: Any) -> None:
    customer_create(actor=alice, values={"display_name": "张三"})
    old, busy, _recent = (upload_store(actor=alice, name=f"{n}.csv", source=io.BytesIO(b"a,b\n1,2\n")) for n in "obr")
    long_ago = timezone.now() - dt.timedelta(days=settings.KEHU_UPLOAD_KEEP_DAYS + 1)
    Upload.objects.filter(pk__in=[old.pk, busy.pk]).update(created_at=long_ago)
    Job.objects.create(
        kind="import", created_by=alice, params={"upload_id": old.pk}, state="succeeded", finished_at=long_ago
    )
    Job.objects.create(kind="import", created_by=alice, params={"upload_id": busy.pk}, state="running")
    export = export_start(actor=alice, query="", file_format="csv")
    job_run(export.pk)
    export.refresh_from_db()
    stored = Path(settings.KEHU_UPLOAD_DIR) / "exports" / export.result["stored_as"]
    assert stored.exists()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    assert client.get(f"/exports/{export.public_id}/download/").status_code == 200
    Job.objects.filter(pk=export.pk).update(finished_at=long_ago)

    assert files_expire() == 2
    assert set(Upload.objects.values_list("name", flat=True)) == {"b.csv", "r.csv"}
    assert not (Path(settings.KEHU_UPLOAD_DIR) / old.stored_as).exists()
    assert (Path(settings.KEHU_UPLOAD_DIR) / busy.stored_as).exists()
    assert not stored.exists()
    assert client.get(f"/exports/{export.public_id}/download/").status_code == 404
    assert "export the list again" in client.get(f"/exports/{export.public_id}/").content.decode()
    assert files_expire() == 0
