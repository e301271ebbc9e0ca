"""The customer search index: an FTS5 table on SQLite, a GIN-indexed tsvector column on PostgreSQL.

Both index the same `Customer.search_document` built by kehu.core.search; the services keep it current in
the transaction that changes the customer. On SQLite the FTS row also holds `scope` tokens — `o<owner id>`,
`t<team id>` and `live` or `archived` — so that a quick search is narrowed to the user's records inside the
index; the records found are still fetched through the access helpers, which remain the authority.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import BooleanField, F, QuerySet
from django.db.models.expressions import RawSQL

from kehu.core.search import QueryTerm, build_document, fts5_expression, parse_query, tsquery_expression
from kehu.customers.models import ContactKind, Customer

FTS_TABLE = "customers_search"
POSTGRES_MATCH = "customers_customer.search_vector @@ %s::tsquery"


def document_for(customer: Customer) -> str:
    """The search document of a customer, from its names, company and prefetched contact points."""
    phones: list[str] = []
    emails: list[str] = []
    handles: list[str] = []
    for point in customer.contact_points.all():
        if point.kind in (ContactKind.MOBILE, ContactKind.PHONE):
            phones.append(point.value)
        elif point.kind == ContactKind.EMAIL:
            emails.append(point.value)
        else:
            handles.append(point.value)
    person_name = f"{customer.family_name}{customer.given_name}"
    return build_document(
        names=[customer.display_name, person_name],
        texts=[customer.company_name, *handles],
        phones=phones,
        emails=emails,
    )


def scope_tokens(*, owner_id: int | None, team_id: int | None, archived: bool) -> str:
    """The FTS `scope` column: who the record belongs to and whether it is archived."""
    tokens = [f"o{owner_id}" if owner_id else "onone", f"t{team_id}" if team_id else "tnone"]
    tokens.append("archived" if archived else "live")
    return " ".join(tokens)


def _scope_of(customer: Customer) -> str:
    return scope_tokens(owner_id=customer.owner_id, team_id=customer.team_id, archived=customer.archived_at is not None)


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
        rows.append((customer.pk, document, _scope_of(customer)))
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
            "CASE WHEN archived_at IS NULL THEN 'live' ELSE 'archived' END FROM customers_customer"
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
        match = _fts_match(terms, scope, archived)
        return queryset.filter(id__in=RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match]))
    matches = RawSQL(POSTGRES_MATCH, [tsquery_expression(terms)], output_field=BooleanField())
    return queryset.alias(search_match=matches).filter(search_match=True)


# How many of the newest customers PostgreSQL filters row by row before it turns to the GIN index.
RECENT_WINDOW = 5000


def newest_matches(queryset: QuerySet[Customer], query: str, *, scope: list[str] | None, limit: int) -> list[int]:
    """Ids of the newest live customers in `queryset` that match, without touching every match.

    SQLite walks the FTS index newest-first, narrowed by the scope tokens, and stops at `limit`.
    PostgreSQL first filters the user's newest RECENT_WINDOW live customers one by one (cheap with the stored
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
    tsquery = tsquery_expression(terms)
    found: list[int] = []
    if not all(term.prefixes[0].isdigit() for term in terms):
        found = _newest_by_walking(queryset, tsquery, limit)
    if len(found) < limit:
        indexed = RawSQL(POSTGRES_MATCH, [tsquery], output_field=BooleanField())
        # Ordering by `id + 0` keeps the planner from walking the primary key with the filter (that is
        # _newest_by_walking); what is left is a GIN lookup, cheap exactly when the query is rare.
        older = (
            queryset.alias(search_match=indexed, order_key=F("id") + 0)
            .filter(search_match=True)
            .exclude(id__in=found)
            .order_by("-order_key")
            .values_list("id", flat=True)[: limit - len(found)]
        )
        found += list(older)
    return found


def _newest_by_walking(queryset: QuerySet[Customer], tsquery: str, limit: int) -> list[int]:
    """Matches among the newest RECENT_WINDOW customers of `queryset`, filtered row by row (PostgreSQL).

    Skipped for digits (phones and their last digits), which are rare by nature and go straight to the GIN
    index.
    """
    recent = (
        queryset.annotate(vector=RawSQL("customers_customer.search_vector", []))
        .order_by("-id")
        .values("id", "vector")[:RECENT_WINDOW]
    )
    recent_sql, recent_params = recent.query.sql_with_params()
    with connection.cursor() as cursor:
        # The inner LIMIT bounds the walk; the outer LIMIT stops it as soon as enough rows matched.
        cursor.execute(
            f"SELECT id FROM ({recent_sql}) AS recent WHERE vector @@ %s::tsquery LIMIT %s",
            [*recent_params, tsquery, limit],
        )
        return sorted((row[0] for row in cursor.fetchall()), reverse=True)
