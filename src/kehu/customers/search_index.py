"""The customer search index: an FTS5 table on SQLite, a GIN-indexed tsvector column on PostgreSQL.

Both index the same `Customer.search_document` built by kehu.core.search; the services keep it current in
the transaction that changes the customer. On SQLite the FTS row also holds `scope` tokens — `o<owner id>`,
`t<team id>` and `live` or `archived` — so that a quick search is narrowed to the user's records inside the
index; the records found are still fetched through the access helpers, which remain the authority.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import BooleanField, F, QuerySet
from django.db.models.expressions import RawSQL

from kehu.core.search import QueryTerm, build_document, fts5_expression, parse_query, tsquery_expression
from kehu.customers.models import ContactKind, ContactPoint, Customer

FTS_TABLE = "customers_search"
POSTGRES_MATCH = "customers_customer.search_vector @@ %s::tsquery"


def document_for(customer: Customer, points: Iterable[ContactPoint] | None = None) -> str:
    """The search document of a customer, from its names, company and contact points (prefetched, or given)."""
    phones: list[str] = []
    emails: list[str] = []
    handles: list[str] = []
    for point in customer.contact_points.all() if points is None else points:
        if point.kind in (ContactKind.MOBILE, ContactKind.PHONE):
            phones.append(point.value)
        elif point.kind == ContactKind.EMAIL:
            emails.append(point.value)
        else:
            handles.append(point.value)
    person_name = f"{customer.family_name}{customer.given_name}"
    return build_document(
        names=[customer.display_name, person_name],
        texts=[customer.company_name],
        phones=phones,
        emails=emails,
        handles=handles,
    )


def scope_tokens(*, owner_id: int | None, team_id: int | None, archived: bool, merged: bool = False) -> str:
    """The FTS `scope` column: who the record belongs to and whether it is archived (or merged into another,
    which neither a live nor an archived search finds)."""
    tokens = [f"o{owner_id}" if owner_id else "onone", f"t{team_id}" if team_id else "tnone"]
    tokens.append("merged" if merged else "archived" if archived else "live")
    return " ".join(tokens)


def scope_of(customer: Customer) -> str:
    return scope_tokens(
        owner_id=customer.owner_id,
        team_id=customer.team_id,
        archived=customer.archived_at is not None,
        merged=customer.merged_into_id is not None,
    )


def index_write(rows: Sequence[tuple[int, str, str]]) -> None:
    """Store (customer id, document, scope) rows in the SQLite index; PostgreSQL indexes the column itself."""
    if connection.vendor != "sqlite" or not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [(row[0],) for row in rows])
        cursor.executemany(f"INSERT INTO {FTS_TABLE}(rowid, document, scope) VALUES (%s, %s, %s)", list(rows))


def index_refresh(customers: Iterable[Customer]) -> None:
    """Rebuild the document and scope of customers whose names, contact points, owner or state changed."""
    rows: list[tuple[int, str, str]] = []
    for customer in customers:
        document = document_for(customer)
        if document != customer.search_document:
            customer.search_document = document
            customer.save(update_fields=["search_document"])
        rows.append((customer.pk, document, scope_of(customer)))
    index_write(rows)


def index_rebuild() -> int:
    """Rebuild the SQLite FTS table from the stored documents (after a restore, say); returns rows indexed."""
    if connection.vendor != "sqlite":
        return Customer.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE}")
        cursor.execute(
            f"INSERT INTO {FTS_TABLE}(rowid, document, scope) "
            "SELECT id, search_document, "
            "COALESCE('o' || owner_id, 'onone') || ' ' || COALESCE('t' || team_id, 'tnone') || ' ' || "
            "CASE WHEN merged_into_id IS NOT NULL THEN 'merged' WHEN archived_at IS NULL THEN 'live' "
            "ELSE 'archived' END FROM customers_customer"
        )
        return int(cursor.rowcount)


def _fts_match(terms: list[QueryTerm], scope: list[str] | None, archived: bool | None) -> str:
    """An FTS5 expression: the user's terms on the document column, the scope tokens on the scope column."""
    parts = [f"document : ({fts5_expression(terms)})"]
    if scope is not None:
        parts.append(f"scope : ({' OR '.join(scope)})")
    if archived is not None:
        parts.append(f"scope : {'archived' if archived else 'live'}")
    return " AND ".join(parts)


FEW_MATCHES = 2000


def search_filter(
    queryset: QuerySet[Customer], query: str, *, scope: list[str] | None = None, archived: bool | None = None
) -> QuerySet[Customer]:
    """Narrow a customer queryset to those matching what the user typed; an empty query matches nothing.

    `scope` and `archived` only let SQLite narrow inside the index; the queryset's own filters decide.
    """
    terms = parse_query(query)
    if not terms:
        return queryset.none()
    if connection.vendor == "sqlite":
        # A rare query's few matches are fetched by id; a common one is checked against each row while the list
        # walks its own index in the order shown (the unary + keeps SQLite from driving the query from tens of
        # thousands of matches and sorting them).
        match = _fts_match(terms, scope, archived)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s LIMIT %s", [match, FEW_MATCHES])
            few = [row[0] for row in cursor.fetchall()]
        if len(few) < FEW_MATCHES:
            return queryset.filter(id__in=few)
        member = RawSQL(
            f"+{Customer._meta.db_table}.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)",
            [match],
            output_field=BooleanField(),
        )
        return queryset.alias(search_member=member).filter(search_member=True)
    matches = RawSQL(POSTGRES_MATCH, [tsquery_expression(terms)], output_field=BooleanField())
    return queryset.alias(search_match=matches).filter(search_match=True)


