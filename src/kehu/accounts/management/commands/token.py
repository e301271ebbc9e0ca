"""`kehu token create USERNAME --name NAME`: issue a personal API token (the secret is printed once)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from kehu.accounts.models import User
from kehu.accounts.services import api_token_create
from kehu.audit.context import audit_context


class Command(BaseCommand):
    help = "Personal API tokens"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token for a user")
        create.add_argument("username")
        create.add_argument("--name", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user is called {options['username']}")
        with audit_context(source="cli"), transaction.atomic():
            issued = api_token_create(actor=user, name=options["name"])
        self.stdout.write(issued.secret)
