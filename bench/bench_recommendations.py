"""Recommendations against popularity on a time holdout (`kehu.analytics.crosssell.evaluate`).

    python bench/bench_recommendations.py --customers 20000 --backends sqlite

Loads the demo base (N customers, `--seed`) into a database of its own (`recommend`; `--skip-load` reuses it),
then, as the analytics run does, fits item-to-item recommendations, the learnt ranking (on the six 90-day
horizons before) and popularity alone on the order lines up to 90 days before the demo's end and scores them
on what each customer bought new in those 90 days: recall@10 (share of the new products that were on the list
of ten), hit rate, and their ratios to popularity. Also times the fits and the lists for every customer, and the
FP-growth rules by product and by category.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time

from common import arguments, bench_main


def child(args: argparse.Namespace) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    django.setup()
    import numpy as np
    from django.core.management import call_command
    from django.db import connection

    from kehu.analytics.crosssell import (
        ITEM_TO_ITEM,
        LEARNT,
        POPULARITY,
        ItemToItem,
        LearntRanking,
        association_rules,
        evaluate,
    )
    from kehu.analytics.services import _order_lines
    from kehu.demo.generate import DEMO_END, demo_load

    if not args.skip_load:
        call_command("migrate", verbosity=0)
        demo_load(customers=args.customers, seed=args.seed)
    lines = _order_lines(DEMO_END)
    assert lines is not None
    last_day = (DEMO_END - dt.timedelta(microseconds=1)).date()
    started = time.perf_counter()
    found = evaluate(lines, last_day - dt.timedelta(days=90), 90, 10)
    evaluate_seconds = time.perf_counter() - started
    assert found is not None
    started = time.perf_counter()
    customers = np.unique(lines.customers)
    ItemToItem(lines.customers, lines.products).recommend(customers, 10)
    recommend_seconds = time.perf_counter() - started
    started = time.perf_counter()
    learnt = LearntRanking.fit(lines, last_day, 90)
    assert learnt is not None
    learnt_fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    learnt.recommend(customers, 10)
    learnt_seconds = time.perf_counter() - started
    started = time.perf_counter()
    by_product = association_rules(lines.orders, lines.products.astype(np.str_))
    by_category = association_rules(lines.orders, lines.categories)
    rules_seconds = time.perf_counter() - started
    summary = {
        "backend": connection.vendor,
        "customers": args.customers,
        "lines": len(lines.orders),
        "evaluated": found.customers,
        "recall": {name: round(value, 4) for name, value in found.recall.items()},
        "hit_rate": {name: round(value, 4) for name, value in found.hit_rate.items()},
        "ratio": round(found.recall[ITEM_TO_ITEM] / found.recall[POPULARITY], 3),
        "learnt_ratio": round(found.recall[LEARNT] / found.recall[POPULARITY], 3),
        "chosen": found.chosen,
        "learnt_fit_seconds": round(learnt_fit_seconds, 2),
        "learnt_recommend_all_seconds": round(learnt_seconds, 2),
        "evaluate_seconds": round(evaluate_seconds, 2),
        "recommend_all_seconds": round(recommend_seconds, 2),
        "rules": {"product": len(by_product), "category": len(by_category)},
        "rules_seconds": round(rules_seconds, 2),
    }
    print("RESULT " + json.dumps(summary))


def main() -> None:
    bench_main(
        __file__,
        arguments(__doc__),
        child,
        "recommendations",
        ("database", "customers", "order lines", "evaluated", "recall@10 item-to-item", "recall@10 learnt",
         "recall@10 popularity", "item-to-item / popularity", "learnt / popularity", "chosen"),
        lambda r: [
            (r["backend"], f"{r['customers']:,}", f"{r['lines']:,}", f"{r['evaluated']:,}",
             r["recall"]["item-to-item"], r["recall"]["learnt"], r["recall"]["popularity"], f"{r['ratio']}×",
             f"{r['learnt_ratio']}×", r["chosen"])
        ],
        database="recommend",
    )  # fmt: skip


if __name__ == "__main__":
    main()
