"""The nightly analytics run: queued once a night when its time has come, as the configured user."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.test import override_settings

from kehu.accounts.roles import Role
from kehu.analytics.services import analytics_nightly_due
from kehu.core.models import Job
from tests.conftest import make_user

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _at(day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.django_db
@override_settings(KEHU_ANALYTICS_NIGHTLY_AT="02:00", TIME_ZONE="Asia/Shanghai")
def test_queued_once_a_night_after_its_time() -> None:
    assert analytics_nightly_due(_at(5, 1, 59)) is None  # no administrator, and too early anyway
    make_user("ana", Role.ANALYST)
    assert analytics_nightly_due(_at(5, 2, 1)) is None  # nobody may run it: analysts only when named
    admin = make_user("root", Role.ADMIN)
    assert analytics_nightly_due(_at(5, 1, 59)) is None
    first = analytics_nightly_due(_at(5, 2, 1))
    assert first is not None
    assert (first.kind, first.created_by, first.params) == ("analytics", admin, {"nightly": "2026-12-05"})
    assert analytics_nightly_due(_at(5, 2, 30)) is None  # one a night, however many workers ask
    assert analytics_nightly_due(_at(5, 23, 59)) is None
    second = analytics_nightly_due(_at(6, 2, 0))
    assert second is not None
    assert second.params == {"nightly": "2026-12-06"}
    assert Job.objects.filter(kind="analytics").count() == 2


@pytest.mark.django_db
def test_as_a_named_user_or_not_at_all() -> None:
    analyst = make_user("ana", Role.ANALYST)
    make_user("root", Role.ADMIN)
    with override_settings(
        KEHU_ANALYTICS_NIGHTLY_AT="03:30", KEHU_ANALYTICS_NIGHTLY_AS="ana", TIME_ZONE="Asia/Shanghai"
    ):
        job = analytics_nightly_due(_at(5, 4, 0))
        assert job is not None
        assert job.created_by == analyst
    with override_settings(KEHU_ANALYTICS_NIGHTLY_AT="off"):
        assert analytics_nightly_due(_at(7, 4, 0)) is None
