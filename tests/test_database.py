"""The suite runs on the database CI asked for, with its search index in place."""

from __future__ import annotations

import os

import pytest
from django.db import connection


@pytest.mark.django_db
def test_running_on_the_expected_backend() -> None:
    expected = os.environ.get("KEHU_EXPECT_DB_VENDOR")
    if not expected:
        pytest.skip("KEHU_EXPECT_DB_VENDOR not set (CI sets it for each run)")
    assert connection.vendor == expected


@pytest.mark.django_db
def test_search_index_exists() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'customers_search'")
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = 'customer_search_gin'")
        assert cursor.fetchone() is not None
