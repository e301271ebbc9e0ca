"""`kehu audit verify`: check the hash chain and name the first broken record."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kehu.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit log tools"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="check that no audit record was changed, removed or reordered")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            report = audit_verify()
            if not report.ok:
                where = f"#{report.broken_sequence}" + (f" (row id {report.broken_id})" if report.broken_id else "")
                raise CommandError(
                    f"audit chain broken at record {where}: {report.reason}; "
                    f"{report.checked} records before it verified"
                )
            self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} records verified"))
            if report.note:
                self.stdout.write(f"head file: {report.note}")
