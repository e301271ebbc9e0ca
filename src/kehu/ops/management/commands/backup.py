"""`kehu backup [--out DIR]` and `kehu backup verify FOLDER`."""

from __future__ import annotations

from argparse import ArgumentParser, BooleanOptionalAction
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kehu.ops.backup import BackupError, backup_create, backup_verify


class Command(BaseCommand):
    help = "Back up the database with a manifest of row counts and checksums, or verify a backup"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", nargs="?", choices=["create", "verify"], default="create")
        parser.add_argument("folder", nargs="?", help="the backup folder to verify")
        parser.add_argument("--out", default=None, help="where to write backups (default: var/backups)")
        parser.add_argument(
            "--encrypt",
            action=BooleanOptionalAction,
            default=None,
            help="seal the file with the current encryption key (default: KEHU_BACKUP_ENCRYPT, on)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "verify":
                if not options["folder"]:
                    raise CommandError("give the backup folder: kehu backup verify FOLDER")
                report = backup_verify(Path(options["folder"]))
                if not report.ok:
                    raise CommandError("backup does not verify: " + "; ".join(report.problems))
                self.stdout.write(self.style.SUCCESS(f"backup verified: {report.tables} tables, {report.rows} rows"))
                return
            out = Path(options["out"]) if options["out"] else Path(settings.VAR_DIR) / "backups"
            folder = backup_create(
                out_dir=out, encrypt=options["encrypt"], progress=lambda step: self.stderr.write(f"… {step}")
            )
            self.stdout.write(folder.as_posix())
        except BackupError as error:
            raise CommandError(str(error)) from None
