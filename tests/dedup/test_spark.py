"""The same linkage on Spark (local mode) as on DuckDB: same settings, same blocking keys, same pairs."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from kehu.dedup import linkage

MISSING = importlib.util.find_spec("pyspark") is None or shutil.which("java") is None
WHY = "Spark needs pyspark (in requirements-dev.lock) and Java 17 (apt-get install openjdk-17-jre-headless)"
if MISSING and os.environ.get("KEHU_REQUIRE_SPARK"):  # CI: a missing Spark fails instead of skipping
    raise RuntimeError(f"KEHU_REQUIRE_SPARK is set: {WHY}")
pytestmark = [
    pytest.mark.skipif(MISSING, reason=WHY),
    pytest.mark.skipif(
        os.environ.get("KEHU_EXPECT_DB_VENDOR") == "postgresql",
        reason="linkage reads no database: the Spark comparison runs once, in the SQLite run of the suite",
    ),
]

FAMILY = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽"


def _records() -> list[linkage.LinkageRecord]:
    people = [
        linkage.linkage_record(
            n,
            name=FAMILY[n % 10] + GIVEN[n // 10] + "强",
            city=["深圳市", "杭州市", "成都市"][n % 3],
            phones=[f"+86139{n:08d}"],
            emails=[f"info@c{n}.cn"],  # "info": held by more than block_max, so it blocks nothing
            birthday=f"19{60 + n % 40}-0{1 + n % 9}-1{n % 9}",
        )
        for n in range(60)
    ]
    again = [  # three of them entered again: traditional characters, pinyin with a new phone, a swapped name
        linkage.linkage_record(100, name="王偉強", city="深圳市", phones=["+8613900000000"], birthday="1960-01-10"),
        linkage.linkage_record(
            101, name="Li Weiqiang", city="杭州市", phones=["+8613700000001"], emails=["info@c1.cn"]
        ),
        linkage.linkage_record(102, name="强伟张", city="成都市", phones=["+8613900000002"], birthday="1962-03-12"),
    ]
    return people + again


@pytest.mark.parametrize("learn", [False, True], ids=["shipped model", "learnt"])
def test_spark_finds_what_duckdb_finds(learn: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if learn:
        monkeypatch.setattr(linkage, "EM_MIN_RECORDS", 10)
    table = linkage.records_table(_records())
    local = linkage.link(table, block_max=20, engine_name="duckdb")
    spark = linkage.link(table, block_max=20, engine_name="spark")
    assert spark.common_values == local.common_values == {"email_user": 1}

    def found(result: linkage.LinkResult) -> dict[tuple[int, int], float]:
        return {
            (row["unique_id_l"], row["unique_id_r"]): row["match_weight"]
            for row in result.pairs.to_pylist()
            if row["match_probability"] >= 0.7
        }

    assert set(found(local)) == {(0, 100), (1, 101), (2, 102)}
    assert set(found(spark)) == set(found(local))
    if not learn:  # no random sampling: the same weights to the last digit that matters
        assert spark.comparisons_scored == local.comparisons_scored
        assert spark.weight_histogram == local.weight_histogram
        for pair, weight in found(local).items():
            assert found(spark)[pair] == pytest.approx(weight, abs=1e-6)
