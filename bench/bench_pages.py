"""Benchmark of the pages: server time and query count of the customer list and the customer 360 page.

    python bench/bench_pages.py --customers 1000000 --backends sqlite,postgresql --runs 5 --skip-load

Uses the database that bench_foundation.py loaded (--skip-load), or loads the demo data itself. It adds one
customer of the sales rep `wangfang` with 200 orders and 300 interactions (once; found again by its external
id), then times, in process through Django's test client with a signed-in session (server time: middleware,
session, scope, queries, masking, template rendering; no network):

- the list as the rep and as the admin, filtered and searched (`?q=…&stage=…` and other filters with a search),
  filtered only, and unfiltered; the query mix is the foundation benchmark's (name, pinyin, initials, phone
  digits, email start);
- the 360 page of the heavy customer, and of random customers of the rep.

Each page's SQL queries are counted on every request; the report gives their minimum and maximum, which are
equal when the count does not grow with the rows shown. Figures are the median over runs of each run's p50
and p95; results go to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import time
from typing import Any

from common import arguments, bench_main, percentile, query_mix, runs_summary, sample_customers

HEAVY_EXTERNAL_ID = "bench-360-heavy"
HEAVY_ORDERS = 200
HEAVY_INTERACTIONS = 300


def heavy_customer_ensure(rep: Any, rng: random.Random) -> Any:
    """The rep's customer with 200 orders (1–4 lines each) and 300 interactions over three years."""
    from django.utils import timezone

    from kehu.commerce.models import Product
    from kehu.commerce.services import OrderLineInput, order_create
    from kehu.customers.models import Customer
    from kehu.customers.services import AddressInput, ContactPointInput, customer_create
    from kehu.interactions.models import InteractionKind
    from kehu.interactions.services import interaction_log

    existing = Customer.objects.filter(source_system="bench", external_id=HEAVY_EXTERNAL_ID).first()
    if existing is not None:
        return existing
    customer = customer_create(
        actor=rep,
        values={
            "display_name": "张大客户",
            "family_name": "张",
            "given_name": "大客户",
            "company_name": "杭州星耀电子科技有限公司",
            "lifecycle_stage": "customer",
            "source_channel": "referral",
            "source_system": "bench",
            "external_id": HEAVY_EXTERNAL_ID,
        },
        contact_points=[
            ContactPointInput(kind="mobile", value="13900001234"),
            ContactPointInput(kind="email", value="bench.heavy@example.com"),
        ],
        addresses=[AddressInput(raw="浙江省杭州市西湖区文三路90号 310012")],
        tags=["VIP", "大客户"],
    )
    products = list(Product.objects.filter(active=True).order_by("id")[:60])
    now = timezone.now()
    for index in range(HEAVY_ORDERS):
        lines = [
            OrderLineInput(product=product, quantity=rng.randint(1, 5))
            for product in rng.sample(products, rng.randint(1, 4))
        ]
        placed = now - dt.timedelta(days=3 * 365 * (HEAVY_ORDERS - index) / HEAVY_ORDERS, hours=rng.randint(0, 23))
        order_create(actor=rep, customer=customer, lines=lines, channel="store", placed_at=placed)
    kinds = [InteractionKind.CALL, InteractionKind.VISIT, InteractionKind.NOTE, InteractionKind.EMAIL]
    for index in range(HEAVY_INTERACTIONS):
        occurred = now - dt.timedelta(days=3 * 365 * (HEAVY_INTERACTIONS - index) / HEAVY_INTERACTIONS)
        interaction_log(
            actor=rep,
            customer=customer,
            kind=rng.choice(kinds),
            subject=f"第 {index + 1} 次跟进",
            body="客户询问新款报价与交期，约定下周回访。" * rng.randint(1, 4),
            occurred_at=occurred,
            satisfaction=rng.randint(3, 5),
        )
    return customer


