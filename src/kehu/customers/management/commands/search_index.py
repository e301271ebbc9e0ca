"""`kehu search_index rebuild`: rebuild every customer's search document and the index."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from rich.progress import Progress

from kehu.customers.models import Customer
from kehu.customers.search_index import document_for, index_rebuild

BATCH = 2000


class Command(BaseCommand):
    help = "Rebuild the customer search index"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["rebuild"])

    def handle(self, *args: Any, **options: Any) -> None:
        total = Customer.objects.count()
        last = 0
        with Progress() as progress:
            task = progress.add_task("documents", total=total)
            while True:
                batch = list(
                    Customer.objects.filter(pk__gt=last).order_by("pk").prefetch_related("contact_points")[:BATCH]
                )
                if not batch:
                    break
                for customer in batch:
                    customer.search_document = document_for(customer)
                with transaction.atomic():
                    Customer.objects.bulk_update(batch, ["search_document"])
                last = batch[-1].pk
                progress.advance(task, len(batch))
        with transaction.atomic():
            indexed = index_rebuild()
        self.stdout.write(self.style.SUCCESS(f"search index rebuilt: {indexed} customers"))
