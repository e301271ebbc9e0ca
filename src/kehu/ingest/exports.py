"""Export of the customer list as the user filtered it: CSV (UTF-8 with BOM, for Excel) or XLSX, run as a job.

Rows are what the list shows the user — names, contact values and owners masked as the role requires — read
through the same scope and filters (`customers_filtered`), in id order, 2,000 at a time, so memory stays flat
however long the list. Every cell goes through `spreadsheet_safe`, so a value such as `=HYPERLINK(…)` is text
in Excel. The file is kept encrypted until its creator downloads it; the export is audited with its row count
and the filters used (never the data).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.db import transaction
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import override

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record
from kehu.core.crypto import file_decrypt, file_encrypt
from kehu.core.errors import FieldError, ServiceValidationError
from kehu.core.exports import csv_write, spreadsheet_safe
from kehu.core.fields import keyring
from kehu.core.jobs import JobContext, JobFailed, job_submit
from kehu.core.models import Job
from kehu.customers.forms import list_filters
from kehu.customers.models import CustomerKind, LifecycleStage, SourceChannel
from kehu.customers.rendering import customer_summary_out, may_see_names
from kehu.customers.selectors import customer_summaries, customers_filtered

FORMATS = ("csv", "xlsx")
BATCH = 2000


def export_start(*, actor: User, query: str, file_format: str) -> Job:
    """Queue an export of the customers the list shows for this query string."""
    require(actor, ObjectType.CUSTOMER, Action.VIEW)
    if file_format not in FORMATS:
        raise ValueError(f"unknown export format {file_format!r}")
    form, filters = list_filters(actor, QueryDict(query))
    if filters is None:
        raise ServiceValidationError(
            [FieldError(name, str(error)) for name, errors in form.errors.items() for error in errors]
        )
    with transaction.atomic():
        return job_submit(
            actor=actor,
            kind="export",
            title=_("Export of customers (%(format)s)") % {"format": file_format.upper()},
            params={"query": query, "format": file_format, "language": translation.get_language() or "zh-hans"},
        )


def _header() -> list[str]:
    return [
        _("Name"),
        _("Kind"),
        _("Company"),
        _("Lifecycle stage"),
        _("Source channel"),
        _("Owner"),
        _("Phone"),
        _("Email"),
        _("Tags"),
        _("Created"),
        _("Updated"),
        _("Archived"),
    ]


def _line(item: dict[str, Any]) -> list[str]:
    return [
        item["display_name"],
        str(CustomerKind(item["kind"]).label),
        item["company_name"],
        str(LifecycleStage(item["lifecycle_stage"]).label),
        str(SourceChannel(item["source_channel"]).label) if item["source_channel"] else "",
        item["owner"]["name"] if item["owner"] else "",
        item["primary_phone"] or "",  # masked, as in the list
        item["primary_email"] or "",
        "、".join(item["tags"]),
        f"{item['created_at']:%Y-%m-%d %H:%M}",
        f"{item['updated_at']:%Y-%m-%d %H:%M}",
        _("yes") if item["archived"] else "",
    ]


def _rows(job: Job, context: JobContext, user: User) -> Iterator[list[str]]:
    _form, filters = list_filters(user, QueryDict(job.params["query"]))
    if filters is None:
        raise JobFailed(_("the list's filters are no longer valid; export again from the list"))
    queryset = customers_filtered(user, filters)
    total = queryset.count()
    names = may_see_names(user)
    done, last = 0, 0
    context.commit(done=0, total=total)
    while True:
        context.check_cancelled()
        ids = list(queryset.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:BATCH])
        if not ids:
            break
        for summary in customer_summaries(ids):
            yield _line(customer_summary_out(summary, names))
        done += len(ids)
        last = ids[-1]
        context.commit(done=done)


def run_export(job: Job, context: JobContext) -> dict[str, Any]:
    user = job.created_by
    if user is None or not user.is_active:
        raise JobFailed("the user who started this export no longer exists or was disabled")
    folder = Path(settings.KEHU_UPLOAD_DIR) / "exports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stored_as = f"{uuid.uuid4().hex}.kehu"
    file_format = job.params["format"]
    rows = 0
    with override(job.params.get("language") or "zh-hans"), tempfile.TemporaryDirectory(dir=folder) as scratch:
        plain = Path(scratch) / f"export.{file_format}"
        if file_format == "xlsx":
            rows = _write_xlsx(plain, _rows(job, context, user))
        else:
            rows = _write_csv(plain, _rows(job, context, user))
        target = folder / stored_as
        with plain.open("rb") as source, target.open("wb") as sealed:
            os.chmod(target, 0o600)
            file_encrypt(keyring(), cast(BinaryIO, source), sealed)
    with transaction.atomic():
        audit_record(
            event=AuditEvent.CUSTOMERS_EXPORTED,
            actor=user,
            target_type="export",
            target_id=str(job.public_id),
            fields=sorted(key for key, value in QueryDict(job.params["query"]).items() if value),
            extra={"rows": rows, "format": file_format},
        )
    return {"rows": rows, "stored_as": stored_as, "format": file_format}


def _write_csv(path: Path, rows: Iterator[list[str]]) -> int:
    """Streamed to disk, so a large list does not sit in memory; the BOM comes from the encoding."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        return csv_write(handle, itertools.chain([_header()], rows)) - 1


def _write_xlsx(path: Path, rows: Iterator[list[str]]) -> int:
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet(_("Customers")[:31])
    bold = book.add_format({"bold": True})
    for column, title in enumerate(_header()):
        sheet.write_string(0, column, title, bold)
    count = 0
    for count, line in enumerate(rows, start=1):
        for column, cell in enumerate(line):
            sheet.write_string(count, column, spreadsheet_safe(cell))
    book.close()
    return count


def export_file(job: Job) -> tuple[bytes, str, str]:
    """The finished export in the clear: (body, format, file name without extension)."""
    stored = Path(settings.KEHU_UPLOAD_DIR) / "exports" / job.result["stored_as"]
    with tempfile.TemporaryFile() as plain, stored.open("rb") as source:
        file_decrypt(keyring(), source, cast(BinaryIO, plain))
        plain.seek(0)
        body = plain.read()
    return body, job.result["format"], f"kehu-customers-{job.created_at:%Y%m%d-%H%M}"
