"""Columns of kehu's database read straight into Arrow, for analytics over the whole base.

Reading ten million order lines through Django's `values_list` builds ten million Python tuples (about a minute);
ADBC (Arrow Database Connectivity) drivers read the same rows into Arrow columns in a few seconds: PostgreSQL's
binary COPY through libpq, SQLite's rows through its C API. Both are Apache Arrow projects
(`adbc-driver-postgresql`, `adbc-driver-sqlite`).

- Numbers are cast to double precision in the query, so a column never switches type between rows (SQLite keeps
  `100` and `100.5` as different types); SQLite's ADBC driver infers a column's type from the first batch, so the
  batch is made large enough to see past leading NULLs.
- Timestamps come back as UTC (`timestamp[us, UTC]`): PostgreSQL sends them typed, SQLite as the text Django wrote.
- An in-memory SQLite database (the tests') cannot be opened from a second connection: it is read through Django's
  own connection instead, as is any database where the ADBC read fails, so the answer never depends on the path.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

logger = logging.getLogger(__name__)

SQLITE_BATCH_ROWS = 4_000_000


def _sqlite_file() -> str | None:
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name or name.startswith("file:memorydb"):
        return None
    return name


def _postgres_uri() -> str:
    from urllib.parse import quote

    from django.db import connection

    settings = connection.settings_dict
    user = quote(settings.get("USER") or "", safe="")
    password = quote(str(settings.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = settings.get("HOST") or "localhost"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgresql://{credentials}{host}{port}/{quote(str(settings['NAME']), safe='')}"


def _adbc(sql: str) -> Any | None:
    """The query's result through ADBC, or None where ADBC cannot reach the database."""
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "postgresql":
        import adbc_driver_postgresql.dbapi as driver

        with driver.connect(_postgres_uri()) as con, con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetch_arrow_table()
    path = _sqlite_file()
    if path is None:
        return None
    import adbc_driver_sqlite.dbapi as sqlite_driver

    with sqlite_driver.connect(path) as con, con.cursor() as cursor:
        # wait for a writer's lock (or another reader opening the WAL) as kehu's own connections do
        cursor.execute(f"PRAGMA busy_timeout = {int(settings.DATABASES['default']['OPTIONS']['timeout'] * 1000)}")
        cursor.fetchall()
        # pages through a memory map, as kehu's own connections read them: no system call and copy per page
        # (5% of the time to read ten million order lines)
        cursor.execute(f"PRAGMA mmap_size = {settings.KEHU_SQLITE_MMAP_BYTES}")
        cursor.fetchall()
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(SQLITE_BATCH_ROWS)})
        cursor.execute(sql)
        return cursor.fetch_arrow_table()


def _through_django(sql: str) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    return pa.table({name: pa.array([row[i] for row in rows]) for i, name in enumerate(names)})


def _fetch(sql: str) -> Any | None:
    try:
        return _adbc(sql)
    except Exception as error:  # noqa: BLE001 - any driver failure: the slower path gives the same answer
        logger.warning("analytics: reading through ADBC failed (%s); reading through Django instead", error)
        return None


def read_arrow_many(queries: Mapping[str, tuple[str, Sequence[str]]], types: dict[str, Any]) -> dict[str, Any]:
    """`read_arrow` of several queries, fetched side by side (one connection and thread per query, as many at once
    as there are cores: the drivers work outside Python's lock, so two cores read twice as fast)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(len(queries), os.cpu_count() or 1))) as pool:
        fetched = dict(zip(queries, pool.map(_fetch, [sql for sql, _columns in queries.values()]), strict=True))
    return {name: _typed(fetched[name], sql, columns, types) for name, (sql, columns) in queries.items()}


def read_arrow(sql: str, columns: Sequence[str], types: dict[str, Any]) -> Any:
    """The rows of `sql` (its `columns`, by name) as an Arrow table with the given column types
    (`types[column]`, int64 where not named). Timestamps are read as UTC."""
    return _typed(_fetch(sql), sql, columns, types)


def _typed(table: Any | None, sql: str, columns: Sequence[str], types: dict[str, Any]) -> Any:
    """The fetched table's `columns`, by name (or, when ADBC could not fetch it, the same read through Django) with
    `types`."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    if table is None:
        table = _through_django(sql)
    arrays = []
    for column in columns:
        wanted = types.get(column, pa.int64())
        values = table.column(column)
        if pa.types.is_timestamp(wanted):
            if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
                values = pc.cast(values, pa.timestamp("us"))
            if pa.types.is_timestamp(values.type) and values.type.tz is None:
                values = pc.assume_timezone(values, "UTC")
            elif not pa.types.is_timestamp(values.type):  # datetime objects, or all NULL
                values = pa.chunked_array([pa.array(values.to_pylist(), type=wanted)]) if len(values) else values
        arrays.append(values.cast(wanted) if len(values) else pa.array([], type=wanted))
    return pa.table(arrays, names=list(columns))
