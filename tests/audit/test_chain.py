"""The audit log is hash-chained; `kehu audit verify` finds the first record that was tampered with."""

from __future__ import annotations

import itertools
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from kehu.audit.models import AuditChainHead, AuditEvent, AuditRecord
from kehu.audit.services import GENESIS_HASH, audit_record, audit_verify, compute_hash
from tests.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(as_alice: Api, zhangsan: dict[str, Any]) -> list[AuditRecord]:
    as_alice.patch(f"/customers/{zhangsan['id']}", {"job_title": "经理"})
    as_alice.post("/interactions", {"customer": zhangsan["id"], "kind": "call", "subject": "回访"})
    records = list(AuditRecord.objects.order_by("sequence"))
    assert len(records) >= 4
    return records


def test_chain_verifies(history: list[AuditRecord]) -> None:
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert out.getvalue().splitlines()[0] == f"audit chain intact: {len(history)} records verified"
    assert [r.sequence for r in history] == list(range(1, len(history) + 1))
    assert all(r.previous_hash == p.record_hash for p, r in itertools.pairwise(history))


def test_edited_row_is_named(history: list[AuditRecord]) -> None:
    victim = history[2]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET fields = %s WHERE id = %s", ['["display_name"]', victim.pk])
    with pytest.raises(CommandError) as raised:
        call_command("audit", "verify")
    assert f"record #{victim.sequence} (row id {victim.pk})" in str(raised.value)
    assert "its content does not match its hash" in str(raised.value)
    assert f"{victim.sequence - 1} records before it verified" in str(raised.value)


def test_rehashed_row_breaks_the_next_link(history: list[AuditRecord]) -> None:
    victim = history[1]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditrecord SET record_hash = %s WHERE id = %s", ["f" * 64, victim.pk])
    report = audit_verify()
    assert report.broken_sequence == victim.sequence
    assert report.reason == "its content does not match its hash"


def test_deleted_rows_are_found(history: list[AuditRecord]) -> None:
    AuditRecord.objects.filter(pk=history[1].pk).delete()
    report = audit_verify()
    assert (report.broken_sequence, report.reason) == (2, "record #2 is missing")
    AuditRecord.objects.filter(pk=history[-1].pk).delete()
    AuditRecord.objects.filter(sequence__gt=1).delete()
    tail = audit_verify()
    assert tail.broken_sequence == 2
    assert "records were removed" in tail.reason


@pytest.mark.django_db(transaction=True)
def test_records_are_written_only_inside_a_transaction() -> None:
    with pytest.raises(RuntimeError):
        audit_record(event=AuditEvent.TAG_CREATED, actor=None)
    with transaction.atomic():
        record = audit_record(event=AuditEvent.TAG_CREATED, actor=None, target_type="tag", target_id="1")
    assert record.sequence == AuditChainHead.objects.get(pk=1).last_sequence
    assert AuditChainHead.objects.get(pk=1).last_hash == record.record_hash


def test_failed_change_leaves_no_audit_record(as_alice: Api) -> None:
    before = AuditRecord.objects.count()
    response = as_alice.post(
        "/customers", {"display_name": "王五", "contact_points": [{"kind": "email", "value": "bad"}]}
    )
    assert response.status_code == 422
    assert AuditRecord.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_head_file_outside_the_database_detects_a_rewritten_or_truncated_log(settings: Any) -> None:
    def change(target: str) -> None:
        with transaction.atomic():
            audit_record(event=AuditEvent.TAG_CREATED, actor=None, target_type="tag", target_id=target)

    for target in ("1", "2", "3"):
        change(target)
    head = json.loads(settings.KEHU_AUDIT_HEAD_FILE.read_text())
    last = AuditRecord.objects.order_by("-sequence").first()
    assert last is not None
    assert (head["sequence"], head["hash"]) == (last.sequence, last.record_hash)
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert f"head file: matches the head file (#{last.sequence})" in out.getvalue()

    # Someone rewrites the whole chain consistently inside the database: only the file can tell.
    previous = GENESIS_HASH
    for record in AuditRecord.objects.order_by("sequence"):
        record.target_id = "forged"
        record.previous_hash = previous
        record.record_hash = compute_hash(record)
        record.save()
        previous = record.record_hash
    AuditChainHead.objects.filter(pk=1).update(last_hash=previous)
    report = audit_verify()
    assert (report.broken_sequence, report.reason) == (
        last.sequence,
        "it differs from the head file outside the database: the log was rewritten",
    )

    # The database is put back to an older state, one record shorter.
    AuditRecord.objects.filter(sequence=last.sequence).delete()
    AuditChainHead.objects.filter(pk=1).update(last_sequence=last.sequence - 1)
    with pytest.raises(CommandError, match="restored from an older copy"):
        call_command("audit", "verify")
