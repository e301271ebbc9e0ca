"""Backups with a manifest of every table's row count and checksum, restore into an empty database, and
verification by restoring into a scratch database and comparing.

SQLite: the online backup API (consistent while kehu keeps serving). PostgreSQL: `pg_dump -Fc` /
`pg_restore`. A backup is a folder: the database file or dump, and `manifest.json`.

By default (`KEHU_BACKUP_ENCRYPT`) the file is sealed with the current field-encryption key (AES-256-GCM in
chunks, kehu.core.crypto.file_encrypt) and never written to the backup folder in the clear; the manifest
records the key id. A restore needs that key — as it needs it anyway to read the encrypted fields inside.
The manifest holds table names, row counts and checksums only: no personal data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

import kehu
from kehu.core.crypto import DecryptionError, KeyringError, file_decrypt, file_encrypt
from kehu.core.fields import keyring

MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.dump"
ENCRYPTED_SUFFIX = ".enc"
ENCRYPTION_SCHEME = "kehu-file-v1: AES-256-GCM in 1 MiB chunks, key from HKDF-SHA256"


class BackupError(Exception):
    """The backup, restore or verification cannot go on; the message says why."""


@dataclass(frozen=True)
class TableSum:
    rows: int
    checksum: str


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'customers_search_%' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows]


def _sum_rows(rows: Iterator[tuple[Any, ...]]) -> TableSum:
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        digest.update(repr(row).encode())
        count += 1
    return TableSum(rows=count, checksum=digest.hexdigest())


def sqlite_sums(path: Path) -> dict[str, TableSum]:
    """Row count and checksum of every table in a SQLite file (the FTS index's own tables excepted)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sums = {}
        for table in _sqlite_tables(db):
            columns = len(db.execute(f'SELECT * FROM "{table}" LIMIT 0').description)
            order = ", ".join(str(index + 1) for index in range(columns))
            sums[table] = _sum_rows(iter(db.execute(f'SELECT * FROM "{table}" ORDER BY {order}')))
        return sums
    finally:
        db.close()


def postgres_sums(url: str) -> dict[str, TableSum]:
    import psycopg

    with psycopg.connect(url) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        sums = {}
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}" LIMIT 0')
            columns = len(cursor.description or ())
            order = ", ".join(str(index + 1) for index in range(columns))
            sums[table] = _sum_rows(iter(db.execute(f'SELECT * FROM "{table}" ORDER BY {order}')))
        return sums


def _postgres_url(name: str | None = None) -> str:
    """A libpq connection string for the configured server (psycopg and pg_dump both take it), quoted safely."""
    from psycopg.conninfo import make_conninfo

    config = settings.DATABASES["default"]
    parts = {
        "host": config.get("HOST") or "localhost",
        "port": config.get("PORT") or 5432,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "dbname": name or config["NAME"],
    }
    return str(make_conninfo("", **{key: value for key, value in parts.items() if value is not None}))


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:500]}")


def _seal(plain: Path, sealed: Path) -> str:
    """Encrypt `plain` into `sealed` (owner-only) and remove `plain`; returns the key id."""
    with plain.open("rb") as source, sealed.open("wb") as target:
        sealed.chmod(0o600)
        key_id = file_encrypt(keyring(), source, target)
    plain.unlink()
    return key_id


