"""What the benchmarks share: the database each backend runs on, percentiles, and realistic query mixes.

The parent process prepares a database per backend and re-runs the benchmark script as a child with that
backend's environment; the child loads data (or reuses it with --skip-load) and measures in process.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kehu.accounts.models import User
    from kehu.customers.models import Customer

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(os.environ.get("KEHU_BENCH_DIR", ROOT / "var" / "bench"))
POSTGRES_ADMIN_URL = os.environ.get("KEHU_BENCH_POSTGRES_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
POSTGRES_URL = os.environ.get("KEHU_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/kehu_bench")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def runs_summary(values: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs of one measure ({"p50", "p95", "queries"} each) as reported: the median of the runs' p50 and p95,
    and the fewest and most queries seen."""
    import statistics

    counts = [count for value in values for count in value["queries"]]
    return {
        "p50_ms": round(statistics.median(v["p50"] for v in values), 2),
        "p95_ms": round(statistics.median(v["p95"] for v in values), 2),
        "queries_min": min(counts),
        "queries_max": max(counts),
    }


def bench_key(name: str) -> str:
    """A key file under var/bench/, made once so that a loaded database can be measured again (--skip-load)."""
    path = BENCH_DIR / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
        path.write_text(f"b1:{key}" if name == "encryption-keys" else key, encoding="utf-8")
        path.chmod(0o600)
    return str(path)


def prepare_database(backend: str, *, fresh: bool = True, name: str = "bench") -> dict[str, str]:
    """The environment for a child process on `backend`; with `fresh`, an empty database first.

    `name` keeps benchmarks apart: the import benchmark empties its own database, not the 1M-customer one."""
    env = dict(os.environ)
    env["KEHU_SECRET_KEY"] = "bench-only-secret-key-0123456789-abcdefghij"
    env["KEHU_VAR_DIR"] = str(BENCH_DIR)
    env["KEHU_ENCRYPTION_KEYS_FILE"] = bench_key("encryption-keys")
    env["KEHU_BLIND_INDEX_KEY_FILE"] = bench_key("blind-index-key")
    env["KEHU_TWO_FACTOR_ROLES"] = "none"  # the benchmarks sign in with API tokens and force_login
    env["KEHU_ALLOWED_HOSTS"] = "testserver"
    env["KEHU_HTTPS"] = "false"  # the test client speaks plain HTTP
    if backend == "sqlite":
        path = BENCH_DIR / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm") if fresh else ():
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        env["KEHU_DATABASE_URL"] = f"sqlite:///{path}"
    else:
        if fresh:
            import psycopg

            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS kehu_{name}")
                connection.execute(f"CREATE DATABASE kehu_{name}")
        env["KEHU_DATABASE_URL"] = POSTGRES_URL.replace("/kehu_bench", f"/kehu_{name}")
    return env


def sample_customers(rng: random.Random, count: int, owner: User | None) -> list[Customer]:
    """`count` random customers (of `owner`, when given), with their contact points fetched."""
    from kehu.customers.models import Customer

    max_id = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0
    chosen: list[Customer] = []
    while len(chosen) < count:
        ids = [rng.randint(1, max_id) for _ in range(count * 3)]
        queryset = Customer.objects.filter(id__in=ids).prefetch_related("contact_points")
        if owner is not None:
            queryset = queryset.filter(owner=owner)
        chosen += list(queryset)
    return chosen[:count]


def query_mix(rng: random.Random, count: int) -> list[str]:
    """What people type into the search box, in equal parts: the name, its pinyin, its initials (or an English
    first name), the last four digits of the phone, and the start of the email."""
    from kehu.core.chinese import pinyin_initials, pinyin_readings

    queries: list[str] = []
    for customer in sample_customers(rng, count, None):
        kind = len(queries) % 5
        phone = next((p.value for p in customer.contact_points.all() if p.kind in ("mobile", "phone")), "")
        email = next((p.value for p in customer.contact_points.all() if p.kind == "email"), "")
        name = customer.display_name
        chinese = any("\u4e00" <= char <= "\u9fff" for char in name)
        if kind == 0:
            queries.append(name)
        elif kind == 1:
            queries.append(pinyin_readings(name)[0] if chinese else name.lower())
        elif kind == 2:
            queries.append(pinyin_initials(name)[0] if chinese else name.split()[0].lower())
        elif kind == 3 and phone:
            queries.append(phone[-4:])
        elif email:
            queries.append(email.split("@")[0][:6])
        else:
            queries.append(name)
    return queries


def arguments(description: str | None) -> argparse.ArgumentParser:
    """The options every benchmark takes; a script adds its own."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-load", action="store_true", help="measure the database already loaded")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


def run_backends(
    script: str, name: str, args: argparse.Namespace, *, database: str = "bench"
) -> tuple[str, list[dict[str, Any]]]:
    """Run `script` as a child on each backend; collect each child's RESULT line and save them under bench/results/."""
    results = []
    for backend in args.backends.split(","):
        env = prepare_database(backend, fresh=not args.skip_load, name=database)
        command = [sys.executable, script, "--child", *sys.argv[1:]]
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if completed.returncode != 0:
            print(completed.stdout, completed.stderr, file=sys.stderr)
            raise SystemExit(f"benchmark on {backend} failed")
        line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
        results.append(json.loads(line.removeprefix("RESULT ")))
    machine = f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out_dir / f"{name}-{stamp}.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print(f"machine: {machine}")
    return machine, results


def row_template(model: Any, values: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """Every concrete column of `model` with `values` or the field's default, in a fixed order."""
    columns, defaults = [], []
    for field in model._meta.concrete_fields:
        columns.append(field.column)
        if field.attname in values:
            defaults.append(values[field.attname])
        else:
            default = field.get_default()  # "" for text that may be blank, None where null is allowed
            defaults.append(json.dumps(default) if field.get_internal_type() == "JSONField" else default)
    return columns, defaults


def bulk_insert(connection: Any, table: str, columns: list[str], rows: list[Any]) -> None:
    """Rows in final form by the database's fastest bulk path: PostgreSQL `COPY`, SQLite `executemany`."""
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def bench_main(
    script: str,
    parser: argparse.ArgumentParser,
    child: Callable[[argparse.Namespace], None],
    name: str,
    headings: Sequence[str],
    rows: Callable[[dict[str, Any]], Iterable[Sequence[Any]]],
    *,
    database: str = "bench",
) -> None:
    """A benchmark's entry point: as the child, measure (`child`); as the parent, run the child on each backend
    and print its results as a Markdown table (`rows` gives a result's rows, cells in the order of `headings`)."""
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    _machine, results = run_backends(script, name, args, database=database)
    print("| " + " | ".join(headings) + " |")
    print("|" + " --- |" * len(headings))
    for result in results:
        for row in rows(result):
            print("| " + " | ".join(str(cell) for cell in row) + " |")
