"""`kehu dedup run --as USER [--threshold P] [--groups-out FILE]`: the duplicate search, with a progress bar."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kehu.accounts.models import User
from kehu.core.errors import PermissionDeniedError
from kehu.core.models import JobState
from kehu.core.progress import job_run_with_bar
from kehu.dedup.services import DEFAULT_THRESHOLD, dedup_start, groups_csv


class Command(BaseCommand):
    help = "Find duplicate customers (probabilistic record linkage) and group them for review"

    def add_arguments(self, parser: ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        run = commands.add_parser("run", help="search the customers the user may change for duplicates")
        run.add_argument("--as", dest="username", required=True, help="the user the search acts as (scope, audit)")
        run.add_argument(
            "--threshold", type=float, default=DEFAULT_THRESHOLD, help="match probability that joins a group"
        )
        run.add_argument(
            "--groups-out", type=Path, help="write every group as CSV: external id, group id, match probability"
        )
        run.add_argument("--background", action="store_true", help="queue it for `kehu worker` and return")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["username"], is_active=True).first()
        if actor is None:
            raise CommandError(f"{options['username']} is not an active user")
        try:
            job = dedup_start(actor=actor, threshold=options["threshold"])
        except (PermissionDeniedError, ValueError) as error:
            raise CommandError(str(error)) from None
        if options["background"]:
            self.stdout.write(f"queued job {job.public_id}; `kehu worker` runs it")
            return
        job = job_run_with_bar(job, label="customers read", errors=self.stderr, failure="duplicate search failed")
        if job.state != JobState.SUCCEEDED:
            raise CommandError(job.error.splitlines()[0] if job.error else f"the search ended {job.state}")
        result = job.result
        self.stdout.write(
            f"{result['customers']:,} customers, {result['pairs_scored']:,} pairs scored, {result['groups']:,} groups "
            f"({result['customers_in_groups']:,} customers) in {result['seconds']} s"
        )
        if options["groups_out"]:
            rows = groups_csv(job, options["groups_out"])
            self.stdout.write(f"{rows:,} rows → {options['groups_out']}")
