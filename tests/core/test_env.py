"""Settings helpers fail loudly on values kehu cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest

from kehu.core.env import ConfigurationError, env_bool, env_choice, env_int, env_list, env_secret


def test_bool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEHU_X", "yes")
    assert env_bool("KEHU_X", False) is True
    monkeypatch.setenv("KEHU_X", "0")
    assert env_bool("KEHU_X", True) is False
    monkeypatch.setenv("KEHU_X", "maybe")
    with pytest.raises(ConfigurationError, match="KEHU_X='maybe' is not a boolean"):
        env_bool("KEHU_X", False)


def test_int_list_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEHU_N", "abc")
    with pytest.raises(ConfigurationError, match="is not an integer"):
        env_int("KEHU_N", 1)
    monkeypatch.setenv("KEHU_N", "0")
    with pytest.raises(ConfigurationError, match="below the minimum 1"):
        env_int("KEHU_N", 5, minimum=1)
    monkeypatch.setenv("KEHU_L", "a.example, b.example,")
    assert env_list("KEHU_L", []) == ["a.example", "b.example"]
    monkeypatch.setenv("KEHU_C", "fr")
    with pytest.raises(ConfigurationError, match="is not one of en, zh-hans"):
        env_choice("KEHU_C", "zh-hans", {"zh-hans", "en"})


def test_secret_from_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("KEHU_S_FILE", str(secret))
    assert env_secret("KEHU_S") == "s3cret"
    monkeypatch.setenv("KEHU_S", "other")
    with pytest.raises(ConfigurationError, match="not both"):
        env_secret("KEHU_S")
    monkeypatch.delenv("KEHU_S")
    monkeypatch.setenv("KEHU_S_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="is not a readable file"):
        env_secret("KEHU_S")
