"""`kehu hooks add|list|rotate|disable`: the platforms allowed to send orders to /api/v1/hooks/orders/<name>."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from kehu.accounts.access import allows
from kehu.accounts.roles import Action, ObjectType
from kehu.commerce.models import OrderChannel
from kehu.core.progress import acting_user
from kehu.ingest.models import WebhookSource
from kehu.ingest.webhooks import source_create, source_rotate


class Command(BaseCommand):
    help = "Manage order webhook sources (e-commerce platforms) and their signing secrets"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="allow a source; prints its secret once")
        add.add_argument("name")
        add.add_argument("--as", dest="username", required=True, help="the user its orders and customers belong to")
        add.add_argument("--channel", default=OrderChannel.ECOMMERCE, choices=OrderChannel.values)
        sub.add_parser("list", help="the sources, with when each last sent an order")
        rotate = sub.add_parser("rotate", help="a new secret for a source (the old one stops working)")
        rotate.add_argument("name")
        disable = sub.add_parser("disable", help="refuse a source's requests from now on")
        disable.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            for listed in WebhookSource.objects.select_related("actor").order_by("name"):
                state = "active" if listed.active else "disabled"
                last = f"{listed.last_received_at:%Y-%m-%d %H:%M}" if listed.last_received_at else "never"
                self.stdout.write(f"{listed.name}\t{state}\tas {listed.actor.username}\t{listed.channel}\tlast: {last}")
            return
        if action == "add":
            name = slugify(options["name"])
            if not name or name != options["name"]:
                raise CommandError("the name is used in the URL: lower-case letters, digits and dashes")
            actor = acting_user(options["username"])
            needed = [
                (ObjectType.CUSTOMER, Action.CREATE),
                (ObjectType.ORDER, Action.CREATE),
                (ObjectType.PRODUCT, Action.CREATE),
            ]
            if not all(allows(actor, *need) for need in needed):
                raise CommandError(
                    f"{actor.username} may not create customers, orders and products (use a manager or admin)"
                )
            if WebhookSource.objects.filter(name=name).exists():
                raise CommandError(f"{name} exists already; `kehu hooks rotate {name}` gives it a new secret")
            _created, secret = source_create(name=name, actor=actor, channel=options["channel"])
            self.stdout.write(
                f"POST /api/v1/hooks/orders/{name}\nsecret (shown once, keep it in the platform's settings): {secret}"
            )
            return
        source = WebhookSource.objects.filter(name=options["name"]).first()
        if source is None:
            raise CommandError(f"no source {options['name']}")
        if action == "rotate":
            self.stdout.write(f"new secret for {source.name} (shown once): {source_rotate(source)}")
        else:
            source.active = False
            source.save(update_fields=["active"])
            self.stdout.write(f"{source.name} disabled: its requests are refused")
