"""Features, RFM and segments for a whole base, end to end from the database, against pandas doing the same.

    python bench/bench_features.py --customers 1000000 --lines 10000000 --backends sqlite,postgresql --runs 3

Loads, once per backend into a database of its own (`features`; `--skip-load` reuses it), a synthetic shop:
N customers, orders drawn per customer (1 + geometric), order lines to the number asked (the demo's
catalogue, popular products more often), 1% of lines refunded, one contact per customer on average (30% rated).
Then, each run:

- **kehu**: `kehu.analytics.features.compute` — the columns read into Arrow (ADBC) and the Ibis expression run
  in DuckDB; on PostgreSQL also the same expression run inside the database (`postgres` backend) — then RFM
  quintile scores, the named segments and the eight classes (`kehu.analytics.rfm`);
- **pandas**: the same columns by `pandas.read_sql` on the same connection, the same features by `groupby`, then
  the same RFM step. The two answers are compared (orders, revenue, recency, categories per customer) before
  any time is reported.

Reports the median seconds of each over the runs, and their ratio. Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
import uuid
from typing import Any

import numpy as np

from common import arguments, bench_main, bulk_insert, row_template

AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
YEARS = 3
CHUNK = 200_000  # customers per load batch


def _stamp(seconds: np.ndarray, postgres: bool) -> list[Any]:
    """Seconds since the epoch as the database stores them (SQLite: Django's UTC text)."""
    moments = (seconds * 1e6).astype("datetime64[us]")
    if postgres:
        return [m.replace(tzinfo=dt.UTC) for m in moments.astype(dt.datetime)]
    return np.char.replace(np.datetime_as_string(moments, unit="us"), "T", " ").tolist()


def load(customers: int, lines: int, seed: int) -> dict[str, int]:
    """The synthetic shop, written in final form by the fastest bulk path."""
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.commerce.models import Order, OrderLine, OrderReturn
    from kehu.customers.models import Customer
    from kehu.demo.generate import products_ensure
    from kehu.interactions.models import Interaction

    postgres = connection.vendor == "postgresql"
    rng = np.random.default_rng(seed)
    products = products_ensure(seed)
    product_ids = np.array([p.pk for p in products])
    prices = np.array([float(p.price) for p in products])
    popularity = rng.pareto(1.2, len(products)) + 0.1
    popularity /= popularity.sum()
    now: Any = timezone.now()
    if not postgres:
        now = now.replace(tzinfo=None).isoformat(" ")
    lines_per_order = lines / customers / 3.3  # orders per customer average ≈ 3.3
    end = AS_OF.timestamp()
    start = end - YEARS * 365 * 86_400
    counts = {"customers": 0, "orders": 0, "lines": 0, "returns": 0, "interactions": 0}
    columns_c, template_c = row_template(Customer, {"created_at": now, "updated_at": now})
    columns_o, template_o = row_template(
        Order, {"currency": "CNY", "discount": 0, "created_at": now, "updated_at": now}
    )
    columns_l, template_l = row_template(OrderLine, {})
    columns_r, template_r = row_template(OrderReturn, {"created_at": now, "updated_at": now, "quantity": 1})
    columns_i, template_i = row_template(Interaction, {"created_at": now, "updated_at": now, "direction": "outbound"})
    slot = {name: columns.index for name, columns in
            (("c", columns_c), ("o", columns_o), ("l", columns_l), ("r", columns_r), ("i", columns_i))}  # fmt: skip
    channels = np.array(["ecommerce", "store", "app", "phone", "sales"])  # kehu's own (OrderChannel)
    kinds = np.array(["call", "email", "chat", "visit", "feedback"])
    for first in range(1, customers + 1, CHUNK):
        ids = np.arange(first, min(first + CHUNK, customers + 1))
        rows_c = []
        for customer in ids.tolist():
            row = list(template_c)
            row[slot["c"]("id")] = customer
            row[slot["c"]("public_id")] = str(uuid.uuid4()) if postgres else uuid.uuid4().hex
            row[slot["c"]("display_name")] = f"客户{customer}"
            rows_c.append(row)
        per_customer = 1 + rng.geometric(1 / 3.3, len(ids)) - 1
        order_customer = np.repeat(ids, per_customer)
        n_orders = len(order_customer)
        order_ids = np.arange(counts["orders"] + 1, counts["orders"] + n_orders + 1)
        placed = rng.uniform(start, end, n_orders)
        per_order = 1 + rng.poisson(max(lines_per_order - 1, 0), n_orders)
        line_order = np.repeat(order_ids, per_order)
        n_lines = len(line_order)
        line_ids = np.arange(counts["lines"] + 1, counts["lines"] + n_lines + 1)
        chosen = rng.choice(len(products), n_lines, p=popularity)
        quantity = 1 + rng.poisson(0.3, n_lines)
        line_total = np.round(prices[chosen] * quantity, 2)
        order_total = np.bincount(np.searchsorted(order_ids, line_order), weights=line_total, minlength=n_orders)
        status = np.where(rng.random(n_orders) < 0.03, "cancelled", "completed")
        paid = np.where(rng.random(n_orders) < 0.05, "overdue", "paid")
        channel = channels[rng.integers(0, len(channels), n_orders)]
        stamps = _stamp(placed, postgres)
        rows_o = []
        for i, order in enumerate(order_ids.tolist()):
            row = list(template_o)
            row[slot["o"]("id")] = order
            row[slot["o"]("public_id")] = str(uuid.uuid4()) if postgres else uuid.uuid4().hex
            row[slot["o"]("customer_id")] = int(order_customer[i])
            row[slot["o"]("number")] = f"B{order}"
            row[slot["o"]("channel")] = channel[i]
            row[slot["o"]("status")] = status[i]
            row[slot["o"]("placed_at")] = stamps[i]
            row[slot["o"]("subtotal")] = row[slot["o"]("total")] = round(float(order_total[i]), 2)
            row[slot["o"]("payment_status")] = paid[i]
            rows_o.append(row)
        rows_l = []
        for i, line in enumerate(line_ids.tolist()):
            row = list(template_l)
            row[slot["l"]("id")] = line
            row[slot["l"]("order_id")] = int(line_order[i])
            row[slot["l"]("product_id")] = int(product_ids[chosen[i]])
            row[slot["l"]("quantity")] = int(quantity[i])
            row[slot["l"]("unit_price")] = float(prices[chosen[i]])
            row[slot["l"]("line_total")] = float(line_total[i])
            rows_l.append(row)
        refunded = np.flatnonzero(rng.random(n_lines) < 0.01)
        placed_of_line = placed[np.searchsorted(order_ids, line_order[refunded])]
        returned = _stamp(placed_of_line + 10 * 86_400, postgres)
        rows_r = []
        for j, i in enumerate(refunded.tolist()):
            row = list(template_r)
            row[slot["r"]("id")] = counts["returns"] + j + 1
            row[slot["r"]("order_id")] = int(line_order[i])
            row[slot["r"]("line_id")] = int(line_ids[i])
            row[slot["r"]("amount")] = float(prices[chosen[i]])
            row[slot["r"]("returned_at")] = returned[j]
            rows_r.append(row)
        contact_customer = rng.choice(ids, len(ids))
        contact_when = _stamp(rng.uniform(start, end, len(ids)), postgres)
        rated = rng.random(len(ids)) < 0.3
        score = rng.integers(1, 6, len(ids))
        kind = kinds[rng.integers(0, len(kinds), len(ids))]
        rows_i = []
        for j in range(len(ids)):
            row = list(template_i)
            row[slot["i"]("id")] = counts["interactions"] + j + 1
            row[slot["i"]("public_id")] = str(uuid.uuid4()) if postgres else uuid.uuid4().hex
            row[slot["i"]("customer_id")] = int(contact_customer[j])
            row[slot["i"]("kind")] = kind[j]
            row[slot["i"]("occurred_at")] = contact_when[j]
            row[slot["i"]("satisfaction")] = int(score[j]) if rated[j] else None
            rows_i.append(row)
        with transaction.atomic():
            for table, columns, rows in (
                ("customers_customer", columns_c, rows_c),
                ("commerce_order", columns_o, rows_o),
                ("commerce_orderline", columns_l, rows_l),
                ("commerce_orderreturn", columns_r, rows_r),
                ("interactions_interaction", columns_i, rows_i),
            ):
                bulk_insert(connection, table, columns, rows)
        counts["customers"] += len(ids)
        counts["orders"] += n_orders
        counts["lines"] += n_lines
        counts["returns"] += len(refunded)
        counts["interactions"] += len(ids)
        print(f"loaded {counts}", flush=True)
    if postgres:
        with connection.cursor() as cursor:
            for table, key in (("customers_customer", "customers"), ("commerce_order", "orders"),
                               ("commerce_orderline", "lines"), ("commerce_orderreturn", "returns"),
                               ("interactions_interaction", "interactions")):  # fmt: skip
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {counts[key] + 1})")
            cursor.execute("ANALYZE")
    return counts


