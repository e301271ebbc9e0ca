"""`kehu user reset-two-factor USERNAME` and `kehu user disable USERNAME`: what an administrator does for a user
who lost their phone or left, from the server's shell (for instance when the administrator is the one locked out)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kehu.accounts import services, two_factor
from kehu.accounts.models import User
from kehu.audit.context import audit_context


class Command(BaseCommand):
    help = "Help a user: reset their two-factor sign-in, or disable them and end their sessions"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reset = sub.add_parser("reset-two-factor", help="remove the user's authenticator and backup codes")
        reset.add_argument("username")
        disable = sub.add_parser("disable", help="disable the user and end every session of theirs")
        disable.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user is called {options['username']}")
        with audit_context(source="cli"):
            if options["action"] == "reset-two-factor":
                two_factor.two_factor_reset(actor=None, user=user)
                self.stdout.write(f"{user.username} sets up a new authenticator at the next sign-in")
            else:
                ended = services.user_deactivate(actor=None, user=user)
                self.stdout.write(f"{user.username} is disabled; {ended} sessions ended")
