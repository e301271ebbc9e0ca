"""Features per customer, defined once as Ibis expressions and run where the data is.

`customer_features` describes, for every customer, what their orders, order lines, returns and interactions
say up to a moment (`as_of`): recency, frequency, monetary value, tenure, average order value, time between
purchases, category and channel mix, refund and overdue rates (and the amount overdue), spend in the last half
year against the half year before, contacts, complaints and satisfaction. The expression is
the same for every backend (`KEHU_ANALYTICS_BACKEND`):

- `duckdb` (default): the columns needed are read from kehu's database into Arrow and computed in an
  in-memory DuckDB (nothing written to disk);
- `postgres`: computed inside PostgreSQL, when kehu runs on it (nothing leaves the database but the result);
- `pyspark`: the Arrow tables handed to Spark.

Only non-personal columns are read: ids, dates, amounts, statuses, channels, categories and scores — no name,
contact value or free text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from kehu.commerce.models import OrderChannel

FEATURES = (
    "customer_id",
    "orders",
    "revenue",
    "average_order_value",
    "recency_days",
    "tenure_days",
    "interpurchase_days",
    "categories",
    "top_category",
    "top_channel",
    "top_channel_share",
    "refund_rate",
    "overdue_rate",
    "contacts",
    "contacts_90d",
    "last_contact_days",
    "satisfaction",
    "revenue_180d",
    "revenue_prior_180d",
    "overdue_amount",
    "complaints_180d",
)
DAY = 86_400
# kehu's order channels (which order_create enforces), in the order that breaks a tie for the top
CHANNELS = tuple(sorted(OrderChannel.values))
COMPLAINT = 2  # a contact rated this or lower (of 5) counts as a complaint


@dataclass(frozen=True)
class Sources:
    """The rows the features read, as Ibis tables of one backend (`sources` makes them from kehu's tables)."""

    customers: Any  # id — customers neither merged into another nor erased
    orders: Any  # id, customer_id, channel (position in CHANNELS), overdue (1/0), placed (epoch seconds), total —
    # cancelled ones left out
    lines: Any  # order_id, product_id, line_total
    products: Any  # id, category — only products with a category
    returns: Any  # order_id, amount, returned (epoch seconds)
    interactions: Any  # customer_id, occurred (epoch seconds), satisfaction


# kehu's tables and the columns the features read, with their types (no personal value among them)
# (largest first: read side by side, the quickest are the last to start)
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "orders": (
        "commerce_order",
        {
            "id": "int64",
            "customer_id": "int64",
            "channel": "string",
            "status": "string",
            "payment_status": "string",
            "placed_at": "timestamp('UTC')",
            "total": "decimal(18, 2)",
        },
    ),
    "lines": ("commerce_orderline", {"order_id": "int64", "product_id": "int64", "line_total": "decimal(18, 2)"}),
    "interactions": (
        "interactions_interaction",
        {"customer_id": "int64", "occurred_at": "timestamp('UTC')", "satisfaction": "int16"},
    ),
    "customers": ("customers_customer", {"id": "int64", "merged_into_id": "int64", "erased_at": "timestamp('UTC')"}),
    "returns": (
        "commerce_orderreturn",
        {"order_id": "int64", "amount": "decimal(18, 2)", "returned_at": "timestamp('UTC')"},
    ),
    "products": ("commerce_product", {"id": "int64", "category": "string"}),
}


@cache
def _builtins() -> Any:
    """The databases' own functions that the source expressions call, as Ibis builtins (made once)."""
    import ibis
    import ibis.expr.datatypes as dt_

    @ibis.udf.scalar.builtin(signature=((dt_.Timestamp(timezone="UTC"), dt_.int64, dt_.int64), dt_.string))
    def substr(text: Any, start: Any, length: Any) -> Any:
        """SQLite's substr() of the stored text (Ibis' own substring adds a cast and a test per row)."""

    @ibis.udf.scalar.builtin(signature=((dt_.string,), dt_.int64))
    def unixepoch(text: Any) -> Any:
        """SQLite's unixepoch() (3.38 and later)."""

    @ibis.udf.scalar.builtin(signature=((dt_.string, dt_.Timestamp(timezone="UTC")), dt_.float64))
    def date_part(field: Any, moment: Any) -> Any:
        """PostgreSQL's date_part()."""

    return substr, unixepoch, date_part