def list_urls(rng: random.Random, queries: list[str], provinces: list[str], *, searched: bool) -> list[str]:
    """List URLs as people build them: a filter (stage; province; stage + source; a created range; a tag),
    with the search box filled in when `searched`, else sorted by name now and then."""
    from urllib.parse import urlencode

    from kehu.customers.models import LifecycleStage, SourceChannel

    urls = []
    for index, query in enumerate(queries):
        shape = index % 5
        params: dict[str, str] = {}
        if shape == 0:
            params["stage"] = rng.choice(LifecycleStage.values)
        elif shape == 1:
            params["province"] = rng.choice(provinces)
        elif shape == 2:
            params["stage"] = rng.choice(LifecycleStage.values)
            params["source"] = rng.choice(SourceChannel.values)
        elif shape == 3:
            start = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 900))
            params["created_from"] = start.isoformat()
            params["created_to"] = (start + dt.timedelta(days=rng.randint(7, 120))).isoformat()
        else:
            params["tag"] = "VIP"
        if searched:
            params["q"] = query
        elif index % 2:
            params["sort"] = "display_name"
        urls.append(f"/customers/?{urlencode(params)}")
    return urls


def child(args: argparse.Namespace) -> None:
    """Runs inside the configured backend: load if needed, then measure; prints one JSON line."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kehu.accounts.models import User
    from kehu.commerce.models import Order
    from kehu.customers.models import Address, Customer
    from kehu.interactions.models import Interaction

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # pages link hashed files, as in production
    if not args.skip_load:
        from kehu.demo.generate import demo_load

        demo_load(customers=args.customers, seed=args.seed, batch_size=10_000, workers=os.cpu_count() or 1)
    rng = random.Random(args.seed)
    rep = User.objects.get(username="wangfang")
    admin = User.objects.get(username="admin")
    with transaction.atomic():
        heavy = heavy_customer_ensure(rep, rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    provinces = sorted(set(Address.objects.values_list("province", flat=True)[:5000]) - {""})

    clients = {}
    for user in (rep, admin):
        clients[user.username] = Client()
        clients[user.username].force_login(user)

    def measure(username: str, urls: list[str]) -> dict[str, Any]:
        client = clients[username]
        samples, counts = [], []
        for url in urls:
            reset_queries()  # the log keeps 9,000 queries; past that, CaptureQueriesContext counts nothing
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            counts.append(len(queries))
        return {"p50": percentile(samples, 0.5), "p95": percentile(samples, 0.95), "queries": counts}

    measures: dict[str, list[dict[str, Any]]] = {}

    def record(label: str, result: dict[str, Any]) -> None:
        measures.setdefault(label, []).append(result)

    heavy_url = f"/customers/{heavy.public_id}/"
    for user in (rep, admin):  # warm up caches, templates and connections
        for url in ("/customers/", heavy_url, "/customers/?q=zhang"):
            clients[user.username].get(url)
    for _run in range(args.runs):
        queries = query_mix(rng, args.requests)
        searched = list_urls(rng, queries, provinces, searched=True)
        record("list_searched_rep", measure("wangfang", searched))
        record("list_searched_admin", measure("admin", searched))
        record("list_filtered_rep", measure("wangfang", list_urls(rng, queries, provinces, searched=False)))
        record("list_plain_rep", measure("wangfang", ["/customers/"] * args.requests))
        record("detail_heavy_rep", measure("wangfang", [heavy_url] * args.requests))
        record(
            "detail_random_rep",
            measure("wangfang", [f"/customers/{c.public_id}/" for c in sample_customers(rng, args.requests, rep)]),
        )

    summary: dict[str, Any] = {
        "backend": connection.vendor,
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "interactions": Interaction.objects.count(),
        "heavy_orders": Order.objects.filter(customer=heavy).count(),
        "heavy_interactions": Interaction.objects.filter(customer=heavy).count(),
        "runs": args.runs,
        "requests_per_run": args.requests,
    }
    for label, values in measures.items():
        summary[label] = runs_summary(values)
    print("RESULT " + json.dumps(summary))


def _page_rows(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = []
    for label, value in result.items():
        if isinstance(value, dict):
            queries = value["queries_min"]
            if value["queries_max"] != queries:
                queries = f"{queries}–{value['queries_max']}"
            rows.append((label, result["backend"], f"{value['p50_ms']} / {value['p95_ms']}", queries))
    return rows


def main() -> None:
    bench_main(
        __file__,
        arguments(__doc__),
        child,
        "pages",
        ("page (server time)", "backend", "p50 / p95 ms", "queries per page"),
        _page_rows,
    )


if __name__ == "__main__":
    main()
