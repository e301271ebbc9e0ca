"""`kehu privacy ropa`: print the record of processing activities generated from the classification."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from kehu.privacy.ropa import ropa_markdown


class Command(BaseCommand):
    help = "Privacy tools"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("ropa", help="the record of processing activities (GDPR art. 30), as Markdown")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(ropa_markdown())
