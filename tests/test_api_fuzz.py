"""Property-based run of the whole API (schemathesis): no request makes kehu fail with a 5xx, and every
documented response matches the OpenAPI schema. Runs as an administrator so that every operation is reached.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings

from kehu.accounts.roles import Role
from kehu.accounts.services import api_token_create
from kehu.demo.generate import demo_load
from tests.conftest import make_user

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def _keep_test_connection() -> Iterator[None]:
    """The WSGI handler closes the database connection after each request, which would end the test's
    transaction on PostgreSQL; Django's own test client disconnects the same handlers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(db: None, _keep_test_connection: None) -> str:
    demo_load(customers=20, seed=1, batch_size=20)
    with transaction.atomic():
        return api_token_create(actor=make_user("fuzzer", Role.ADMIN), name="fuzz").secret


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("KEHU_FUZZ_EXAMPLES", "12")),
    derandomize=not os.environ.get("KEHU_FUZZ_RANDOM"),
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_never_fails_and_matches_its_schema(case: Any, admin_token: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {admin_token}"})
    case.validate_response(
        response,
        checks=[schemathesis.checks.not_a_server_error, schemathesis.checks.response_schema_conformance],
    )