def backup_create(
    *, out_dir: Path, encrypt: bool | None = None, progress: Callable[[str], None] = lambda _: None
) -> Path:
    """Write a backup of the configured database into a new folder under `out_dir`; returns the folder.

    `encrypt` defaults to KEHU_BACKUP_ENCRYPT. The clear copy is made in a private scratch folder beside the
    backups and removed once sealed, so the backup folder never holds personal data in the clear.
    """
    encrypt = settings.KEHU_BACKUP_ENCRYPT if encrypt is None else encrypt
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    folder = out_dir / f"kehu-{stamp}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    folder.chmod(0o700)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".kehu-backup-") as scratch:
        target, sums = _dump(Path(scratch) if encrypt else folder, progress)
        encryption = None
        if encrypt:
            progress("encrypting")
            sealed = folder / f"{target.name}{ENCRYPTED_SUFFIX}"
            encryption = {"scheme": ENCRYPTION_SCHEME, "key_id": _seal(target, sealed)}
            target = sealed
    manifest = {
        "kehu_version": kehu.__version__,
        "created_at": timezone.now().isoformat(),
        "engine": connection.vendor,
        "file": target.name,
        "sha256": _file_sha256(target),
        "encryption": encryption,
        "tables": {name: {"rows": table.rows, "checksum": table.checksum} for name, table in sums.items()},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder


def _dump(into: Path, progress: Callable[[str], None]) -> tuple[Path, dict[str, TableSum]]:
    """The database copied into `into`, with every table's sums."""
    if connection.vendor == "sqlite":
        target = into / SQLITE_FILE
        source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        destination = sqlite3.connect(target)
        try:
            progress("copying the database (online backup)")
            source.backup(destination)
        finally:
            destination.close()
            source.close()
        progress("summing every table")
        sums = sqlite_sums(target)
    else:
        target = into / POSTGRES_FILE
        progress("pg_dump")
        _run(["pg_dump", "-Fc", "--no-owner", "-f", str(target), _postgres_url()])
        progress("summing every table")
        sums = _restored_postgres_sums(target)
    return target, sums


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        raise BackupError(f"{folder} has no {MANIFEST}: not a kehu backup")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data = folder / manifest["file"]
    if not data.exists():
        raise BackupError(f"{data} is missing")
    if _file_sha256(data) != manifest["sha256"]:
        raise BackupError(f"{data} does not match the checksum in the manifest: the backup is damaged")
    return manifest


@contextmanager
def _plain_data(folder: Path, manifest: dict[str, Any]) -> Iterator[Path]:
    """The backup's database file in the clear: itself, or decrypted into a private scratch folder."""
    data = folder / manifest["file"]
    if not manifest.get("encryption"):
        yield data
        return
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".kehu-restore-") as scratch:
        plain = Path(scratch) / data.name.removesuffix(ENCRYPTED_SUFFIX)
        try:
            with data.open("rb") as source, plain.open("wb") as target:
                file_decrypt(keyring(), source, target)
        except (DecryptionError, KeyringError) as error:
            raise BackupError(f"cannot decrypt {data.name}: {error}") from None
        yield plain


@contextmanager
def _scratch_postgres() -> Iterator[str]:
    import psycopg

    name = f"kehu_scratch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_postgres_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _postgres_url(name)
    finally:
        with psycopg.connect(_postgres_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _restored_postgres_sums(dump: Path) -> dict[str, TableSum]:
    """Sums as they come out of a dump, so that a backup and its verification compare like with like."""
    with _scratch_postgres() as url:
        _run(["pg_restore", "--no-owner", "--exit-on-error", "-d", url, str(dump)])
        return postgres_sums(url)


@dataclass(frozen=True)
class VerifyReport:
    tables: int
    rows: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def backup_verify(folder: Path) -> VerifyReport:
    """Restore the backup into a scratch database and compare every table with the manifest."""
    manifest = _manifest(folder)
    with _plain_data(folder, manifest) as data:
        if manifest["engine"] == "sqlite":
            with tempfile.TemporaryDirectory() as scratch:
                copy = Path(scratch) / SQLITE_FILE
                shutil.copyfile(data, copy)
                sums = sqlite_sums(copy)
        else:
            sums = _restored_postgres_sums(data)
    expected = manifest["tables"]
    problems = [f"table {name} is missing" for name in sorted(set(expected) - set(sums))]
    problems += [f"table {name} is not in the manifest" for name in sorted(set(sums) - set(expected))]
    for name in sorted(set(expected) & set(sums)):
        if sums[name].rows != expected[name]["rows"]:
            problems.append(f"table {name}: {sums[name].rows} rows, the manifest says {expected[name]['rows']}")
        elif sums[name].checksum != expected[name]["checksum"]:
            problems.append(f"table {name}: the checksum differs from the manifest")
    return VerifyReport(tables=len(sums), rows=sum(table.rows for table in sums.values()), problems=problems)


def backup_restore(folder: Path) -> VerifyReport:
    """Restore into the configured database, which must be empty, then check it against the manifest."""
    manifest = _manifest(folder)
    if manifest["engine"] != connection.vendor:
        raise BackupError(
            f"the backup is of a {manifest['engine']} database, the configured one is {connection.vendor}"
        )
    if connection.introspection.table_names():
        raise BackupError("the configured database is not empty: restore only into a new, empty database")
    with _plain_data(folder, manifest) as data:
        if connection.vendor == "sqlite":
            target = Path(settings.DATABASES["default"]["NAME"])
            connection.close()
            for suffix in ("-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            temporary = target.with_name(f".{target.name}.restoring")
            shutil.copyfile(data, temporary)
            os.replace(temporary, target)
            sums = sqlite_sums(target)
        else:
            _run(["pg_restore", "--no-owner", "--exit-on-error", "-d", _postgres_url(), str(data)])
            sums = postgres_sums(_postgres_url())
    expected = manifest["tables"]
    problems = [
        f"table {name}: restored rows or checksum differ from the manifest"
        for name in sorted(set(expected) | set(sums))
        if name not in sums or name not in expected or sums[name] != TableSum(**expected[name])
    ]
    return VerifyReport(tables=len(sums), rows=sum(table.rows for table in sums.values()), problems=problems)
