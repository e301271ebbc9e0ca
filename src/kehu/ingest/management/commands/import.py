"""`kehu import FILE --type customers --mapping M.json --as USER`: the same import as the page, with a progress bar."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kehu.core.errors import PermissionDeniedError, ServiceValidationError
from kehu.core.models import Job, JobState
from kehu.core.progress import acting_user, job_run_in_terminal
from kehu.customers.bulk import LikelyPolicy, MatchPolicy
from kehu.ingest.files import FileProblem, table_open, upload_plain, upload_store
from kehu.ingest.mapping import auto_map
from kehu.ingest.models import ErrorPolicy, ImportType
from kehu.ingest.services import import_start, report_csv, report_xlsx


class Command(BaseCommand):
    help = "Import a CSV or XLSX file (customers): detects the encoding, maps the columns, reports the rows refused"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--type", dest="import_type", default=ImportType.CUSTOMERS, choices=ImportType.values)
        parser.add_argument("--as", dest="username", required=True, help="the user the import acts as (owner, audit)")
        parser.add_argument(
            "--mapping", type=Path, help='JSON {"column": "field"}; columns left out are guessed from their header'
        )
        parser.add_argument("--encoding", default="", help="CSV encoding (default: detected; utf-8, gb18030…)")
        parser.add_argument("--policy", default=MatchPolicy.FILL_BLANKS, choices=MatchPolicy.values)
        parser.add_argument(
            "--duplicates",
            default=LikelyPolicy.CREATE,
            choices=LikelyPolicy.values,
            help="a row matching no key but probably an existing customer: create it, link it to that one, or skip it",
        )
        parser.add_argument("--on-error", default=ErrorPolicy.SKIP, choices=ErrorPolicy.values)
        parser.add_argument("--source-system", default="", help="where the file comes from (for external ids)")
        parser.add_argument("--dry-run", action="store_true", help="check everything and write nothing")
        parser.add_argument("--background", action="store_true", help="queue it for `kehu worker` and return")
        parser.add_argument("--show-mapping", action="store_true", help="print the guessed mapping and stop")
        parser.add_argument("--report", type=Path, help="write the rows not imported here (.csv or .xlsx)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = acting_user(options["username"])
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            with path.open("rb") as source:
                upload = upload_store(actor=actor, name=path.name, source=source)
            with (
                upload_plain(upload) as plain,
                table_open(plain, upload.file_format, encoding=options["encoding"]) as table,
            ):
                headers = table.headers
        except FileProblem as problem:
            raise CommandError(str(problem)) from None
        mapping = auto_map(headers, options["import_type"])
        if options["mapping"]:
            given = json.loads(options["mapping"].read_text(encoding="utf-8"))
            if not isinstance(given, dict):
                raise CommandError('the mapping file holds a JSON object: {"column": "field"}')
            mapping.update({str(key): str(value or "") for key, value in given.items()})
        if options["show_mapping"]:
            self.stdout.write(json.dumps(mapping, ensure_ascii=False, indent=2))
            return
        encoding = options["encoding"] or upload.encoding
        self.stderr.write(
            f"{upload.name}: {upload.file_format}{' ' + encoding if encoding else ''}, {upload.size:,} bytes"
        )
        try:
            job = import_start(
                actor=actor,
                upload=upload,
                mapping=mapping,
                import_type=options["import_type"],
                policy=options["policy"],
                duplicates=options["duplicates"],
                on_error=options["on_error"],
                dry_run=options["dry_run"],
                encoding=options["encoding"],
                source_system=options["source_system"],
            )
        except (ServiceValidationError, PermissionDeniedError) as error:
            raise CommandError(str(error)) from None
        ran = job_run_in_terminal(
            job,
            background=options["background"],
            out=self.stdout,
            errors=self.stderr,
            label="rows",
            failure="import failed",
            must_succeed=False,  # the summary says what was imported before a failure
        )
        if ran is not None:
            self._summarise(ran, options["report"])

    def _summarise(self, job: Job, report: Path | None) -> None:
        counts = job.counts
        label = "would be " if job.params.get("dry_run") else ""
        self.stdout.write(
            f"{label}created {counts.get('created', 0)}, {label}updated {counts.get('updated', 0)}, "
            f"unchanged {counts.get('unchanged', 0)}, refused {counts.get('failed', 0)}, "
            f"already imported {counts.get('already_imported', 0)}"
        )
        if report is not None and counts.get("failed"):
            report.write_bytes(report_xlsx(job) if report.suffix.lower() == ".xlsx" else report_csv(job))
            self.stdout.write(f"rows not imported, with the reason: {report}")
        if job.state != JobState.SUCCEEDED:
            raise CommandError(job.error.splitlines()[0] if job.error else f"the import ended {job.state}")
