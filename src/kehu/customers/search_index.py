"""The customer search index: an FTS5 table on SQLite, a GIN index over the token array on PostgreSQL.

Both index the same `Customer.search_document` built by kehu.core.search; services keep it current.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from kehu.core.search import build_document, fts5_expression, parse_query, tsquery_expression
from kehu.customers.models import ContactKind, Customer

FTS_TABLE = "customers_search"
POSTGRES_VECTOR = "array_to_tsvector(string_to_array(customers_customer.search_document, ' '))"


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


def index_write(rows: Sequence[tuple[int, str]]) -> None:
    """Store (customer id, document) pairs in the backend's index; the caller has saved search_document."""
    if connection.vendor != "sqlite" or not rows:
        return  # PostgreSQL indexes the column itself
    with connection.cursor() as cursor:
        cursor.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [(row_id,) for row_id, _ in rows])
        cursor.executemany(f"INSERT INTO {FTS_TABLE}(rowid, document) VALUES (%s, %s)", list(rows))


def index_refresh(customers: Iterable[Customer]) -> None:
    """Rebuild the documents of customers whose names or contact points changed."""
    changed: list[tuple[int, str]] = []
    for customer in customers:
        document = document_for(customer)
        if document != customer.search_document:
            customer.search_document = document
            customer.save(update_fields=["search_document"])
        changed.append((customer.pk, document))
    index_write(changed)


def index_rebuild() -> int:
    """Rebuild the SQLite FTS table from the stored documents (after a restore, say); returns rows indexed."""
    if connection.vendor != "sqlite":
        return Customer.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE}")
        cursor.execute(f"INSERT INTO {FTS_TABLE}(rowid, document) SELECT id, search_document FROM customers_customer")
        return int(cursor.rowcount)


def search_filter(queryset: QuerySet[Customer], query: str) -> QuerySet[Customer]:
    """Narrow a customer queryset to those matching what the user typed; an empty query matches nothing."""
    terms = parse_query(query)
    if not terms:
        return queryset.none()
    if connection.vendor == "sqlite":
        subquery = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [fts5_expression(terms)])
        return queryset.filter(id__in=subquery)
    matches = RawSQL(f"{POSTGRES_VECTOR} @@ %s::tsquery", [tsquery_expression(terms)], output_field=BooleanField())
    return queryset.alias(search_match=matches).filter(search_match=True)