# PostgreSQL quick search (see newest_matches): how many of the user's newest customers are filtered row by
# row to estimate how common the query is, the most it will walk, and what one GIN match costs to fetch.
WALK_SAMPLE = 2000
WALK_MAX = 60000
GIN_MATCH_MICROSECONDS = 10.0


def newest_matches(queryset: QuerySet[Customer], query: str, *, scope: list[str] | None, limit: int) -> list[int]:
    """Ids of the newest live customers in `queryset` that match, without touching every match.

    SQLite walks the FTS index newest-first, narrowed by the scope tokens, and stops at `limit`.
    PostgreSQL first filters the user's newest WALK_SAMPLE live customers one by one (cheap with the stored
    tsvector, and enough for broad queries such as 王 or zs, whose GIN posting lists are long), then looks in
    the GIN index (cheap for rare queries such as a phone's last digits). Each step's plan is fixed by the
    query's shape, because the planner cannot estimate how many rows a prefix query matches.
    """
    terms = parse_query(query)
    if not terms:
        return []
    if connection.vendor == "sqlite":
        match = _fts_match(terms, scope, archived=False)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s ORDER BY rowid DESC LIMIT %s",
                [match, limit],
            )
            candidates = [row[0] for row in cursor.fetchall()]
        allowed = set(queryset.filter(id__in=candidates).values_list("id", flat=True))
        return [row_id for row_id in candidates if row_id in allowed]
    return _newest_postgres(
        queryset, tsquery_expression(terms), limit, rare=all(t.prefixes[0].isdigit() for t in terms)
    )


def _walk(
    queryset: QuerySet[Customer], tsquery: str, *, below: int | None, rows: int, limit: int
) -> tuple[list[int], int | None]:
    """Filter the next `rows` newest customers of `queryset` (below id `below`) row by row, newest first.

    Stops at `limit` matches. Otherwise every row was walked, and the lowest id walked is returned too
    (None when no older customer is left), so that the next step starts below it.
    """
    window = queryset if below is None else queryset.filter(id__lt=below)
    recent = (
        window.annotate(vector=RawSQL("customers_customer.search_vector", []))
        .order_by("-id")
        .values("id", "vector")[:rows]
    )
    recent_sql, recent_params = recent.query.sql_with_params()
    with connection.cursor() as cursor:
        # The inner LIMIT bounds the walk; the outer LIMIT stops it as soon as enough rows matched.
        cursor.execute(
            f"SELECT id FROM ({recent_sql}) AS recent WHERE vector @@ %s::tsquery LIMIT %s",
            [*recent_params, tsquery, limit],
        )
        matches = sorted((row[0] for row in cursor.fetchall()), reverse=True)
    if len(matches) >= limit:
        return matches, None
    last = window.order_by("-id").values_list("id", flat=True)[rows - 1 : rows]
    return matches, next(iter(last), None)


def _newest_postgres(queryset: QuerySet[Customer], tsquery: str, limit: int, *, rare: bool) -> list[int]:
    """Newest matches on PostgreSQL, choosing per query between walking rows and the GIN index.

    The planner cannot estimate how many rows a prefix query matches, so kehu measures it: filtering the
    newest WALK_SAMPLE customers row by row (cheap with the stored tsvector) gives both the query's frequency
    and the cost of walking one row. Broad queries (王, zs) then finish by walking; rare ones (a phone's
    last digits, an unusual name) by the GIN index, whose cost is the number of matches it must fetch.
    """
    found: list[int] = []
    below: int | None = None
    if not rare:
        started = time.perf_counter()
        found, below = _walk(queryset, tsquery, below=None, rows=WALK_SAMPLE, limit=limit)
        microseconds_per_row = (time.perf_counter() - started) * 1e6 / WALK_SAMPLE
        if len(found) >= limit or below is None:
            return found[:limit]  # enough, or every customer walked
        frequency = max(len(found), 0.5) / WALK_SAMPLE
        rows_needed = (limit - len(found)) / frequency
        walk_cost = rows_needed * microseconds_per_row
        gin_cost = _table_rows() * frequency * GIN_MATCH_MICROSECONDS
        if walk_cost < gin_cost and rows_needed <= WALK_MAX:
            more, lowest = _walk(
                queryset, tsquery, below=below, rows=min(int(rows_needed * 3), WALK_MAX), limit=limit - len(found)
            )
            found += more
            if len(found) >= limit or lowest is None:
                return found[:limit]
            below = lowest
    indexed = RawSQL(POSTGRES_MATCH, [tsquery], output_field=BooleanField())
    # Ordering by `id + 0` keeps the planner from walking the primary key with the filter (that is _walk's
    # job); what is left is a GIN lookup, which fetches every match older than the rows already walked.
    older = queryset.alias(search_match=indexed, order_key=F("id") + 0).filter(search_match=True)
    if below is not None:
        older = older.filter(id__lt=below)
    found += older.order_by("-order_key").values_list("id", flat=True)[: limit - len(found)]
    return found


_table_rows_cache: tuple[float, float] = (0.0, 0.0)  # (read at, rows)


def _table_rows() -> float:
    """The planner's estimate of the customer table's size, re-read once a minute: enough to weigh the plans."""
    global _table_rows_cache
    read_at, rows = _table_rows_cache
    if time.monotonic() - read_at > 60:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'customers_customer'")
            row = cursor.fetchone()
        rows = max(float(row[0]) if row else 0.0, 1.0)
        _table_rows_cache = (time.monotonic(), rows)
    return rows
