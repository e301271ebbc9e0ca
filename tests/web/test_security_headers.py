"""Security headers on pages and API, and a production configuration that `check --deploy` accepts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/accounts/login/", "/api/v1/openapi.json", "/api/v1/docs"])
def test_headers(client: Client, url: str) -> None:
    response = client.get(url)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_carry_no_inline_script(client: Client) -> None:
    """Scripts come from kehu's static files; JSON data blocks are not executed."""
    page = client.get("/accounts/login/").content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    assert scripts  # htmx and kehu.js
    for attributes, body in scripts:
        assert 'src="/static/' in attributes or 'type="application/json"' in attributes, attributes
        assert not body.strip() or 'type="application/json"' in attributes
    assert "<style" not in page
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page)  # no onclick=… handlers


def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "kehu.settings",
            "KEHU_SECRET_KEY": "production-like-secret-" + "k3hu" * 12,
            "KEHU_ALLOWED_HOSTS": "crm.example.com",
            "KEHU_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
            "KEHU_BLIND_INDEX_KEY": "B" * 43 + "=",
            "KEHU_VAR_DIR": str(tmp_path),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
