"""Starting imports, saving mapping templates, and the report of refused rows — for the pages, the API and the CLI."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.core.errors import FieldError, ServiceValidationError
from kehu.core.exports import csv_bytes, spreadsheet_safe
from kehu.core.jobs import job_submit
from kehu.core.models import Job
from kehu.customers.bulk import LikelyPolicy, MatchPolicy
from kehu.ingest.files import FileProblem, table_open, upload_plain
from kehu.ingest.mapping import auto_map, mapping_check
from kehu.ingest.models import ErrorPolicy, ImportIssue, ImportTemplate, ImportType, Upload


def import_start(
    *,
    actor: User,
    upload: Upload,
    mapping: Mapping[str, str],
    import_type: str = ImportType.CUSTOMERS,
    policy: str = MatchPolicy.FILL_BLANKS,
    duplicates: str = LikelyPolicy.CREATE,
    on_error: str = ErrorPolicy.SKIP,
    dry_run: bool = False,
    encoding: str = "",
    source_system: str = "",
) -> Job:
    """Check the choices against the file and queue the import (or its dry run) as a job."""
    require(actor, ObjectType.CUSTOMER, Action.CREATE)
    errors = []
    if import_type not in ImportType.values:
        errors.append(("import_type", _("must be one of %(choices)s") % {"choices": ", ".join(ImportType.values)}))
    if policy not in MatchPolicy.values:
        errors.append(("policy", _("must be one of %(choices)s") % {"choices": ", ".join(MatchPolicy.values)}))
    if duplicates not in LikelyPolicy.values:
        errors.append(("duplicates", _("must be one of %(choices)s") % {"choices": ", ".join(LikelyPolicy.values)}))
    if on_error not in ErrorPolicy.values:
        errors.append(("on_error", _("must be one of %(choices)s") % {"choices": ", ".join(ErrorPolicy.values)}))
    try:
        with upload_plain(upload) as path, table_open(path, upload.file_format, encoding=encoding) as table:
            headers = table.headers
    except FileProblem as problem:
        raise ServiceValidationError([FieldError("encoding", str(problem))]) from None
    # Columns the caller left out are mapped as kehu guesses them (the page sends every column; the API and the
    # CLI may send only their corrections).
    mapping = {**auto_map(headers, import_type), **mapping}
    errors += [("mapping", problem) for problem in mapping_check(mapping, headers, import_type)]
    if errors:
        raise ServiceValidationError([FieldError(name, reason) for name, reason in errors])
    title = _("Dry run of %(name)s") if dry_run else _("Import of %(name)s")
    with transaction.atomic():
        return job_submit(
            actor=actor,
            kind="import",
            title=title % {"name": upload.name},
            params={
                "upload_id": upload.pk,
                "import_type": import_type,
                "mapping": dict(mapping),
                "policy": policy,
                "duplicates": duplicates,
                "on_error": on_error,
                "dry_run": dry_run,
                "encoding": encoding,
                "source_system": source_system.strip()[:50],
                "file_name": upload.name,
                "headers": headers,
                "language": translation.get_language() or "zh-hans",
            },
        )


@transaction.atomic
def template_save(*, actor: User, name: str, import_type: str, mapping: Mapping[str, str]) -> ImportTemplate:
    """Save (or replace) a user's named mapping, to apply to the next file of the same shape."""
    name = name.strip()
    if not name:
        raise ServiceValidationError.single("name", _("give the template a name"))
    if len(name) > 100:
        raise ServiceValidationError.single("name", _("at most 100 characters"))
    template, _created = ImportTemplate.objects.update_or_create(
        created_by=actor, import_type=import_type, name=name, defaults={"mapping": dict(mapping)}
    )
    return template


def template_apply(template: ImportTemplate, headers: list[str], guessed: Mapping[str, str]) -> dict[str, str]:
    """A template's choices for the columns this file has; other columns keep kehu's guess."""
    return {header: template.mapping.get(header, guessed.get(header, "")) for header in headers}


def report_rows(job: Job) -> Iterator[list[str]]:
    """The refused rows as the file had them, with row number, column and reason in front: ready to fix."""
    header = list(job.params.get("headers") or [])
    yield [_("Row"), _("Column"), _("Reason"), *header]
    current: ImportIssue | None = None
    reasons: list[tuple[str, str]] = []
    for issue in ImportIssue.objects.filter(job=job).order_by("row_number", "id").iterator(chunk_size=2000):
        if current is not None and issue.row_number != current.row_number:
            yield _report_line(current, reasons)
            reasons = []
        if not reasons:
            current = issue
        reasons.append((issue.column, issue.message))
    if current is not None:
        yield _report_line(current, reasons)


def _report_line(first: ImportIssue, reasons: list[tuple[str, str]]) -> list[str]:
    values = json.loads(first.values) if first.values else []
    columns = "; ".join(dict.fromkeys(column for column, _ in reasons if column))
    text = "; ".join(f"{column}: {message}" if column else message for column, message in reasons)
    return [str(first.row_number), columns, text, *values]


def report_csv(job: Job) -> bytes:
    """The report as CSV, UTF-8 with a BOM so that Excel shows the Chinese; formulas neutralised."""
    return csv_bytes(report_rows(job))


def report_xlsx(job: Job) -> bytes:
    """The report as an XLSX workbook (written row by row, in constant memory)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet(_("Rows not imported")[:31])
    bold = book.add_format({"bold": True})
    for row_index, line in enumerate(report_rows(job)):
        for column_index, cell in enumerate(line):
            sheet.write_string(row_index, column_index, spreadsheet_safe(cell), bold if row_index == 0 else None)
    book.close()
    return out.getvalue()


def imports_for_user(user: User) -> Any:
    """The import jobs a user may see: their own, or everyone's for an administrator (both: if they may import)."""
    from kehu.accounts.roles import Role

    require(user, ObjectType.CUSTOMER, Action.CREATE)
    jobs = Job.objects.filter(kind="import").select_related("created_by").order_by("-created_at")
    return jobs if user.role == Role.ADMIN else jobs.filter(created_by=user)


def files_expire() -> int:
    """Delete uploads and export files whose jobs ended more than KEHU_UPLOAD_KEEP_DAYS ago; returns how many.

    An upload still used by a job that has not ended (or by none yet, within the period) is kept."""
    import datetime as dt
    from pathlib import Path

    from django.conf import settings
    from django.utils import timezone

    from kehu.core.models import JobState
    from kehu.ingest.files import upload_delete

    cutoff = timezone.now() - dt.timedelta(days=settings.KEHU_UPLOAD_KEEP_DAYS)
    removed = 0
    unfinished = (JobState.QUEUED, JobState.RUNNING)
    busy = {
        job.params.get("upload_id")
        for job in Job.objects.filter(kind="import").filter(Q(state__in=unfinished) | Q(finished_at__gte=cutoff))
    }
    for upload in Upload.objects.filter(created_at__lt=cutoff).exclude(pk__in=[pk for pk in busy if pk]):
        upload_delete(upload)
        removed += 1
    for job in Job.objects.filter(kind="export", state=JobState.SUCCEEDED, finished_at__lt=cutoff):
        if job.result.get("expired"):
            continue
        (Path(settings.KEHU_UPLOAD_DIR) / "exports" / job.result.get("stored_as", "-")).unlink(missing_ok=True)
        job.result = {**job.result, "expired": True}
        job.save(update_fields=["result"])
        removed += 1
    return removed