def _seconds(moment: Any, dialect: str) -> Any:
    """Whole epoch seconds of a moment, as the database computes them fastest and exactly.

    - SQLite: of the UTC text Django writes ("2026-01-01 10:00:00.999999"), cut to the second first: SQLite's own
      conversion (`unixepoch`, and `strftime('%s')` that Ibis emits, three times slower) rounds to the
      millisecond, which would put .9995 into the next second.
    - PostgreSQL: by `date_part` (a double), not the `EXTRACT` Ibis emits (a numeric since PostgreSQL 14, a
      quarter slower to read 3 million orders with)."""
    substr, unixepoch, date_part = _builtins()
    if dialect == "sqlite":
        return unixepoch(substr(moment, 1, 19)).cast("float64")
    return date_part("epoch", moment).floor().cast("float64")


def sources(tables: dict[str, Any], *, dialect: str) -> Sources:
    """What the features read, from kehu's tables as Ibis tables (`TABLES`) in kehu's database (`dialect`:
    "sqlite" or "postgres"): compiled to its SQL for reading into Arrow, or run in it. The choices that do not
    depend on the moment are made here, where the database makes them while reading: customers still in the base,
    orders not cancelled, products with a category, amounts as doubles, moments as epoch seconds, channels by
    their position in `CHANNELS` (a channel kehu does not know is left out of the channel mix, not of the
    orders)."""
    import ibis

    customers, orders, lines = tables["customers"], tables["orders"], tables["lines"]
    products, returns, interactions = tables["products"], tables["returns"], tables["interactions"]
    return Sources(
        customers=customers.filter(customers.merged_into_id.isnull() & customers.erased_at.isnull()).select("id"),
        orders=orders.filter(orders.status != "cancelled").select(
            "id",
            "customer_id",
            channel=ibis.cases(*[(orders.channel == name, position) for position, name in enumerate(CHANNELS)]),
            overdue=ibis.ifelse(orders.payment_status == "overdue", 1, 0).cast("int64"),
            placed=_seconds(orders.placed_at, dialect),
            total=orders.total.cast("float64"),
        ),
        lines=lines.select("order_id", "product_id", line_total=lines.line_total.cast("float64")),
        products=products.filter(products.category != "").select("id", "category"),
        returns=returns.select(
            "order_id", amount=returns.amount.cast("float64"), returned=_seconds(returns.returned_at, dialect)
        ),
        interactions=interactions.select(
            "customer_id",
            occurred=_seconds(interactions.occurred_at, dialect),
            satisfaction=interactions.satisfaction.cast("float64"),
        ),
    )


