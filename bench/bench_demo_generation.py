"""Where demo loading spends its time: generating rows in Python versus writing them to the database.

    python bench/bench_demo_generation.py --customers 50000

Generates the rows of --customers demo customers in one process without a database (users and products
are unsaved model instances), then reports customers/s and rows/s of generation alone, median of --runs.
Compare with the load rate in docs/benchmarks.md to see how much of the load is generation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
os.environ.setdefault("KEHU_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghij")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from kehu.accounts.models import Team, User
    from kehu.commerce.models import Product
    from kehu.demo import data
    from kehu.demo.generate import DEMO_END, _BatchGenerator, _Writer

    east, south = Team(pk=1, name="east"), Team(pk=2, name="south")
    users = {
        name: User(pk=index + 1, username=name, team=team)
        for index, (name, team) in enumerate([("wangfang", east), ("liqiang", east), ("chenjing", south)])
    }
    catalogue = [(category, base, name) for category, base, names in data.CATALOGUE for name in names]
    products = [
        Product(pk=index + 1, sku=f"P{index}", name=name, category=category, price=Decimal(str(base)))
        for index, (category, base, name) in enumerate(catalogue)
    ]
    tags = {
        name: index + 1
        for index, name in enumerate(["VIP", "重点客户", "老客户", "价格敏感", "企业采购", "潜在大客户", "Newsletter"])
    }
    rates = []
    rows_per_customer = 0.0
    for run in range(args.runs):
        generator = _BatchGenerator(
            seed=run + 1,
            batch=0,
            users=users,
            products=products,
            tags=tags,
            end=DEMO_END.astimezone(dt.UTC),
            writer=_Writer(),
        )
        started = time.perf_counter()
        rows = generator.build(1, args.customers)
        seconds = time.perf_counter() - started
        rates.append(args.customers / seconds)
        rows_per_customer = sum(len(r) for r in rows.values()) / args.customers
    rate = statistics.median(rates)
    print(
        f"generation only: {rate:,.0f} customers/s ({rate * rows_per_customer:,.0f} rows/s, "
        f"{rows_per_customer:.1f} rows per customer), median of {args.runs} runs of {args.customers:,}"
    )


if __name__ == "__main__":
    main()
