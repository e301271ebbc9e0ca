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
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("KEHU_BENCH_POSTGRES_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
POSTGRES_URL = os.environ.get("KEHU_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/kehu_bench")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench_key(name: str, make: str) -> str:
    """A key file under var/bench/, made once so that a loaded database can be measured again (--skip-load)."""
    path = ROOT / "var" / "bench" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make, encoding="utf-8")
        path.chmod(0o600)
    return str(path)


def prepare_database(backend: str, *, fresh: bool = True) -> dict[str, str]:
    import base64

    env = dict(os.environ)
    env["KEHU_SECRET_KEY"] = "bench-only-secret-key-0123456789-abcdefghij"
    env["KEHU_VAR_DIR"] = str(ROOT / "var" / "bench")
    env["KEHU_ENCRYPTION_KEYS_FILE"] = bench_key("encryption-keys", f"b1:{base64.urlsafe_b64encode(os.urandom(32)).decode()}")
    env["KEHU_BLIND_INDEX_KEY_FILE"] = bench_key("blind-index-key", base64.urlsafe_b64encode(os.urandom(32)).decode())
    env["KEHU_TWO_FACTOR_ROLES"] = "none"  # the benchmark signs in with API tokens and force_login
    env["KEHU_ALLOWED_HOSTS"] = "testserver"
    env["KEHU_HTTPS"] = "false"  # the test client speaks plain HTTP
    if backend == "sqlite":
        path = ROOT / "var" / "bench" / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm") if fresh else ():
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        env["KEHU_DATABASE_URL"] = f"sqlite:///{path}"
    elif fresh:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute("DROP DATABASE IF EXISTS kehu_bench")
            connection.execute("CREATE DATABASE kehu_bench")
    if backend != "sqlite":
        env["KEHU_DATABASE_URL"] = POSTGRES_URL
    return env


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
    max_id = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def sample_customers(count: int, owner: User | None) -> list[Customer]:
        chosen: list[Customer] = []
        while len(chosen) < count:
            ids = [rng.randint(1, max_id) for _ in range(count * 3)]
            queryset = Customer.objects.filter(id__in=ids).prefetch_related("contact_points")
            if owner is not None:
                queryset = queryset.filter(owner=owner)
            chosen += list(queryset)
        return chosen[:count]

    def query_mix(count: int) -> list[str]:
        queries: list[str] = []
        from kehu.core.chinese import pinyin_initials, pinyin_readings

        for customer in sample_customers(count, None):
            kind = len(queries) % 5
            phone = next((p.value for p in customer.contact_points.all() if p.kind in ("mobile", "phone")), "")
            email = next((p.value for p in customer.contact_points.all() if p.kind == "email"), "")
            name = customer.display_name
            chinese = any("\u4e00" <= char <= "\u9fff" for char in name)
            if kind == 0:
                queries.append(name)
            elif kind == 1:
                queries.append(pinyin_readings(name)[0] if chinese else name.lower())
            elif kind == 2:
                queries.append(pinyin_initials(name)[0] if chinese else name.split()[0].lower())
            elif kind == 3 and phone:
                queries.append(phone[-4:])
            elif email:
                queries.append(email.split("@")[0][:6])
            else:
                queries.append(name)
        return queries

    client = Client()
    runs: dict[str, list[dict[str, float]]] = {"search_rep": [], "search_admin": [], "detail_rep": []}
    for _ in range(args.runs):
        queries = query_mix(args.requests)
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
        for customer in sample_customers(args.requests, rep):
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="demo generation processes")
    parser.add_argument("--skip-load", action="store_true", help="measure the database already loaded")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    results = []
    for backend in args.backends.split(","):
        env = prepare_database(backend, fresh=not args.skip_load)
        command = [sys.executable, __file__, "--child", *sys.argv[1:]]
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if completed.returncode != 0:
            print(completed.stdout, completed.stderr, file=sys.stderr)
            raise SystemExit(f"benchmark on {backend} failed")
        line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
        results.append(json.loads(line.removeprefix("RESULT ")))
    machine = f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out_dir / f"foundation-{stamp}.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print(f"machine: {machine}")
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
