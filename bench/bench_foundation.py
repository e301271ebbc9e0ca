"""Benchmark of the foundation: demo generation + load rate, search and customer-detail server time.

    python bench/bench_foundation.py --customers 1000000 --backends sqlite,postgresql --runs 5

For each backend it loads the demo data into a fresh database (SQLite file under var/bench/, PostgreSQL
database `kehu_bench`), then times, in process through Django's test client (server time: routing,
auth, scope, query, serialisation; no network), the search API and the customer-detail API. Each run
issues --requests requests per kind with a fresh query mix; the figures reported are the median over runs
of each run's p50 and p95. Results are printed as Markdown rows and written to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time

from common import arguments, percentile, query_mix, run_backends, sample_customers


def child(args: argparse.Namespace) -> None:
    """Runs inside the configured backend: load, then measure; prints one JSON line."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from kehu.accounts.models import User
    from kehu.customers.models import ContactPoint, Customer
    from kehu.demo.generate import demo_load

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    if args.skip_load:
        from kehu.commerce.models import Order, OrderLine
        from kehu.demo.generate import DemoResult
        from kehu.interactions.models import Interaction

        result = DemoResult(0, Order.objects.count(), OrderLine.objects.count(), Interaction.objects.count())
    else:
        result = demo_load(customers=args.customers, seed=args.seed, batch_size=args.batch_size, workers=args.workers)
    load_seconds = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            cursor.execute("INSERT INTO customers_search(customers_search) VALUES ('optimize')")

    rep = User.objects.get(username="wangfang")
    admin = User.objects.get(username="admin")
    from django.db import transaction

    from kehu.accounts.services import api_token_create

    tokens = {}
    for user in (rep, admin):
        with transaction.atomic():
            tokens[user.username] = api_token_create(actor=user, name="bench").secret

    rng = random.Random(args.seed)

    client = Client()
    runs: dict[str, list[dict[str, float]]] = {"search_rep": [], "search_admin": [], "detail_rep": []}
    for _ in range(args.runs):
        queries = query_mix(rng, args.requests)
        for label, username in (("search_rep", "wangfang"), ("search_admin", "admin")):
            samples = []
            header = {"HTTP_AUTHORIZATION": f"Bearer {tokens[username]}"}
            for query in queries:
                t0 = time.perf_counter()
                response = client.get("/api/v1/search", {"q": query}, **header)
                samples.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.content
            runs[label].append({"p50": percentile(samples, 0.5), "p95": percentile(samples, 0.95)})
        samples = []
        header = {"HTTP_AUTHORIZATION": f"Bearer {tokens['wangfang']}"}
        for customer in sample_customers(rng, args.requests, rep):
            t0 = time.perf_counter()
            response = client.get(f"/api/v1/customers/{customer.public_id}", **header)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.content
        runs["detail_rep"].append({"p50": percentile(samples, 0.5), "p95": percentile(samples, 0.95)})

    summary = {
        "backend": connection.vendor,
        "customers": Customer.objects.count(),
        "contact_points": ContactPoint.objects.count(),
        "orders": result.orders,
        "order_lines": result.order_lines,
        "interactions": result.interactions,
        "load_seconds": round(load_seconds, 1),
        "workers": args.workers,
        "customers_per_second": round(result.customers / load_seconds) if result.customers else None,
        "runs": args.runs,
        "requests_per_run": args.requests,
    }
    for label, values in runs.items():
        summary[f"{label}_p50_ms"] = round(statistics.median(v["p50"] for v in values), 2)
        summary[f"{label}_p95_ms"] = round(statistics.median(v["p95"] for v in values), 2)
    print("RESULT " + json.dumps(summary))


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="demo generation processes")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    _machine, results = run_backends(__file__, "foundation", args)
    print(
        "| backend | customers | orders | load customers/s | search p50/p95 (rep) ms | search p50/p95 (admin) ms "
        "| detail p50/p95 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['customers']:,} | {r['orders']:,} | {r['customers_per_second'] or '—'} "
            f"| {r['search_rep_p50_ms']} / {r['search_rep_p95_ms']} | {r['search_admin_p50_ms']} / "
            f"{r['search_admin_p95_ms']} | {r['detail_rep_p50_ms']} / {r['detail_rep_p95_ms']} |"
        )


if __name__ == "__main__":
    main()
