"""Benchmark of the customer import: the full path against a raw bulk insert of the same rows.

    python bench/bench_import.py --customers 1000000 --backends sqlite,postgresql --runs 3

Writes a CSV of N customers (name, mobile, email, Chinese address; deterministic) once under var/bench/, then
on each backend, in a database of its own (`import`), for each run:

- **raw**: the same rows inserted into the same tables — customers, their two contact points, their address —
  with values already in final form, by the database's fastest bulk path (SQLite `executemany` in
  10,000-row transactions, PostgreSQL `COPY`): what the disk and the database can take, the physical limit;
- **full**: `kehu import` as a user runs it — the job reads the file as a stream, maps the columns,
  normalises and validates every value, matches on phone and email, encrypts contact values and addresses,
  builds the search document, writes customers, contact points, addresses, the search index, one audit
  record per customer and the job's checkpoint every 1,000 rows;
- **writes of the full path** (after the runs, as many times as there are runs): the rows the last full import
  wrote (customers, contact points, addresses, SQLite's search index, the audit records), read back, deleted,
  and inserted again as they were by the raw path's bulk statements, 10,000 customers a transaction: what the
  full path must write, without any of its work — the limit of the full path itself, above which no amount of
  faster normalising can take it.

Reports rows per second of both, their ratio, and the resident memory of the process and of the second
process a large import starts, summed, at every checkpoint of the full path (first, last, peak), which stays
flat when the file is streamed. The tables are emptied between
runs; figures are medians over runs. Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from common import BENCH_DIR, arguments, bench_main, bulk_insert, row_template

FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞平刚桂兰建华玉梅志红亮鹏飞晶婷浩宇欣怡子涵雨轩思远"
PLACES = [
    ("广东省", "深圳市", "南山区", "科技园路"),
    ("北京市", "北京市", "朝阳区", "建国路"),
    ("上海市", "上海市", "浦东新区", "世纪大道"),
    ("浙江省", "杭州市", "西湖区", "文三路"),
    ("四川省", "成都市", "武侯区", "人民南路"),
    ("江苏省", "南京市", "鼓楼区", "中山北路"),
    ("湖北省", "武汉市", "洪山区", "珞喻路"),
    ("山东省", "青岛市", "市南区", "香港中路"),
]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158",
                   "159", "166", "176", "177", "180", "181", "186", "187", "188", "189", "198", "199"]  # fmt: skip
BATCH = 10_000


def source_file(rows: int, seed: int) -> Path:
    path = BENCH_DIR / f"import-{rows}-{seed}.csv"
    if path.exists():
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "手机", "邮箱", "地址"])
        for index in range(rows):
            province, city, district, street = PLACES[index % len(PLACES)]
            writer.writerow(
                [
                    rng.choice(FAMILY) + rng.choice(GIVEN) + (rng.choice(GIVEN) if index % 3 else ""),
                    f"{rng.choice(MOBILE_PREFIXES)}{index:08d}",
                    f"u{index}.{rng.randint(10, 99)}@example.cn",
                    f"{province}{city}{district}{street}{rng.randint(1, 999)}号",
                ]
            )
    partial.rename(path)
    return path


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def rss_with_helpers_mb() -> float:
    """This process and the processes it started (the import's second process), resident memory summed.

    Pages a forked child shares with its parent count twice: an upper bound."""
    children = [int(pid) for path in Path("/proc/self/task").glob("*/children") for pid in path.read_text().split()]
    total = rss_mb()
    for pid in children:
        try:
            total += rss_mb(pid)
        except FileNotFoundError:
            continue
    return total


def empty_tables() -> None:
    from django.db import connection

    # The audit chain keeps growing across runs: emptying it would break it (and its head kept outside).
    tables = [
        "ingest_importissue",
        "ingest_importedrange",
        "core_job",
        "django_tasks_database_dbtaskresult",
        "customers_address",
        "customers_contactpoint",
        "customers_customer_tags",
        "customers_customer",
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("DELETE FROM customers_search")
            cursor.execute("DELETE FROM sqlite_sequence")
            cursor.execute("VACUUM")


def raw_insert(path: Path) -> int:
    """Insert the file's rows as final values, without kehu: ids assigned, one bulk statement per table."""
    from django.db import connection, transaction
    from django.utils import timezone

    from kehu.customers.models import Address, ContactPoint, Customer

    now: Any = timezone.now()
    if connection.vendor == "sqlite":
        now = now.replace(tzinfo=None).isoformat(" ")  # as Django stores it there
    owner = _owner()
    count = 0
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[list[str]] = []
        for record in reader:
            batch.append(record)
            if len(batch) == BATCH:
                with transaction.atomic():
                    _raw_batch(connection, batch, count, now, owner, Customer, ContactPoint, Address)
                count += len(batch)
                batch = []
        if batch:
            with transaction.atomic():
                _raw_batch(connection, batch, count, now, owner, Customer, ContactPoint, Address)
            count += len(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("customers_customer", "customers_contactpoint", "customers_address"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count * 2 + 1})")
    return count


def _raw_batch(connection: Any, batch: list[list[str]], start: int, now: Any, owner: Any, *models: Any) -> None:
    customer_model, point_model, address_model = models
    postgres = connection.vendor == "postgresql"
    columns_c, template_c = row_template(
        customer_model, {"created_at": now, "updated_at": now, "owner_id": owner.pk, "team_id": owner.team_id}
    )
    columns_p, template_p = row_template(point_model, {"created_at": now, "updated_at": now, "is_primary": True})
    columns_a, template_a = row_template(
        address_model,
        {"created_at": now, "updated_at": now, "province": "上海市", "city": "上海市", "district": "浦东新区",
         "is_primary": True},
    )  # fmt: skip
    slot_c = {name: columns_c.index(name) for name in ("id", "public_id", "display_name", "search_document")}
    slot_p = {name: columns_p.index(name) for name in ("id", "customer_id", "kind", "raw_value", "value")}
    slot_a = {name: columns_a.index(name) for name in ("id", "customer_id", "street", "raw")}
    customers, points, addresses = [], [], []
    for offset, (name, mobile, email, address) in enumerate(batch):
        customer_id = start + offset + 1
        row = list(template_c)
        row[slot_c["id"]] = customer_id
        row[slot_c["public_id"]] = str(uuid.uuid4()) if postgres else uuid.uuid4().hex
        row[slot_c["display_name"]] = row[slot_c["search_document"]] = name
        customers.append(row)
        for point_offset, (kind, value) in enumerate((("mobile", "+86" + mobile), ("email", email))):
            point = list(template_p)
            point[slot_p["id"]] = customer_id * 2 - 1 + point_offset
            point[slot_p["customer_id"]] = customer_id
            point[slot_p["kind"]] = kind
            point[slot_p["raw_value"]] = point[slot_p["value"]] = value
            points.append(point)
        place = list(template_a)
        place[slot_a["id"]] = place[slot_a["customer_id"]] = customer_id
        place[slot_a["street"]] = place[slot_a["raw"]] = address
        addresses.append(place)
    for table, columns, rows in (
        ("customers_customer", columns_c, customers),
        ("customers_contactpoint", columns_p, points),
        ("customers_address", columns_a, addresses),
    ):
        bulk_insert(connection, table, columns, rows)


def _owner() -> Any:
    from kehu.accounts.models import Team, User
    from kehu.accounts.roles import Role

    team, _ = Team.objects.get_or_create(name="导入")
    owner = User.objects.filter(username="importer").first()
    return owner or User.objects.create_user("importer", role=Role.SALES_REP, team=team)


def _replayed_tables(audit_after: int) -> list[tuple[str, list[str], str, str]]:
    """(table, columns, filter, the column holding the customer's id) of every row the full path wrote for its
    customers, parents first."""
    from django.db import connection

    from kehu.audit.models import AuditRecord
    from kehu.customers.models import Address, ContactPoint, Customer

    def columns(model: Any) -> list[str]:
        return [field.column for field in model._meta.concrete_fields]

    tables = [
        (Customer._meta.db_table, columns(Customer), "", "id"),
        (ContactPoint._meta.db_table, columns(ContactPoint), "", "customer_id"),
        (Address._meta.db_table, columns(Address), "", "customer_id"),
        (AuditRecord._meta.db_table, columns(AuditRecord), f"WHERE id > {int(audit_after)}", "customer_id"),
    ]
    if connection.vendor == "sqlite":
        tables.append(("customers_search", ["rowid", "document", "scope"], "", "rowid"))
    return tables


def replay_insert(audit_after: int) -> tuple[int, float]:
    """The full path's rows (those of its customers, and audit records after `audit_after`) read back, deleted
    and inserted again in final form, each 10,000 customers' rows in a transaction; the customers and the seconds
    the inserts took."""
    import bisect

    from django.db import connection, transaction

    from kehu.audit.models import AuditRecord

    postgres = connection.vendor == "postgresql"
    tables = _replayed_tables(audit_after)
    saved: dict[str, list[Any]] = {}
    with connection.cursor() as cursor:
        for table, names, where, _key in tables:
            quoted = [f'"{name}"' if name != "rowid" else name for name in names]
            # PostgreSQL: every value as its text, which COPY parses back to the column's type (JSON, bytea, …)
            selected = ", ".join(f"{name}::text" for name in quoted) if postgres else ", ".join(quoted)
            cursor.execute(f"SELECT {selected} FROM {table} {where} ORDER BY {quoted[0]}")
            saved[table] = cursor.fetchall()
        # the import's audit records deleted (those before it stay), then the tables emptied as the raw insert
        # finds them: no dead rows or bloated indexes to write around
        cursor.execute(f"DELETE FROM {AuditRecord._meta.db_table} WHERE id > {int(audit_after)}")
        if postgres:
            cursor.execute(f"VACUUM {AuditRecord._meta.db_table}")
    empty_tables()
    customer_ids = sorted(int(row[0]) for row in saved[tables[0][0]])
    bounds = customer_ids[::BATCH]
    chunks: list[dict[str, list[Any]]] = [{table: [] for table, *_rest in tables} for _ in bounds]
    for table, names, _where, key in tables:
        position = names.index(key)
        for row in saved[table]:
            owner = row[position]
            chunks[max(0, bisect.bisect_right(bounds, int(owner)) - 1) if owner is not None else 0][table].append(row)
    started = time.perf_counter()
    for chunk in chunks:
        with transaction.atomic():
            for table, names, _where, _key in tables:
                bulk_insert(connection, table, names, chunk[table])
    return len(customer_ids), time.perf_counter() - started


def full_import(path: Path) -> dict[str, Any]:
    """The import as `kehu import` runs it, in this process; returns its speed and memory."""
    from kehu.core.jobs import job_run
    from kehu.ingest.files import table_open, upload_plain, upload_store
    from kehu.ingest.mapping import auto_map
    from kehu.ingest.services import import_start

    owner = _owner()
    with path.open("rb") as source:
        upload = upload_store(actor=owner, name=path.name, source=source)
    with upload_plain(upload) as plain, table_open(plain, upload.file_format) as table:
        mapping = auto_map(table.headers)
    job = import_start(actor=owner, upload=upload, mapping=mapping)
    memory: list[float] = []
    started = time.perf_counter()
    job_run(job.pk, on_progress=lambda _job: memory.append(rss_with_helpers_mb()))
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    assert job.state == "succeeded", job.error
    assert job.counts.get("created") == job.progress_total, job.counts
    return {
        "rows": job.progress_done,
        "seconds": seconds,
        "rss_first_mb": memory[0],
        "rss_last_mb": memory[-1],
        "rss_peak_mb": max(memory),
    }


def child(args: argparse.Namespace) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max

    from kehu.audit.models import AuditRecord

    call_command("migrate", verbosity=0)
    path = source_file(args.customers, args.seed)
    runs: list[dict[str, Any]] = []
    for _run in range(args.runs):
        empty_tables()
        started = time.perf_counter()
        raw_rows = raw_insert(path)
        raw_seconds = time.perf_counter() - started
        empty_tables()
        audit_after = AuditRecord.objects.aggregate(last=Max("id"))["last"] or 0
        full = full_import(path)
        runs.append(
            {"raw_rows_per_s": raw_rows / raw_seconds, "full_rows_per_s": full["rows"] / full["seconds"], **full}
        )
    # the last import's rows written again, as often as there were runs (after them: the rows read back would
    # otherwise stay in this process's memory and count in the next run's)
    writes = []
    for _run in range(args.runs):
        replayed, replay_seconds = replay_insert(audit_after)
        assert replayed == full["rows"], (replayed, full["rows"])
        writes.append(replayed / replay_seconds)
    summary = {
        "backend": connection.vendor,
        "rows": args.customers,
        "runs": args.runs,
        "raw_rows_per_s": round(statistics.median(run["raw_rows_per_s"] for run in runs)),
        "full_rows_per_s": round(statistics.median(run["full_rows_per_s"] for run in runs)),
        "writes_rows_per_s": round(statistics.median(writes)),
        "rss_first_mb": round(statistics.median(run["rss_first_mb"] for run in runs)),
        "rss_last_mb": round(statistics.median(run["rss_last_mb"] for run in runs)),
        "rss_peak_mb": round(max(run["rss_peak_mb"] for run in runs)),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    summary["ratio"] = round(summary["full_rows_per_s"] / summary["raw_rows_per_s"], 3)
    summary["writes_ratio"] = round(summary["writes_rows_per_s"] / summary["raw_rows_per_s"], 3)
    print("RESULT " + json.dumps(summary))


def main() -> None:
    bench_main(
        __file__,
        arguments(__doc__),
        child,
        "import",
        ("backend", "rows", "full path rows/s", "raw insert rows/s", "full / raw", "full path's writes rows/s",
         "writes / raw", "RSS first / last / peak MB"),
        lambda r: [
            (r["backend"], f"{r['rows']:,}", f"{r['full_rows_per_s']:,}", f"{r['raw_rows_per_s']:,}",
             f"{r['ratio']:.0%}", f"{r['writes_rows_per_s']:,}", f"{r['writes_ratio']:.0%}",
             f"{r['rss_first_mb']} / {r['rss_last_mb']} / {r['rss_peak_mb']}")
        ],
        database="import",
    )  # fmt: skip


if __name__ == "__main__":
    main()
