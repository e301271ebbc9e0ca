"""kehu refuses to start with settings it cannot use, and says which variable is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kehu.core.crypto import key_decode


def _start(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")}
    clean.update({"KEHU_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "kehu.settings", **env})
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.TIME_ZONE, s.LANGUAGE_CODE, s.KEHU_CURRENCY)"
    )
    return subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=False)


KEYS = {
    "KEHU_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
    "KEHU_BLIND_INDEX_KEY": "B" * 43 + "=",
}


def test_production_needs_encryption_keys_and_checks_them(tmp_path: Path) -> None:
    secret = {"KEHU_SECRET_KEY": "x" * 40}
    assert "KEHU_ENCRYPTION_KEYS (or KEHU_ENCRYPTION_KEYS_FILE) is required" in _start(secret, tmp_path).stderr
    short = _start({**secret, **KEYS, "KEHU_ENCRYPTION_KEYS": "k1:c2hvcnQ="}, tmp_path).stderr
    assert "KEHU_ENCRYPTION_KEYS key k1 must be 32 bytes (44 base64 characters), not 5 bytes" in short
    twice = _start(
        {**secret, **KEYS, "KEHU_ENCRYPTION_KEYS": KEYS["KEHU_ENCRYPTION_KEYS"] + "," + KEYS["KEHU_ENCRYPTION_KEYS"]},
        tmp_path,
    ).stderr
    assert "KEHU_ENCRYPTION_KEYS: the key id k1 appears twice" in twice
    groups = _start({**secret, **KEYS, "KEHU_ENCRYPTED_FIELDS": "contact,names"}, tmp_path).stderr
    assert "KEHU_ENCRYPTED_FIELDS" in groups
    assert _start({**secret, **KEYS}, tmp_path).returncode == 0


def test_defaults_with_development_key(tmp_path: Path) -> None:
    result = _start({"KEHU_DEBUG": "true"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "Asia/Shanghai", "zh-hans", "CNY"]
    key = tmp_path / "secret_key"
    assert key.exists()
    assert oct(key.stat().st_mode)[-3:] == "600"


def test_production_needs_a_key(tmp_path: Path) -> None:
    result = _start({}, tmp_path)
    assert result.returncode != 0
    assert "KEHU_SECRET_KEY (or KEHU_SECRET_KEY_FILE) is required" in result.stderr


def test_bad_values_name_the_variable(tmp_path: Path) -> None:
    key = {"KEHU_SECRET_KEY": "x" * 40, **KEYS}
    assert (
        "KEHU_TIME_ZONE='Mars/Base' is not a known time zone"
        in _start({**key, "KEHU_TIME_ZONE": "Mars/Base"}, tmp_path).stderr
    )
    assert "KEHU_CURRENCY='RMBX'" in _start({**key, "KEHU_CURRENCY": "rmbx"}, tmp_path).stderr
    assert "only sqlite:// and postgres://" in _start({**key, "KEHU_DATABASE_URL": "mysql://x@y/z"}, tmp_path).stderr
    assert "KEHU_DEBUG='perhaps' is not a boolean" in _start({**key, "KEHU_DEBUG": "perhaps"}, tmp_path).stderr


def test_keys_generate_works_before_any_key_exists(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")}
    clean.update({"KEHU_VAR_DIR": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    result = subprocess.run(
        [sys.executable, "-m", "kehu.cli", "keys", "generate"], env=clean, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert len(key_decode(result.stdout.strip(), name="generated")) == 32
