"""`kehu dedup run|groups|merge|undo`: the duplicate search with a progress bar, the review queue, merges.

kehu dedup run --as USER [--threshold P] [--groups-out FILE] [--background]
kehu dedup groups --as USER [--limit N]
kehu dedup merge --as USER (--group ID | CUSTOMER CUSTOMER…) [--survivor CUSTOMER] [--rule R] [--pick FIELD=CUSTOMER]
kehu dedup undo --as USER MERGE
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kehu.accounts.models import User
from kehu.accounts.roles import Action
from kehu.core.errors import NotFoundError, PermissionDeniedError, ServiceValidationError
from kehu.core.progress import acting_user, job_run_in_terminal
from kehu.customers.selectors import customer_get_for_user
from kehu.dedup import selectors
from kehu.dedup.linkage import BLOCK_MAX
from kehu.dedup.merge import customers_merge, merge_undo
from kehu.dedup.models import SurvivorRule
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
        groups = commands.add_parser("groups", help="list the groups waiting for review, most confident first")
        groups.add_argument("--as", dest="username", required=True)
        groups.add_argument("--limit", type=int, default=50)
        merge = commands.add_parser("merge", help="merge a group, or customers given by id, into one")
        merge.add_argument("--as", dest="username", required=True, help="the user the merge acts as (scope, audit)")
        merge.add_argument("--group", type=int, help="a group from `kehu dedup groups`")
        merge.add_argument("customers", nargs="*", help="customer ids (the survivor first unless --survivor)")
        merge.add_argument("--survivor", help="the customer to keep")
        merge.add_argument("--rule", choices=SurvivorRule.values, help="survivorship rule for fields not picked")
        merge.add_argument(
            "--pick", action="append", default=[], metavar="FIELD=CUSTOMER", help="take FIELD from CUSTOMER"
        )
        undo = commands.add_parser("undo", help="undo a merge exactly")
        undo.add_argument("--as", dest="username", required=True)
        undo.add_argument("merge", help="the merge id that `kehu dedup merge` printed")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = acting_user(options["username"])
        handler = {"groups": self._groups, "merge": self._merge, "undo": self._undo}.get(options["command"])
        if handler is not None:
            try:
                handler(actor, options)
            except (PermissionDeniedError, ValueError) as error:
                raise CommandError(str(error)) from None
            except NotFoundError:
                raise CommandError("not found, or outside what this user may change") from None
            except ServiceValidationError as error:
                raise CommandError("; ".join(f"{e.field}: {e.reason}" for e in error.errors)) from None
            return
        try:
            job = dedup_start(actor=actor, threshold=options["threshold"])
        except (PermissionDeniedError, ValueError) as error:
            raise CommandError(str(error)) from None
        ran = job_run_in_terminal(
            job,
            background=options["background"],
            out=self.stdout,
            errors=self.stderr,
            label="customers read",
            failure="duplicate search failed",
        )
        if ran is None:
            return
        result = ran.result
        self.stdout.write(
            f"{result['customers']:,} customers, {result['pairs_scored']:,} pairs scored, {result['groups']:,} groups "
            f"({result['customers_in_groups']:,} customers) in {result['seconds']} s"
        )
        if common := result.get("common_values"):
            listed = ", ".join(f"{rule} {count:,}" for rule, count in common.items())
            self.stdout.write(f"values shared by more than {BLOCK_MAX} customers, not compared by: {listed}")
        for failed in result.get("untrained", []):
            self.stdout.write(f"not trained on {failed}; the other sessions' estimates stand")
        if learnt := result.get("learnt"):
            self.stdout.write(
                f"learnt from {learnt['decided_pairs']:,} decided pairs ({learnt['merged_pairs']:,} merged): "
                f"match weights moved {learnt['prior_shift_bits']:+} bits"
            )
        if options["groups_out"]:
            rows = groups_csv(job, options["groups_out"])
            self.stdout.write(f"{rows:,} rows → {options['groups_out']}")

    def _groups(self, actor: User, options: dict[str, Any]) -> None:
        for group in selectors.groups_for_user(actor)[: options["limit"]]:
            members = selectors.group_members(actor, group)
            ids = " ".join(str(member.public_id) for member in members)
            self.stdout.write(f"{group.pk}\t{group.confidence:.3f}\t{len(members)}\t{ids}")

    def _merge(self, actor: User, options: dict[str, Any]) -> None:
        if options["group"] is not None:
            group = selectors.group_get_for_user(actor, options["group"])
            members = selectors.group_members(actor, group)
        elif len(options["customers"]) >= 2:
            group = None
            members = [customer_get_for_user(actor, key, Action.CHANGE) for key in options["customers"]]
        else:
            raise CommandError("give --group, or two customer ids or more")
        by_id = {str(member.public_id): member for member in members}
        if options["survivor"]:
            if options["survivor"] not in by_id:
                raise CommandError("--survivor is not one of the customers being merged")
            survivor = by_id[options["survivor"]]
        else:
            survivor = selectors.suggested_survivor(members) if group else members[0]
        picks = {}
        for item in options["pick"]:
            name, _, key = item.partition("=")
            if key not in by_id:
                raise CommandError(f"--pick {item}: {key or '(nothing)'} is not one of the customers being merged")
            picks[name] = by_id[key]
        merge = customers_merge(
            actor=actor,
            survivor=survivor,
            others=[member for member in members if member.pk != survivor.pk],
            rule=options["rule"],
            picks=picks,
            group=group,
        )
        self.stdout.write(
            f"merged {len(members) - 1} into {survivor.public_id}; merge {merge.public_id} "
            f"(undo: kehu dedup undo --as {actor.username} {merge.public_id})"
        )

    def _undo(self, actor: User, options: dict[str, Any]) -> None:
        merge = merge_undo(actor=actor, merge=selectors.merge_get_for_user(actor, options["merge"]))
        self.stdout.write(
            f"undone: {merge.merged.count()} customers are separate from {merge.survivor.public_id} again"
        )
