"""`kehu demo --customers N --seed S`: load realistic demo data and the demo accounts."""

from __future__ import annotations

import os
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kehu.audit.context import audit_context
from kehu.customers.models import Customer
from kehu.demo.generate import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_accounts_ensure, demo_load


class Command(BaseCommand):
    help = "Load demo customers, products, orders, interactions and one account per role"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1, help="processes generating batches (default: CPUs)"
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing when customers already exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 0:
            self.stderr.write("--customers must be zero or more")
            return
        with audit_context(source="cli"):
            if options["if_empty"] and Customer.objects.exists():
                demo_accounts_ensure()
                self.stdout.write("customers already exist; demo data not loaded again")
            else:
                started = time.perf_counter()
                with Progress(
                    TextColumn("demo customers"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    disable=options["verbosity"] == 0,
                ) as progress:
                    task = progress.add_task("demo", total=options["customers"])
                    result = demo_load(
                        customers=options["customers"],
                        seed=options["seed"],
                        batch_size=options["batch_size"],
                        workers=options["workers"],
                        progress=lambda n: progress.advance(task, n),
                    )
                seconds = time.perf_counter() - started
                rate = result.customers / seconds if seconds else 0
                self.stdout.write(
                    f"loaded {result.customers} customers, {result.orders} orders, {result.order_lines} order lines, "
                    f"{result.interactions} interactions in {seconds:.1f} s ({rate:,.0f} customers/s)"
                    + (f"; {result.batches_skipped} batches were already loaded" if result.batches_skipped else "")
                )
        self.stdout.write(f"demo accounts (password for all: {DEMO_PASSWORD}):")
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.username:<10} {account.role.label:<15} {account.display_name}")
