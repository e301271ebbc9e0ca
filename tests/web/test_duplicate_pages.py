"""The duplicate pages: the queue after a search, a group side by side, merge with picks, undo, not the same,
and refusals (another team's group is a 404 and changes nothing; masked values stay masked)."""

from __future__ import annotations

import pytest
from django.test import Client

from kehu.accounts.models import User
from kehu.accounts.roles import Role
from kehu.core.jobs import job_run
from kehu.core.models import Job
from kehu.customers.models import Customer
from kehu.customers.services import AddressInput, ContactPointInput, customer_create
from kehu.dedup.models import GroupState, MatchGroup, Merge, NotSamePair
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def twins(alice: User) -> list[Customer]:
    made = []
    for name, phone, company in (
        ("王小明", "13911112222", "杭州云帆科技有限公司"),
        ("王晓明", "139-1111-2222", "云帆科技"),
        ("刘芳", "13700009999", ""),
    ):
        made.append(
            customer_create(
                actor=alice,
                values={"display_name": name, "company_name": company},
                contact_points=[ContactPointInput("mobile", phone)],
                addresses=[AddressInput(raw="浙江省杭州市西湖区文三路100号")],
            )
        )
    return made


def _search(client: Client, user: User) -> MatchGroup | None:
    """Start a search from the page, run it as `kehu worker` would, and return the group it found, if any."""
    assert client.post("/duplicates/run/", {"threshold": "0.7"}).status_code == 302
    job = Job.objects.filter(kind="dedup", created_by=user).latest("created_at")
    job_run(job.pk)
    return MatchGroup.objects.filter(job=job).first()


def test_review_merge_and_undo_in_the_pages(alice: User, twins: list[Customer]) -> None:
    client = signed_in(alice)
    assert 'href="/duplicates/"' in client.get("/customers/").content.decode()
    group = _search(client, alice)
    assert group is not None
    queue = client.get("/duplicates/").content.decode()
    assert f'data-group="{group.pk}"' in queue
    assert "Phone: same phone" in queue
    assert 'data-chart="weight-data"' in queue  # the distribution of match weights
    page = client.get(f"/duplicates/groups/{group.pk}/").content.decode()
    assert "13911112222" not in page  # masked as on every page
    assert 'data-field="phones"' in page
    assert "same phone" in page
    form = {
        "include": [str(twins[0].public_id), str(twins[1].public_id)],
        "survivor": str(twins[0].public_id),
        "pick_display_name": str(twins[1].public_id),
    }
    merged = client.post(f"/duplicates/groups/{group.pk}/merge/", form)
    assert merged.status_code == 302
    merge = Merge.objects.get()
    assert merged.url == f"/duplicates/merges/{merge.public_id}/"
    assert Customer.objects.get(pk=twins[0].pk).display_name == "王晓明"
    assert client.get(f"/customers/{twins[1].public_id}/").status_code == 404
    assert client.post(f"/duplicates/merges/{merge.public_id}/").status_code == 302  # undo
    assert Customer.objects.get(pk=twins[0].pk).display_name == "王小明"
    assert client.get(f"/customers/{twins[1].public_id}/").status_code == 200
    assert "undone" in client.get(f"/duplicates/merges/{merge.public_id}/").content.decode()


def test_merge_form_errors_and_not_same(alice: User, twins: list[Customer]) -> None:
    client = signed_in(alice)
    group = _search(client, alice)
    assert group is not None
    refused = client.post(f"/duplicates/groups/{group.pk}/merge/", {"include": [str(twins[0].public_id)]})
    assert refused.status_code == 400
    assert "Tick at least two records" in refused.content.decode()
    assert not Merge.objects.exists()
    assert client.post(f"/duplicates/groups/{group.pk}/not-same/").status_code == 302
    assert NotSamePair.objects.count() == 1
    assert MatchGroup.objects.get(pk=group.pk).state == GroupState.DISMISSED
    assert client.get(f"/duplicates/groups/{group.pk}/").status_code == 404  # no longer to review
    assert _search(client, alice) is None  # never suggested again


def test_other_team_and_roles_get_404(alice: User, charlie: User, twins: list[Customer]) -> None:
    group = _search(signed_in(alice), alice)
    assert group is not None
    outsider = signed_in(charlie)
    assert outsider.get(f"/duplicates/groups/{group.pk}/").status_code == 404
    assert outsider.post(f"/duplicates/groups/{group.pk}/merge/", {"include": []}).status_code == 404
    assert outsider.post(f"/duplicates/groups/{group.pk}/not-same/").status_code == 404
    assert MatchGroup.objects.get(pk=group.pk).state == GroupState.OPEN
    merged = signed_in(alice).post(
        f"/duplicates/groups/{group.pk}/merge/",
        {"include": [str(t.public_id) for t in twins[:2]], "survivor": str(twins[0].public_id)},
    )
    merge = Merge.objects.get()
    assert merged.url == f"/duplicates/merges/{merge.public_id}/"
    assert outsider.get(merged.url).status_code == 404
    assert outsider.post(merged.url).status_code == 404  # no undo of another team's merge
    assert Merge.objects.get().undone_at is None
    analyst = signed_in(make_user("ana", Role.ANALYST))
    assert analyst.get("/duplicates/").status_code == 404
    admin = signed_in(make_user("root", Role.ADMIN))
    assert "Settings (administrator)" in admin.get("/duplicates/").content.decode()
    assert "Settings (administrator)" not in signed_in(alice).get("/duplicates/").content.decode()
    assert admin.post("/duplicates/policy/", {"auto_merge_threshold": "0.95", "rule": "recent"}).status_code == 302
    assert signed_in(alice).post("/duplicates/policy/", {"rule": "complete"}).status_code == 404


def test_new_customer_form_shows_likely_duplicates(alice: User, charlie: User, twins: list[Customer]) -> None:
    client = signed_in(alice)
    assert 'id="duplicate-hints"' in client.get("/customers/new/").content.decode()
    hints = client.post("/duplicates/check/", {"display_name": "Wang Xiaoming", "mobile": "139 1111 2222"})
    shown = hints.content.decode()
    assert hints.status_code == 200
    assert f"/customers/{twins[0].public_id}/" in shown
    assert "same mobile" in shown
    assert "13911112222" not in shown
    assert client.post("/duplicates/check/", {"display_name": "赵六"}).content.decode().strip() == ""
    outsider = signed_in(charlie).post("/duplicates/check/", {"display_name": "王小明", "mobile": "13911112222"})
    assert str(twins[0].public_id) not in outsider.content.decode()  # another team's customers stay unseen
