"""`kehu privacy ropa | retention report | retention run | erasures replay`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.privacy.ropa import ropa_markdown
from kehu.privacy.services import erasures_replay, retention_apply, retention_report


class Command(BaseCommand):
    help = "Privacy tools"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("ropa", help="the record of processing activities (GDPR art. 30), as Markdown")
        retention = sub.add_parser("retention", help="retention rules: what they would touch, or run them")
        retention.add_argument("step", choices=["report", "run"])
        retention.add_argument("--as", dest="username", required=True, help="the administrator running it")
        erasures = sub.add_parser("erasures", help="erase again everyone in the erasure journal (after a restore)")
        erasures.add_argument("step", choices=["replay"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "ropa":
            self.stdout.write(ropa_markdown())
            return
        if options["action"] == "erasures":
            self.stdout.write(f"{erasures_replay()} people erased again from the journal")
            return
        actor = User.objects.filter(username=options["username"], is_active=True, role=Role.ADMIN).first()
        if actor is None:
            raise CommandError(f"{options['username']} is not an active administrator")
        if options["step"] == "report":
            for row in retention_report(actor=actor):
                self.stdout.write(
                    f"{row.data_type}: older than {row.months} months → {row.action}; "
                    f"{row.candidates} now, {row.flagged} flagged, {row.due} due for anonymising"
                )
            return

        def progress(data_type: str, done: int, total: int) -> None:
            self.stderr.write(f"… {data_type}: {done}/{total}")

        for run in retention_apply(actor=actor, progress=progress):
            self.stdout.write(
                f"{run.data_type}: {run.flagged} flagged, {run.unflagged} no longer due, {run.anonymised} anonymised"
            )
