"""The duplicate check while a customer is entered (kehu.dedup.check), at scale.

    python bench/bench_dedup_check.py --customers 1000000 --backends sqlite,postgresql --runs 5 --requests 200
    python bench/bench_dedup_check.py --customers 1000000 --skip-load      # reuse the loaded database

Loads the demo data (or reuses it), then times `likely_duplicates` as the new-customer form and POST
/dedup/check call it, for a sales rep (own customers) and the administrator (all), on what people enter in
equal parts: an existing customer's mobile written another way (a key hit), their name in pinyin with their
city (a same-sounding name with another sign), their name with a company nobody has (the name alone: nothing
is shown), and a new person (nothing found). Reports p50 and p95 per kind (median of the runs' values) and the
queries per check.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from typing import Any

from common import arguments, bench_main, percentile, runs_summary, sample_customers

KINDS = ("mobile", "pinyin_and_city", "name_only", "new_person")


def entered_for(kind: str, customer: Any, rng: random.Random) -> Any:
    from kehu.core.chinese import pinyin_readings
    from kehu.dedup.check import Entered

    points = list(customer.contact_points.all())
    mobile = next((p.value for p in points if p.kind == "mobile"), "+8613800000000")
    place = next(iter(customer.addresses.all()), None)
    if kind == "mobile":
        national = mobile.removeprefix("+86")
        return Entered(
            name=customer.display_name, contacts=[("mobile", f"{national[:3]}-{national[3:7]}-{national[7:]}")]
        )
    if kind == "pinyin_and_city":
        return Entered(name=pinyin_readings(customer.display_name)[0], city=place.city if place else "")
    if kind == "name_only":
        return Entered(name=customer.display_name, company="从未出现过的公司")
    return Entered(name=f"测试{rng.randint(1000, 9999)}", contacts=[("mobile", f"199{rng.randint(0, 99_999_999):08d}")])


def child(args: argparse.Namespace) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from kehu.accounts.models import User
    from kehu.customers.models import Customer
    from kehu.dedup.check import likely_duplicates

    call_command("migrate", verbosity=0)
    if not args.skip_load:
        from kehu.demo.generate import demo_load

        demo_load(customers=args.customers, seed=args.seed, batch_size=10_000, workers=os.cpu_count() or 1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    rng = random.Random(args.seed)
    users = {"rep": User.objects.get(username="wangfang"), "admin": User.objects.get(username="admin")}
    measures: dict[str, list[dict[str, Any]]] = {}
    found_share: dict[str, list[float]] = {}
    for _run in range(args.runs + 1):  # the first run warms caches and is not counted
        for role, user in users.items():
            people = sample_customers(rng, args.requests, user if role == "rep" else None)
            for kind in KINDS:
                samples, counts, hits = [], [], 0
                for customer in people:
                    entered = entered_for(kind, customer, rng)
                    reset_queries()
                    with CaptureQueriesContext(connection) as queries:
                        started = time.perf_counter()
                        found = likely_duplicates(user, entered)
                        samples.append((time.perf_counter() - started) * 1000)
                    counts.append(len(queries))
                    hits += any(candidate.customer.pk == customer.pk for candidate in found)
                if _run:
                    label = f"{kind}_{role}"
                    measures.setdefault(label, []).append(
                        {"p50": percentile(samples, 0.5), "p95": percentile(samples, 0.95), "queries": counts}
                    )
                    found_share.setdefault(label, []).append(hits / len(people))
    summary: dict[str, Any] = {
        "backend": connection.vendor,
        "customers": Customer.objects.count(),
        "runs": args.runs,
        "checks_per_run": args.requests,
    }
    for label, values in measures.items():
        summary[label] = {
            **runs_summary(values),
            "found_the_customer": round(statistics.median(found_share[label]), 3),
        }
    print("RESULT " + json.dumps(summary, ensure_ascii=False), flush=True)


def main() -> None:
    bench_main(
        __file__,
        arguments(__doc__),
        child,
        "dedup-check",
        ("backend", "customers", "check", "p50 ms", "p95 ms", "queries", "found the customer"),
        lambda r: [
            (r["backend"], f"{r['customers']:,}", label, r[label]["p50_ms"], r[label]["p95_ms"],
             r[label]["queries_max"], f"{r[label]['found_the_customer']:.0%}")
            for label in (f"{kind}_{role}" for role in ("rep", "admin") for kind in KINDS)
        ],
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