def customer_features(sources: Sources, *, as_of: dt.datetime, since: dt.datetime | None = None) -> Any:
    """One row per customer (those without orders too), columns `FEATURES`, from what happened before `as_of`
    (and, with `since`, the orders placed from then on only: RFM over a chosen period)."""
    import ibis

    moment = as_of.timestamp()
    now = ibis.literal(moment, type="float64")
    customers = sources.customers.select(customer_id=sources.customers.id)
    orders = sources.orders
    orders = orders.filter(orders.placed < moment)
    if since is not None:
        orders = orders.filter(orders.placed >= since.timestamp())
    seconds = orders.placed
    # orders per channel as columns of the customer's row: a handful of sums instead of grouping and ranking
    # every (customer, channel) pair
    by_channel = {f"channel_{i}": ibis.ifelse(orders.channel == i, 1, 0).sum() for i in range(len(CHANNELS))}
    per_customer = orders.group_by("customer_id").aggregate(
        **by_channel,
        orders=orders.count(),
        revenue=orders.total.sum(),
        first_seconds=seconds.min(),
        last_seconds=seconds.max(),
        overdue=orders.overdue.sum(),
        overdue_amount=ibis.ifelse(orders.overdue == 1, orders.total, 0.0).sum(),
        revenue_180d=ibis.ifelse(seconds >= now - 180 * DAY, orders.total, 0.0).sum(),
        revenue_prior_180d=ibis.ifelse(
            (seconds >= now - 360 * DAY) & (seconds < now - 180 * DAY), orders.total, 0.0
        ).sum(),
    )
    refunds = sources.returns.filter(sources.returns.returned < moment)
    refunded = (
        refunds.join(orders.select(order_id=orders.id, customer_id=orders.customer_id), "order_id")
        .group_by("customer_id")
        .aggregate(refunded=refunds.amount.sum())
    )
    bought = sources.lines.join(orders.select(order_id=orders.id, customer_id=orders.customer_id), "order_id").join(
        sources.products.select(product_id=sources.products.id, category=sources.products.category), "product_id"
    )
    by_category = bought.group_by(["customer_id", "category"]).aggregate(spent=bought.line_total.sum())
    category_rank = ibis.row_number().over(
        group_by=by_category.customer_id, order_by=[ibis.desc(by_category.spent), by_category.category]
    )
    ranked_categories = by_category.mutate(rank=category_rank)
    categories = ranked_categories.group_by("customer_id").aggregate(
        categories=ranked_categories.count(),
        top_category=ranked_categories.category.min(where=ranked_categories.rank == 0),
    )
    contacts = sources.interactions.filter(sources.interactions.occurred < moment)
    contact_seconds = contacts.occurred
    contacted = contacts.group_by("customer_id").aggregate(
        contacts=contacts.count(),
        contacts_90d=ibis.ifelse(contact_seconds >= now - 90 * DAY, 1, 0).sum(),
        last_contact_seconds=contact_seconds.max(),
        satisfaction=contacts.satisfaction.mean(),
        complaints_180d=ibis.ifelse(
            (contact_seconds >= now - 180 * DAY) & (contacts.satisfaction <= COMPLAINT), 1, 0
        ).sum(),
    )
    joined = (
        customers.left_join(per_customer, "customer_id")
        .select(~ibis.selectors.endswith("_right"))
        .left_join(refunded, "customer_id")
        .select(~ibis.selectors.endswith("_right"))
        .left_join(categories, "customer_id")
        .select(~ibis.selectors.endswith("_right"))
        .left_join(contacted, "customer_id")
        .select(~ibis.selectors.endswith("_right"))
    )
    top_orders = ibis.greatest(*[joined[name] for name in by_channel])
    top_channel = ibis.cases(
        *[
            ((joined[name] == top_orders) & (top_orders > 0), channel)
            for name, channel in zip(by_channel, CHANNELS, strict=True)
        ]
    )
    count = joined.orders.fill_null(0)
    span = (joined.last_seconds - joined.first_seconds) / DAY
    revenue = joined.revenue.fill_null(0.0)
    has_orders = count > 0
    return joined.select(
        customer_id=joined.customer_id,
        orders=count,
        revenue=revenue,
        average_order_value=ibis.ifelse(has_orders, revenue / count, None),
        recency_days=(now - joined.last_seconds) / DAY,
        tenure_days=(now - joined.first_seconds) / DAY,
        interpurchase_days=ibis.ifelse(count > 1, span / (count - 1), None),
        categories=joined.categories.fill_null(0),
        top_category=joined.top_category,
        top_channel=top_channel,
        top_channel_share=ibis.ifelse(has_orders, top_orders.cast("float64") / count, None),
        refund_rate=ibis.ifelse(revenue > 0, joined.refunded.fill_null(0.0) / revenue, None),
        overdue_rate=ibis.ifelse(has_orders, joined.overdue / count, None),
        contacts=joined.contacts.fill_null(0),
        contacts_90d=joined.contacts_90d.fill_null(0),
        last_contact_days=(now - joined.last_contact_seconds) / DAY,
        satisfaction=joined.satisfaction,
        revenue_180d=joined.revenue_180d.fill_null(0.0),
        revenue_prior_180d=joined.revenue_prior_180d.fill_null(0.0),
        overdue_amount=joined.overdue_amount.fill_null(0.0),
        complaints_180d=joined.complaints_180d.fill_null(0),
    ).order_by("customer_id")


BACKENDS = ("duckdb", "postgres", "pyspark")


