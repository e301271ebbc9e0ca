"""Browser tests: Playwright for Python driving Debian's Chromium against a live kehu.

Without Chromium (a developer's laptop) they skip and say why; CI installs it (`.ci/run`) and sets
KEHU_REQUIRE_BROWSER, so that there a missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kehu.accounts.models import Team, User
from kehu.accounts.roles import Role
from kehu.commerce.services import OrderLineInput, order_create, product_create
from kehu.core.jobs import job_run
from kehu.customers.services import AddressInput, ContactPointInput, customer_create
from kehu.interactions.services import interaction_log

CHROMIUM = Path(os.environ.get("KEHU_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"

# Playwright's sync API runs an event loop in the test's thread; the test's own database calls (fixtures,
# assertions, the flush after each test) are still plain synchronous calls, so Django's guard against ORM use
# inside a running loop does not apply to them. (The deploy-check test leaves this variable out.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# The live server hands the test's in-memory SQLite connection to the threads that serve the browser's requests.
# Two threads inside that one connection at once can deadlock: one holds SQLite's connection mutex while its
# query calls back into Python (Django's SQL functions, for dates) and waits for the GIL; the other holds the GIL
# while it waits for the mutex. It happened in CI with a page polling an analytics run that the test was running
# itself. So requests are served one at a time, and `worker_run` runs a job between two of them, as a worker
# with a database of its own would run it beside the server.
_DATABASE_TURN = threading.RLock()


@pytest.fixture(autouse=True)
def _requests_take_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.handlers.wsgi import WSGIHandler

    serve = WSGIHandler.__call__

    def one_at_a_time(self: WSGIHandler, environ: Any, start_response: Any) -> Any:
        with _DATABASE_TURN:
            return serve(self, environ, start_response)

    monkeypatch.setattr(WSGIHandler, "__call__", one_at_a_time)


def worker_run(job_id: int) -> None:
    """What `kehu worker` does with a queued job, while no request of the browser is being served."""
    with _DATABASE_TURN:
        job_run(job_id)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("KEHU_REQUIRE_BROWSER"):
            pytest.fail(f"KEHU_REQUIRE_BROWSER is set but there is no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium (CI does) or set KEHU_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshots() -> Path:
    """Where screenshots go: docs/screenshots in CI (kept as artifacts), var/ on a developer's machine."""
    folder = Path(os.environ.get("KEHU_SCREENSHOTS_DIR", Path(__file__).parents[2] / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def people() -> dict[str, Any]:
    east = Team.objects.create(name="华东销售部")
    south = Team.objects.create(name="华南销售部")
    alice = User.objects.create_user("alice", password=PASSWORD, role=Role.SALES_REP, team=east, display_name="王芳")
    charlie = User.objects.create_user(
        "charlie", password=PASSWORD, role=Role.SALES_REP, team=south, display_name="陈静"
    )
    zhangsan = customer_create(
        actor=alice,
        values={"display_name": "张三", "company_name": "上海东方机械制造股份有限公司", "lifecycle_stage": "customer"},
        contact_points=[
            ContactPointInput(kind="mobile", value="138 1234 5678", is_primary=True),
            ContactPointInput(kind="email", value="zhang.san@example.com", is_primary=True),
        ],
        addresses=[AddressInput(raw="上海市浦东新区世纪大道100号", is_primary=True)],
        tags=["VIP"],
    )
    for name, phone in (("李四", "139 0000 1111"), ("王五", "137 2222 3333"), ("Kate Jackson", "136 4444 5555")):
        customer_create(
            actor=alice,
            values={"display_name": name, "lifecycle_stage": "prospect"},
            contact_points=[ContactPointInput(kind="mobile", value=phone, is_primary=True)],
        )
    admin = User.objects.create_user("root", password=PASSWORD, role=Role.ADMIN)
    jacket = product_create(actor=admin, sku="JK-01", name="运动外套", price=Decimal("599.00"), category="服装")
    order_create(actor=alice, customer=zhangsan, lines=[OrderLineInput(product=jacket, quantity=2)], channel="store")
    interaction_log(actor=alice, customer=zhangsan, kind="visit", subject="首次拜访", body="介绍了新品")
    return {"alice": alice, "charlie": charlie, "zhangsan": zhangsan}


@pytest.fixture
def page_for(browser: Any, live_server: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_page(*, viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        return page

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page: Any, username: str) -> None:
    """Sign in through the page, as a person does, and wait for the home page."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
