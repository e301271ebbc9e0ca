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
from typing import Any

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
COMPLAINT = 2  # a contact rated this or lower (of 5) counts as a complaint


@dataclass(frozen=True)
class Sources:
    """The tables the features read, as Ibis tables of one backend."""

    customers: Any  # id
    orders: Any  # id, customer_id, channel, status, payment_status, placed_at, total
    lines: Any  # order_id, product_id, line_total
    products: Any  # id, category
    returns: Any  # order_id, amount, returned_at
    interactions: Any  # customer_id, occurred_at, satisfaction


def customer_features(sources: Sources, *, as_of: dt.datetime, since: dt.datetime | None = None) -> Any:
    """One row per customer (those without orders too), columns `FEATURES`, from what happened before `as_of`
    (and, with `since`, the orders placed from then on only: RFM over a chosen period)."""
    import ibis

    now = ibis.literal(as_of.timestamp(), type="float64")
    customers = sources.customers.select(customer_id=sources.customers.id)
    orders = sources.orders
    orders = orders.filter((orders.placed_at < as_of) & (orders.status != "cancelled"))
    if since is not None:
        orders = orders.filter(orders.placed_at >= since)
    # whole seconds: Spark's epoch drops the fraction that DuckDB and PostgreSQL keep
    seconds = orders.placed_at.epoch_seconds().floor().cast("float64")
    per_customer = orders.group_by("customer_id").aggregate(
        orders=orders.count(),
        revenue=orders.total.cast("float64").sum(),
        first_seconds=seconds.min(),
        last_seconds=seconds.max(),
        overdue=ibis.ifelse(orders.payment_status == "overdue", 1, 0).sum(),
        overdue_amount=ibis.ifelse(orders.payment_status == "overdue", orders.total.cast("float64"), 0.0).sum(),
        revenue_180d=ibis.ifelse(seconds >= now - 180 * DAY, orders.total.cast("float64"), 0.0).sum(),
        revenue_prior_180d=ibis.ifelse(
            (seconds >= now - 360 * DAY) & (seconds < now - 180 * DAY), orders.total.cast("float64"), 0.0
        ).sum(),
    )
    refunds = sources.returns.filter(sources.returns.returned_at < as_of)
    refunded = (
        refunds.join(orders.select(order_id=orders.id, customer_id=orders.customer_id), "order_id")
        .group_by("customer_id")
        .aggregate(refunded=refunds.amount.cast("float64").sum())
    )
    bought = (
        sources.lines.join(orders.select(order_id=orders.id, customer_id=orders.customer_id), "order_id")
        .join(sources.products.select(product_id=sources.products.id, category=sources.products.category), "product_id")
        .filter(lambda t: t.category != "")
    )
    by_category = bought.group_by(["customer_id", "category"]).aggregate(spent=bought.line_total.cast("float64").sum())
    category_rank = ibis.row_number().over(
        group_by=by_category.customer_id, order_by=[ibis.desc(by_category.spent), by_category.category]
    )
    ranked_categories = by_category.mutate(rank=category_rank)
    categories = ranked_categories.group_by("customer_id").aggregate(
        categories=ranked_categories.count(),
        top_category=ranked_categories.category.min(where=ranked_categories.rank == 0),
    )
    by_channel = orders.group_by(["customer_id", "channel"]).aggregate(channel_orders=orders.count())
    channel_rank = ibis.row_number().over(
        group_by=by_channel.customer_id, order_by=[ibis.desc(by_channel.channel_orders), by_channel.channel]
    )
    ranked_channels = by_channel.mutate(rank=channel_rank)
    channels = ranked_channels.filter(ranked_channels.rank == 0).select(
        "customer_id", top_channel=ranked_channels.channel, top_channel_orders=ranked_channels.channel_orders
    )
    contacts = sources.interactions.filter(sources.interactions.occurred_at < as_of)
    contact_seconds = contacts.occurred_at.epoch_seconds().floor().cast("float64")
    contacted = contacts.group_by("customer_id").aggregate(
        contacts=contacts.count(),
        contacts_90d=ibis.ifelse(contact_seconds >= now - 90 * DAY, 1, 0).sum(),
        last_contact_seconds=contact_seconds.max(),
        satisfaction=contacts.satisfaction.cast("float64").mean(),
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
        .left_join(channels, "customer_id")
        .select(~ibis.selectors.endswith("_right"))
        .left_join(contacted, "customer_id")
        .select(~ibis.selectors.endswith("_right"))
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
        top_channel=joined.top_channel,
        top_channel_share=ibis.ifelse(has_orders, joined.top_channel_orders / count, None),
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


# kehu's tables and the columns the features read (no personal value among them)
COLUMNS = {
    "customers": ("customers_customer", ("id",)),
    "orders": ("commerce_order", ("id", "customer_id", "channel", "status", "payment_status", "placed_at", "total")),
    "lines": ("commerce_orderline", ("order_id", "product_id", "line_total")),
    "products": ("commerce_product", ("id", "category")),
    "returns": ("commerce_orderreturn", ("order_id", "amount", "returned_at")),
    "interactions": ("interactions_interaction", ("customer_id", "occurred_at", "satisfaction")),
}
BACKENDS = ("duckdb", "postgres", "pyspark")


NUMBERS = ("total", "line_total", "amount", "satisfaction")


def _arrow_tables() -> dict[str, Any]:
    """The columns `COLUMNS` names, read from kehu's database (either engine) into Arrow (`kehu.analytics.reader`)."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    from kehu.analytics.reader import read_arrow_many

    types = {
        "placed_at": pa.timestamp("us", tz="UTC"),
        "returned_at": pa.timestamp("us", tz="UTC"),
        "occurred_at": pa.timestamp("us", tz="UTC"),
        **dict.fromkeys(NUMBERS, pa.float64()),
        **dict.fromkeys(("channel", "status", "payment_status", "category"), pa.string()),
    }
    queries = {}
    for name, (table, columns) in COLUMNS.items():
        selected = ", ".join(
            f"CAST({column} AS DOUBLE PRECISION) AS {column}" if column in NUMBERS else column for column in columns
        )
        where = " WHERE merged_into_id IS NULL AND erased_at IS NULL" if name == "customers" else ""
        queries[name] = (f"SELECT {selected} FROM {table}{where}", columns)  # noqa: S608 - kehu's own names
    return read_arrow_many(queries, types)


class Features:
    """Features as of any moment from one connection and one read of the tables: an analytics run asks for them
    on several days (the run's, and each buy-again snapshot's), and reading ten million order lines once is
    enough. Use as a context manager; `compute` is the one-off form."""

    def __init__(self, backend: str | None = None) -> None:
        import ibis
        from django.conf import settings

        self.backend = chosen = backend or settings.KEHU_ANALYTICS_BACKEND
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
            tables = {name: self.con.table(table).select(*columns) for name, (table, columns) in COLUMNS.items()}
            tables["customers"] = (
                self.con.table("customers_customer")
                .filter(lambda t: t.merged_into_id.isnull() & t.erased_at.isnull())
                .select("id")
            )
        elif chosen == "pyspark":
            from kehu.dedup.engines import spark_session

            spark = spark_session(settings.KEHU_SPARK_MASTER)
            self.con = ibis.pyspark.connect(spark)
            tables = {}
            for name, table in _arrow_tables().items():
                frame = spark.createDataFrame(table)
                frame.createOrReplaceTempView(f"kehu_{name}")
                tables[name] = self.con.table(f"kehu_{name}")
        elif chosen == "duckdb":
            self.con = ibis.duckdb.connect()
            tables = {name: ibis.memtable(table) for name, table in _arrow_tables().items()}
        else:
            raise ValueError(f"unknown analytics backend {chosen!r}: {', '.join(BACKENDS)}")
        self.sources = Sources(**tables)

    def __call__(self, *, as_of: dt.datetime, since: dt.datetime | None = None) -> Any:
        """The features of every customer as an Arrow table, ordered by customer id."""
        return self.con.to_pyarrow(customer_features(self.sources, as_of=as_of, since=since))

    def __enter__(self) -> Features:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.backend != "pyspark":
            self.con.disconnect()


def compute(*, as_of: dt.datetime, since: dt.datetime | None = None, backend: str | None = None) -> Any:
    """The features of every customer as an Arrow table, computed on `backend` (default: the setting)."""
    with Features(backend) as features:
        return features(as_of=as_of, since=since)