def _arrow_tables() -> tuple[dict[str, Any], Any]:
    """The rows `sources` describes, read from kehu's database (either engine) into Arrow
    (`kehu.analytics.reader`), with categories as codes; and each code's text.

    The source expressions are compiled to the database's SQL, so the database filters and converts while it
    reads. A code is the text's rank in sorted order: grouping and ranking integers is several times faster than
    strings in DuckDB, and the order, ties broken by the text, is the same."""
    import ibis
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]
    from django.db import connection

    from kehu.analytics.reader import read_arrow_many

    dialect = "postgres" if connection.vendor == "postgresql" else "sqlite"
    unbound = sources(
        {name: ibis.table(schema, name=table) for name, (table, schema) in TABLES.items()}, dialect=dialect
    )
    queries: dict[str, tuple[str, tuple[str, ...]]] = {}
    types: dict[str, Any] = {}
    for name in TABLES:
        expression = getattr(unbound, name)
        queries[name] = (str(ibis.to_sql(expression, dialect=dialect)), tuple(expression.columns))
        types.update(zip(expression.columns, expression.schema().to_pyarrow().types, strict=True))
    tables = read_arrow_many(queries, types)
    products = tables["products"]
    distinct = pc.unique(products.column("category"))
    categories = pc.take(distinct, pc.array_sort_indices(distinct))
    tables["products"] = products.set_column(
        products.column_names.index("category"),
        "category",
        pc.index_in(products.column("category"), value_set=categories),
    )
    return tables, categories


class Features:
    """Features as of any moment from one connection and one read of the tables: an analytics run asks for them
    on several days (the run's, and each buy-again snapshot's), and reading ten million order lines once is
    enough. Use as a context manager; `compute` is the one-off form."""

    def __init__(self, backend: str | None = None) -> None:
        import ibis
        from django.conf import settings

        self.backend = chosen = backend or settings.KEHU_ANALYTICS_BACKEND
        self.categories: Any = None  # the text of each category's code, where categories are coded
        if chosen == "postgres":
            database = settings.DATABASES["default"]
            if database["ENGINE"] != "django.db.backends.postgresql":
                raise ValueError("the postgres analytics backend needs kehu to run on PostgreSQL")
            self.con = ibis.postgres.connect(
                host=database.get("HOST") or None,
                port=int(database["PORT"]) if database.get("PORT") else None,
                user=database.get("USER") or None,
                password=database.get("PASSWORD") or None,
                database=database["NAME"],
            )
            self.sources = sources(
                {name: self.con.table(table) for name, (table, _columns) in TABLES.items()}, dialect="postgres"
            )
        elif chosen == "pyspark":
            from kehu.dedup.engines import spark_session

            spark = spark_session(settings.KEHU_SPARK_MASTER)
            self.con = ibis.pyspark.connect(spark)
            tables, self.categories = _arrow_tables()
            views = {}
            for name, table in tables.items():
                spark.createDataFrame(table).createOrReplaceTempView(f"kehu_{name}")
                views[name] = self.con.table(f"kehu_{name}")
            self.sources = Sources(**views)
        elif chosen == "duckdb":
            self.con = ibis.duckdb.connect()
            tables, self.categories = _arrow_tables()
            self.sources = Sources(**{name: ibis.memtable(table) for name, table in tables.items()})
        else:
            raise ValueError(f"unknown analytics backend {chosen!r}: {', '.join(BACKENDS)}")

    def __call__(self, *, as_of: dt.datetime, since: dt.datetime | None = None) -> Any:
        """The features of every customer as an Arrow table, ordered by customer id."""
        import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

        table = self.con.to_pyarrow(customer_features(self.sources, as_of=as_of, since=since))
        if self.categories is None:
            return table
        position = table.column_names.index("top_category")
        return table.set_column(position, "top_category", pc.take(self.categories, table.column(position)))

    def __enter__(self) -> Features:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.backend != "pyspark":
            self.con.disconnect()


def compute(*, as_of: dt.datetime, since: dt.datetime | None = None, backend: str | None = None) -> Any:
    """The features of every customer as an Arrow table, computed on `backend` (default: the setting)."""
    with Features(backend) as features:
        return features(as_of=as_of, since=since)
