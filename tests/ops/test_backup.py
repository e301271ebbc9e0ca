"""`kehu backup` → wipe → `kehu restore` → `kehu backup verify`, as an administrator runs them, on both engines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES = os.environ.get("KEHU_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def _kehu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kehu.cli", *args], env=env, capture_output=True, text=True, check=False
    )


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        {
            "KEHU_SECRET_KEY": "backup-test-secret-key-0123456789-abcdefgh",
            "KEHU_ENCRYPTION_KEYS": os.environ["KEHU_ENCRYPTION_KEYS"],
            "KEHU_BLIND_INDEX_KEY": os.environ["KEHU_BLIND_INDEX_KEY"],
            "KEHU_VAR_DIR": str(tmp_path / "var"),
            "KEHU_DATABASE_URL": database_url,
            "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
        }
    )
    return env


def _round_trip(tmp_path: Path, source_url: str, target_url: str, *, encrypt: bool = True) -> None:
    source = _env(tmp_path, source_url)
    assert _kehu(source, "migrate", "-v0").returncode == 0
    loaded = _kehu(source, "demo", "--customers", "60", "--seed", "4", "--workers", "1", "-v0")
    assert loaded.returncode == 0, loaded.stderr
    made = _kehu(source, "backup", "--out", str(tmp_path / "backups"), "--encrypt" if encrypt else "--no-encrypt")
    assert made.returncode == 0, made.stderr
    folder = made.stdout.strip().splitlines()[-1]
    manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    files = sorted(path.name for path in Path(folder).iterdir())
    if encrypt:
        assert manifest["encryption"]["key_id"] == "k2"  # the current key of the test keyring
        assert files == sorted(["manifest.json", manifest["file"]])
        assert manifest["file"].endswith(".enc")
        sealed = (Path(folder) / manifest["file"]).read_bytes()
        assert b"SQLite format 3" not in sealed
        assert b"PGDMP" not in sealed
        assert "有限公司".encode() not in sealed  # demo company names, in the clear in a plain dump
        assert not list((tmp_path / "backups").glob(".kehu-*"))  # the clear scratch copy is gone
        keyless = {**_env(tmp_path, target_url), "KEHU_ENCRYPTION_KEYS": "z9:" + "A" * 43 + "="}
        refused = _kehu(keyless, "backup", "verify", folder)
        assert refused.returncode != 0
        assert "cannot decrypt" in refused.stderr
        assert "k2" in refused.stderr
    else:
        assert manifest["encryption"] is None

    target = _env(tmp_path, target_url)
    restored = _kehu(target, "restore", folder)
    assert restored.returncode == 0, restored.stderr
    assert "restored and verified" in restored.stdout
    counted = _kehu(
        target, "shell", "-c", "from kehu.customers.models import Customer; print(Customer.objects.count())"
    )
    assert counted.stdout.strip().splitlines()[-1] == "60"
    assert _kehu(target, "audit", "verify").returncode == 0
    again = _kehu(target, "restore", folder)
    assert again.returncode != 0
    assert "not empty" in again.stderr

    verified = _kehu(target, "backup", "verify", folder)
    assert verified.returncode == 0, verified.stderr
    assert "backup verified" in verified.stdout
    data = next(path for path in Path(folder).iterdir() if path.name.startswith("database"))
    with data.open("r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 0xFF]))
    damaged = _kehu(target, "backup", "verify", folder)
    assert damaged.returncode != 0
    assert "the backup is damaged" in damaged.stderr


def _suite_engine() -> str:
    """The engine this run of the suite is on: each engine's round trip runs once, in its own run."""
    from django.conf import settings

    return "postgresql" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "sqlite"


@pytest.mark.parametrize("encrypt", [True, False], ids=["encrypted", "plain"])
def test_sqlite_round_trip(tmp_path: Path, encrypt: bool) -> None:
    if _suite_engine() != "sqlite":
        pytest.skip("the SQLite round trip runs in the SQLite run of the suite")
    source, target = f"sqlite:///{tmp_path / 'source.sqlite3'}", f"sqlite:///{tmp_path / 'target.sqlite3'}"
    _round_trip(tmp_path, source, target, encrypt=encrypt)


@pytest.fixture
def postgres_databases() -> Iterator[tuple[str, str]]:
    if _suite_engine() != "postgresql":
        pytest.skip("the PostgreSQL round trip runs in the PostgreSQL run of the suite")
    psycopg = pytest.importorskip("psycopg")
    admin_url = POSTGRES.rsplit("/", 1)[0] + "/postgres"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        if os.environ.get("KEHU_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"PostgreSQL is not reachable at {admin_url}")
    names = [f"kehu_backup_{uuid.uuid4().hex[:8]}_{side}" for side in ("source", "target")]
    for name in names:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES.rsplit("/", 1)[0]
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_postgres_round_trip(tmp_path: Path, postgres_databases: tuple[str, str]) -> None:
    _round_trip(tmp_path, *postgres_databases)
