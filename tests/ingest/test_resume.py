"""A worker killed in the middle of an import: the job resumes where it stopped and ends with the exact row count.

Runs kehu as a user would — `kehu import --background`, `kehu worker`, SIGKILL, `kehu worker` again — in
subprocesses on a database of their own, of the same engine as the test run (SQLite file or PostgreSQL).
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROWS = 12_000
KILL_AFTER = 3_000
KEHU = [sys.executable, "-m", "kehu.cli"]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A URL for a fresh database of the suite's engine, and a function that runs one query on it."""
    if connection.vendor == "sqlite":
        path = tmp_path / "resume.sqlite3"

        def query_sqlite(sql: str) -> Any:
            with sqlite3.connect(path) as db:
                return db.execute(sql).fetchone()

        yield f"sqlite:///{path}", query_sqlite
        return
    import psycopg

    settings = connection.settings_dict
    name = f"kehu_resume_{uuid.uuid4().hex[:8]}"
    admin = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"] or "postgres",
        "password": settings["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as db:
        db.execute(f'CREATE DATABASE "{name}"')

    def query_postgres(sql: str) -> Any:
        with psycopg.connect(dbname=name, **admin) as db:
            return db.execute(sql).fetchone()

    password = f":{admin['password']}" if admin["password"] else ""
    try:
        yield f"postgres://{admin['user']}{password}@{admin['host']}:{admin['port']}/{name}", query_postgres
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Linux: /proc)."""
    found = Path(f"/proc/{pid}/task").glob("*/children")
    return [int(child) for path in found for child in path.read_text().split()]


def test_a_killed_worker_resumes_and_imports_every_row_once(tmp_path: Path, database: tuple[str, Any]) -> None:
    url, query = database
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kehu.settings",
        "KEHU_DATABASE_URL": url,
        "KEHU_VAR_DIR": str(tmp_path / "var"),
        "KEHU_AUDIT_HEAD_FILE": str(tmp_path / "audit-head.json"),
        "KEHU_JOB_STALE_SECONDS": "5",
    }

    def kehu(*args: str) -> str:
        done = subprocess.run([*KEHU, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    kehu("migrate", "--noinput", "-v0")
    kehu("shell", "-c", "from kehu.accounts.models import User; User.objects.create_user('rep', role='sales_rep')")
    source = tmp_path / "fair.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "手机", "邮箱", "地址"])
        for index in range(ROWS):
            writer.writerow(
                [f"客户{index}", f"139{index:08d}", f"c{index}@example.cn", f"上海市浦东新区世纪大道{index}号"]
            )
    kehu("import", str(source), "--as", "rep", "--background")

    worker = subprocess.Popen([*KEHU, "worker", "--interval", "0.2"], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        done = 0
        while time.monotonic() < deadline:
            row = query("SELECT progress_done FROM core_job")
            done = row[0] if row else 0
            if done >= KILL_AFTER:
                break
            assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
            time.sleep(0.05)
        assert done >= KILL_AFTER, "the import did not get going"
        helpers = _children(worker.pid)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    # A file this size is prepared in a second process; it ends with the worker instead of waiting forever.
    assert len(helpers) == 1 or not Path("/proc/self/task").exists()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in helpers), "the second process outlived its worker"
    state, done, attempts = query("SELECT state, progress_done, attempts FROM core_job")
    customers = query("SELECT COUNT(*) FROM customers_customer")[0]
    assert state == "running"  # killed: nobody marked it finished
    assert done < ROWS, "the import finished before the kill; make it longer"
    assert customers == done  # each batch committed with its progress, nothing half-written
    assert attempts == 1

    kehu("worker", "--batch", "--interval", "0.2")  # resumes the job whose worker is gone, then exits

    state, done, attempts = query("SELECT state, progress_done, attempts FROM core_job")
    assert state == "succeeded"
    assert attempts == 2
    assert done == ROWS
    assert query("SELECT COUNT(*) FROM customers_customer")[0] == ROWS
    assert query("SELECT COUNT(DISTINCT value_index) FROM customers_contactpoint WHERE kind = 'mobile'")[0] == ROWS
    assert query("SELECT COUNT(*) FROM customers_contactpoint")[0] == 2 * ROWS
    assert query("SELECT COUNT(*) FROM customers_address")[0] == ROWS
    assert query("SELECT COUNT(*) FROM audit_auditrecord WHERE event = 'customer.created'")[0] == ROWS
    assert kehu("audit", "verify").strip()  # the audit chain is whole across the kill
