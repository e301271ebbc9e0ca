"""Where linkage runs: DuckDB in memory on this machine (the default), or Spark for a base beyond one machine.

splink runs the same settings on both (`DuckDBAPI`, `SparkAPI`); what kehu adds around splink — the blocking
key columns with values too common left out, whether a training rule has any pairs, the match-weight histogram
and the pairs above the floor — is written once in SQL that both speak, with the few words that differ in a
dialect. `KEHU_DEDUP_ENGINE=spark` and `KEHU_SPARK_MASTER` (default `local[*]`) choose Spark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_COUNTER = iter(range(1, 1 << 62))


def block_key(columns: Sequence[str]) -> str:
    return "block_" + "_".join(columns)


@dataclass(frozen=True)
class Dialect:
    explode: str  # a list's elements as rows
    keep: str  # a list without some values: {column}, {values}


DUCKDB = Dialect(explode="unnest", keep="list_filter({column}, lambda v: NOT list_contains([{values}], v))")
SPARK = Dialect(explode="explode", keep="filter({column}, v -> NOT array_contains(array({values}), v))")


class Engine:
    """The database splink runs on, with the few queries kehu adds. Values stay in memory (DuckDB) or in the
    Spark cluster: none is written to a disk by kehu."""

    dialect: Dialect
    api: Any  # splink's DatabaseAPI

    def register(self, table: Any, name: str) -> Any:
        """The Arrow `table` as a table named `name` that SQL can read; what splink's Linker takes."""
        raise NotImplementedError

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def arrow(self, query: str) -> Any:
        raise NotImplementedError

    def keyed(self, table: Any, rules: Iterable[Sequence[str]], *, block_max: int) -> tuple[Any, dict[str, int]]:
        """`table` with one key column per rule: the rule's values joined, or NULL where more than `block_max`
        customers share them (the phones: the list without such phones); and how many values each rule left
        out."""
        source = f"kehu_unkeyed_{next(_COUNTER)}"
        self.register(table, source)
        columns: list[str] = []
        left_out: dict[str, int] = {}
        for rule in dict.fromkeys(tuple(rule) for rule in rules):
            name = block_key(rule)
            if rule == ("phones",):
                common = [
                    str(row[0])
                    for row in self.rows(
                        f"SELECT p FROM (SELECT {self.dialect.explode}(phones) AS p FROM {source}) AS phones "  # noqa: S608
                        f"GROUP BY p HAVING count(*) > {int(block_max)}"
                    )
                ]
                values = ", ".join("'" + value.replace("'", "''") + "'" for value in common)
                kept = self.dialect.keep.format(column="phones", values=values) if common else "phones"
                columns.append(f"{kept} AS {name}")
                left_out[name] = len(common)
                continue
            present = " AND ".join(f"{column} IS NOT NULL" for column in rule)
            group = ", ".join(rule)
            left_out[name] = int(
                self.rows(
                    f"SELECT count(*) FROM (SELECT 1 AS one FROM {source} WHERE {present} GROUP BY {group} "  # noqa: S608
                    f"HAVING count(*) > {int(block_max)}) AS common"
                )[0][0]
            )
            columns.append(
                f"CASE WHEN {present} AND count(*) OVER (PARTITION BY {group}) <= {int(block_max)} "
                f"THEN concat_ws(chr(31), {group}) END AS {name}"
            )
        return self.frame(f"SELECT *, {', '.join(columns)} FROM {source}"), left_out  # noqa: S608

    def frame(self, query: str) -> Any:
        """The result of `query` in the form `register` and splink take."""
        raise NotImplementedError

    def shares_values(self, table: str, columns: Sequence[str]) -> bool:
        """Whether two records of `table` hold the same values in `columns`: a blocking rule has pairs."""
        present = " AND ".join(f"{name} IS NOT NULL" for name in columns)
        group = ", ".join(columns)
        return bool(
            self.rows(f"SELECT 1 FROM {table} WHERE {present} GROUP BY {group} HAVING count(*) > 1 LIMIT 1")  # noqa: S608
        )

    def scored(self, predictions: Any, pair_floor: float) -> tuple[int, list[tuple[int, int]], Any]:
        """How many pairs were scored, how many at each whole match weight, and those at or above the floor
        (an Arrow table, strongest first)."""
        table = predictions.physical_name
        counts = self.rows(
            f"SELECT CAST(floor(match_weight) AS INTEGER) AS w, count(*) AS n FROM {table} GROUP BY 1 ORDER BY 1"  # noqa: S608
        )
        histogram = [(int(weight), int(count)) for weight, count in counts]
        pairs = self.arrow(
            f"SELECT * FROM {table} WHERE match_probability >= {float(pair_floor)} ORDER BY match_weight DESC"  # noqa: S608
        )
        return sum(count for _, count in histogram), histogram, pairs


class DuckDBEngine(Engine):
    dialect = DUCKDB

    def __init__(self) -> None:
        from splink import DuckDBAPI

        self.api = DuckDBAPI()
        self.con = self.api._con

    def register(self, table: Any, name: str) -> Any:
        self.con.register(name, table)
        return table

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        return list(self.con.sql(query).fetchall())

    def arrow(self, query: str) -> Any:
        return self.con.sql(query).to_arrow_table()

    def frame(self, query: str) -> Any:
        return self.arrow(query)


class SparkEngine(Engine):
    dialect = SPARK

    def __init__(self, master: str) -> None:
        from splink import SparkAPI

        self.spark = spark_session(master)
        # Lineage is broken by persisting (memory first), not by checkpoints or parquet files written to disk.
        self.api = SparkAPI(spark_session=self.spark, break_lineage_method="persist")

    def register(self, table: Any, name: str) -> Any:
        frame = table if hasattr(table, "createOrReplaceTempView") else self.spark.createDataFrame(table)
        frame.createOrReplaceTempView(name)
        return frame

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.spark.sql(query).collect()]

    def arrow(self, query: str) -> Any:
        return self.spark.sql(query).toArrow()

    def frame(self, query: str) -> Any:
        return self.spark.sql(query)


@lru_cache(maxsize=2)
def spark_session(master: str) -> Any:
    """One Spark session per master for the process (starting one takes seconds)."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    builder = (
        SparkSession.builder.master(master)
        .appName("kehu-dedup")
        .config("spark.jars", similarity_jar_location())  # splink's string similarity functions
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4" if master.startswith("local") else "200")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if master.startswith("local"):  # everything in this process: nothing listens beyond this machine
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
    return builder.getOrCreate()


def engine(name: str | None = None) -> Engine:
    """The engine `name` ("duckdb", "spark"), or the one settings choose (`KEHU_DEDUP_ENGINE`)."""
    from django.conf import settings

    chosen = name or settings.KEHU_DEDUP_ENGINE
    if chosen == "spark":
        return SparkEngine(settings.KEHU_SPARK_MASTER)
    return DuckDBEngine()