def segments(features: dict[str, np.ndarray]) -> dict[str, Any]:
    """RFM scores, named segments and classes of the customers who bought (the same step for both paths)."""
    from kehu.analytics.rfm import rfm

    buyers = features["orders"] > 0
    scores = rfm(features["recency_days"][buyers], features["orders"][buyers].astype(float),
                 features["revenue"][buyers])  # fmt: skip
    return {"buyers": int(buyers.sum()), "segments": len(set(scores.segment)), "classes": len(set(scores.china_class))}


def with_kehu(backend: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    from kehu.analytics.features import compute

    table = compute(as_of=AS_OF, backend=backend)
    columns = {name: table.column(name).to_numpy(zero_copy_only=False) for name in
               ("customer_id", "orders", "revenue", "recency_days", "categories")}  # fmt: skip
    columns["orders"] = columns["orders"].astype(np.int64)
    return columns, segments(columns)


def with_pandas() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The same features by read_sql + groupby, as an analyst's notebook would compute them."""
    import warnings

    import pandas as pd
    from django.db import connection

    now = pd.Timestamp(AS_OF)
    connection.ensure_connection()
    raw = connection.connection

    def read(sql: str, dates: list[str] | None = None) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pandas prefers SQLAlchemy; a DBAPI connection works
            frame = pd.read_sql(sql, raw)
        for column in dates or []:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return frame

    customers = read("SELECT id AS customer_id FROM customers_customer WHERE merged_into_id IS NULL "
                     "AND erased_at IS NULL")  # fmt: skip
    # the rows kehu's read leaves to the database (cancelled orders; overdue as a flag) are left to it here too
    orders = read("SELECT id, customer_id, channel, CASE WHEN payment_status = 'overdue' THEN 1 ELSE 0 END AS overdue, "
                  "placed_at, CAST(total AS DOUBLE PRECISION) AS total FROM commerce_order "
                  "WHERE status <> 'cancelled'", ["placed_at"])  # fmt: skip
    lines = read("SELECT order_id, product_id, CAST(line_total AS DOUBLE PRECISION) AS line_total "
                 "FROM commerce_orderline")  # fmt: skip
    products = read("SELECT id AS product_id, category FROM commerce_product")
    returns = read("SELECT order_id, CAST(amount AS DOUBLE PRECISION) AS amount, returned_at "
                   "FROM commerce_orderreturn", ["returned_at"])  # fmt: skip
    contacts = read("SELECT customer_id, occurred_at, CAST(satisfaction AS DOUBLE PRECISION) AS satisfaction "
                    "FROM interactions_interaction", ["occurred_at"])  # fmt: skip
    orders = orders[orders.placed_at < now]
    day = pd.Timedelta(days=1)
    per = orders.groupby("customer_id").agg(
        orders=("id", "size"), revenue=("total", "sum"), first=("placed_at", "min"), last=("placed_at", "max"),
        overdue=("overdue", "sum"),
    )  # fmt: skip
    bought = lines.merge(orders[["id", "customer_id"]], left_on="order_id", right_on="id").merge(products)
    by_category = bought[bought.category != ""].groupby(["customer_id", "category"]).line_total.sum().reset_index()
    categories = by_category.groupby("customer_id").agg(categories=("category", "size"))
    top_category = by_category.sort_values(["customer_id", "line_total", "category"], ascending=[True, False, True])
    top_category = top_category.drop_duplicates("customer_id").set_index("customer_id").category.rename("top_category")
    by_channel = orders.groupby(["customer_id", "channel"]).size().rename("n").reset_index()
    top_channel = by_channel.sort_values(["customer_id", "n", "channel"], ascending=[True, False, True])
    top_channel = top_channel.drop_duplicates("customer_id").set_index("customer_id")
    refunded = (
        returns[returns.returned_at < now].merge(orders[["id", "customer_id"]], left_on="order_id", right_on="id")
        .groupby("customer_id").amount.sum().rename("refunded")
    )  # fmt: skip
    contacts = contacts[contacts.occurred_at < now]
    contacted = contacts.assign(recent=contacts.occurred_at >= now - 90 * day).groupby("customer_id").agg(
        contacts=("occurred_at", "size"), contacts_90d=("recent", "sum"), last_contact=("occurred_at", "max"),
        satisfaction=("satisfaction", "mean"),
    )  # fmt: skip
    frame = (
        customers.set_index("customer_id").join(per).join(categories).join(top_category)
        .join(top_channel).join(refunded).join(contacted)
    )  # fmt: skip
    frame["orders"] = frame.orders.fillna(0).astype(int)
    frame["revenue"] = frame.revenue.fillna(0.0)
    frame["recency_days"] = (now - frame["last"]) / day
    frame["tenure_days"] = (now - frame["first"]) / day
    frame["average_order_value"] = frame.revenue / frame.orders.where(frame.orders > 0)
    frame["interpurchase_days"] = (frame["last"] - frame["first"]) / day / (frame.orders - 1).where(frame.orders > 1)
    frame["categories"] = frame.categories.fillna(0).astype(int)
    frame["top_channel_share"] = frame.n / frame.orders.where(frame.orders > 0)
    frame["refund_rate"] = frame.refunded.fillna(0) / frame.revenue.where(frame.revenue > 0)
    frame["overdue_rate"] = frame.overdue / frame.orders.where(frame.orders > 0)
    frame["last_contact_days"] = (now - frame.last_contact) / day
    frame = frame.sort_index()
    columns = {
        "customer_id": frame.index.to_numpy(),
        "orders": frame.orders.to_numpy(),
        "revenue": frame.revenue.to_numpy(),
        "recency_days": frame.recency_days.to_numpy(dtype=float),
        "categories": frame.categories.to_numpy(),
    }
    return columns, segments(columns)


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for name in ("customer_id", "orders", "categories"):
        assert np.array_equal(a[name], b[name]), f"{name} differs between kehu and pandas"
    assert np.allclose(a["revenue"], b["revenue"], rtol=1e-9), "revenue differs"
    # whole seconds in kehu (Spark's epoch drops the fraction), microseconds in pandas
    assert np.allclose(a["recency_days"], b["recency_days"], atol=2 / 86_400, equal_nan=True), "recency differs"


def child(args: argparse.Namespace) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    counts = None
    if not args.skip_load:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        counts = load(args.customers, args.lines, args.seed)
        print(f"load: {time.perf_counter() - started:.0f} s", flush=True)
    backends = ["duckdb", "postgres"] if connection.vendor == "postgresql" else ["duckdb"]
    timings: dict[str, list[float]] = {name: [] for name in [*backends, "pandas"]}
    answers = {}
    for _run in range(args.runs):
        for backend in backends:
            started = time.perf_counter()
            answers[backend] = with_kehu(backend)
            timings[backend].append(time.perf_counter() - started)
            print(f"{backend}: {timings[backend][-1]:.1f} s", flush=True)
        started = time.perf_counter()
        answers["pandas"] = with_pandas()
        timings["pandas"].append(time.perf_counter() - started)
        print(f"pandas: {timings['pandas'][-1]:.1f} s", flush=True)
        for backend in backends:
            _same(answers[backend][0], answers["pandas"][0])
            assert answers[backend][1] == answers["pandas"][1], "segments differ"
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM commerce_orderline")
        lines = cursor.fetchone()[0]
    medians = {name: round(statistics.median(values), 2) for name, values in timings.items()}
    summary = {
        "backend": connection.vendor,
        "customers": len(answers["pandas"][0]["customer_id"]),
        "lines": lines,
        "runs": args.runs,
        "seconds": medians,
        "speedup": {name: round(medians["pandas"] / medians[name], 1) for name in backends},
        "buyers": answers["pandas"][1]["buyers"],
        "loaded": counts,
    }
    print("RESULT " + json.dumps(summary))


def _rows(r: dict[str, Any]) -> list[tuple[Any, ...]]:
    seconds = r["seconds"]
    inside = f"{seconds['postgres']} s" if "postgres" in seconds else "–"
    return [(r["backend"], f"{r['customers']:,}", f"{r['lines']:,}", f"{seconds['duckdb']} s", inside,
             f"{seconds['pandas']} s", f"{max(r['speedup'].values())}×")]  # fmt: skip


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    bench_main(
        __file__,
        parser,
        child,
        "features",
        ("database", "customers", "order lines", "kehu (DuckDB via Arrow)", "kehu (in PostgreSQL)", "pandas",
         "speed-up"),
        _rows,
        database="features",
    )  # fmt: skip


if __name__ == "__main__":
    main()
