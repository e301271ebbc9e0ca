"""Large imports prepare their rows in a second process, which never touches the database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kehu.accounts.models import User
from kehu.customers import bulk
from kehu.customers.models import Customer
from kehu.ingest import prepare
from kehu.ingest.rows import row_plan
from tests.ingest.test_import import FIXTURES, run_import


def test_a_large_import_prepares_its_rows_in_a_second_process(
    alice: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = tmp_path / "pids"
    build = bulk.customers_build

    def build_and_say_where(**options: Any) -> Any:
        with where.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        return build(**options)

    monkeypatch.setattr(prepare, "customers_build", build_and_say_where)  # the fork inherits the patch
    monkeypatch.setattr("kehu.ingest.runner.PARALLEL_FROM", 0)
    job = run_import(alice, FIXTURES / "customers_5pct_broken.csv")
    assert job.state == "succeeded"
    pids = set(where.read_text().split())
    assert len(pids) == 1
    assert str(os.getpid()) not in pids
    assert Customer.objects.count() == job.counts["created"] > 0


def test_the_second_process_refuses_to_query_the_database(alice: User, monkeypatch: pytest.MonkeyPatch) -> None:
    def build_with_a_query(**_options: Any) -> Any:
        return Customer.objects.count()

    monkeypatch.setattr(prepare, "customers_build", build_with_a_query)
    plan = row_plan(["姓名"], {"姓名": "display_name"})
    options = {"actor": alice, "import_batch": "t", "definitions": {}, "language": "en"}
    with prepare.Preparer(parallel=True) as preparer:
        future = preparer.submit(plan, [(2, ["张三"])], **options)
        with pytest.raises(RuntimeError, match="must not query the database"):
            future.result(timeout=60)
    with prepare.Preparer(parallel=False) as preparer:  # here, the same function may
        assert preparer.submit(plan, [(2, ["张三"])], **options).result().built == 0
