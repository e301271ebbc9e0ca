"""`kehu keys status | rotate | generate`: field-encryption keys."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from kehu.core.crypto import key_generate
from kehu.core.fields import keyring
from kehu.privacy.keys import keys_rotate, keys_status


class Command(BaseCommand):
    help = "Field-encryption keys: how values are stored, re-encrypt under the current key, make a new key"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="values per protected column by key id (and in clear)")
        rotate = sub.add_parser(
            "rotate",
            help="re-encrypt every value under the first key of KEHU_ENCRYPTION_KEYS; safe to interrupt and rerun",
        )
        rotate.add_argument("--batch-size", type=int, default=500)
        sub.add_parser("generate", help="print a new random key, to put first in KEHU_ENCRYPTION_KEYS")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "generate":
            self.stdout.write(key_generate())
            return
        if options["action"] == "status":
            self.stdout.write(f"current key: {keyring().current_id}")
            for status in keys_status():
                wanted = "encrypted" if status.encrypted_required else "in clear"
                counts = ", ".join(f"{name} {count}" for name, count in sorted(status.counts.items())) or "no rows"
                self.stdout.write(f"{status.table}.{status.column} ({status.group}, {wanted}): {counts}")
            return
        tasks: dict[str, TaskID] = {}
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=None, transient=False
        ) as bar:

            def progress(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total)
                bar.update(tasks[table], completed=done, total=total)

            converted = keys_rotate(batch_size=options["batch_size"], progress=progress)
        total = sum(converted.values())
        self.stdout.write(
            self.style.SUCCESS(f"{total} rows converted; the current key is {keyring().current_id}")
            + "".join(f"\n  {table}: {count}" for table, count in converted.items() if count)
        )
