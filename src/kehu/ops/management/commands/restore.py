"""`kehu restore FOLDER`: restore a backup into the configured, empty database and check it."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kehu.ops.backup import BackupError, backup_restore
from kehu.privacy.services import erasures_replay


class Command(BaseCommand):
    help = "Restore a kehu backup into the configured database, which must be empty"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("folder")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = backup_restore(Path(options["folder"]))
        except BackupError as error:
            raise CommandError(str(error)) from None
        if not report.ok:
            raise CommandError("restored, but it does not match the manifest: " + "; ".join(report.problems))
        self.stdout.write(self.style.SUCCESS(f"restored and verified: {report.tables} tables, {report.rows} rows"))
        # A backup older than an erasure still holds the person: erase them again (kehu.privacy.services).
        erased = erasures_replay()
        if erased:
            self.stdout.write(f"{erased} people erased since this backup was taken were erased again")
