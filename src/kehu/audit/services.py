"""Appending to and verifying the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kehu.accounts.models import User
from kehu.audit.context import current_context
from kehu.audit.models import AuditChainHead, AuditEvent, AuditRecord
from kehu.core.bulkwrite import new_instance, writer_for

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """What to record; `fields` are names of changed fields, `extra` holds ids, never personal data."""

    event: AuditEvent
    target_type: str = ""
    target_id: str = ""
    customer_id: int | None = None
    fields: Sequence[str] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def _canonical(record: AuditRecord) -> bytes:
    payload = {
        "sequence": record.sequence,
        "occurred_at": record.occurred_at.isoformat(timespec="microseconds"),
        "event": record.event,
        "actor_id": record.actor_id,
        "actor_label": record.actor_label,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "customer_id": record.customer_id,
        "fields": list(record.fields),
        "extra": record.extra,
        "source": record.source,
        "ip_address": record.ip_address,
        "previous_hash": record.previous_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def compute_hash(record: AuditRecord) -> str:
    return hashlib.sha256(_canonical(record)).hexdigest()


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        head, _ = AuditChainHead.objects.get_or_create(pk=1)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def audit_record_many(*, actor: User | None, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
    """Append entries to the chain; must run inside the transaction that makes the change."""
    if not entries:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit records are written in the same transaction as the change they describe")
    context = current_context()
    head = _locked_head()
    now = timezone.now()
    records: list[AuditRecord] = []
    previous_hash, sequence = head.last_hash, head.last_sequence
    for entry in entries:
        sequence += 1
        record = new_instance(
            AuditRecord,
            sequence=sequence,
            occurred_at=now,
            event=entry.event,
            actor=actor,
            actor_label=actor.username if actor else "system",
            target_type=entry.target_type,
            target_id=entry.target_id,
            customer_id=entry.customer_id,
            fields=sorted(entry.fields),
            extra=entry.extra,
            source=context.source,
            ip_address=context.ip_address,
            previous_hash=previous_hash,
        )
        record.record_hash = compute_hash(record)
        previous_hash = record.record_hash
        records.append(record)
    writer_for(AuditRecord).insert_returning_ids(records)
    head.last_sequence, head.last_hash = sequence, previous_hash
    head.save(update_fields=["last_sequence", "last_hash"])
    transaction.on_commit(lambda: head_file_write(sequence=sequence, record_hash=previous_hash))
    return records


def head_file_read() -> tuple[int, str] | None:
    path = Path(settings.KEHU_AUDIT_HEAD_FILE)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["sequence"]), str(data["hash"])
    except (ValueError, KeyError, TypeError):
        raise AuditHeadFileError(f"{path} is not an audit head file kehu wrote") from None


def head_file_write(*, sequence: int, record_hash: str) -> None:
    """Record the committed chain head outside the database; never move it backwards."""
    path = Path(settings.KEHU_AUDIT_HEAD_FILE)
    try:
        current = head_file_read()
    except AuditHeadFileError:
        current = None
    if current is not None and current[0] >= sequence:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(
        json.dumps({"sequence": sequence, "hash": record_hash, "written_at": timezone.now().isoformat()}),
        encoding="utf-8",
    )
    os.replace(temporary, path)


class AuditHeadFileError(Exception):
    """The head file exists but cannot be read."""


def audit_record(
    *,
    event: AuditEvent,
    actor: User | None,
    target_type: str = "",
    target_id: str = "",
    customer_id: int | None = None,
    fields: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> AuditRecord:
    entry = AuditEntry(
        event=event,
        target_type=target_type,
        target_id=target_id,
        customer_id=customer_id,
        fields=fields,
        extra=extra or {},
    )
    return audit_record_many(actor=actor, entries=[entry])[0]


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_sequence: int | None
    broken_id: int | None
    reason: str
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_sequence is None


def _records_in_order(chunk: int = 5000) -> Iterator[AuditRecord]:
    last = -1
    while True:
        batch = list(AuditRecord.objects.filter(sequence__gt=last).order_by("sequence")[:chunk])
        if not batch:
            return
        yield from batch
        last = batch[-1].sequence


def audit_verify() -> ChainReport:
    """Walk the chain from the start; report the first record whose hash, link or position is wrong."""
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    last: AuditRecord | None = None
    for record in _records_in_order():
        if record.sequence != expected_sequence:
            return ChainReport(checked, expected_sequence, record.id, f"record #{expected_sequence} is missing")
        if record.previous_hash != expected_previous:
            return ChainReport(
                checked, record.sequence, record.id, "its previous_hash does not match the record before it"
            )
        if compute_hash(record) != record.record_hash:
            return ChainReport(checked, record.sequence, record.id, "its content does not match its hash")
        expected_previous = record.record_hash
        expected_sequence += 1
        checked += 1
        last = record
    end = last.sequence if last else 0
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_sequence != end:
        return ChainReport(
            checked,
            end + 1,
            None,
            f"the chain head says {head.last_sequence} records but the log ends at #{checked}: records were removed",
        )
    return _compare_head_file(checked, end)


def _compare_head_file(checked: int, end: int) -> ChainReport:
    """The chain must contain the head recorded outside the database, with the same hash."""
    try:
        outside = head_file_read()
    except AuditHeadFileError as error:
        return ChainReport(checked, None, None, "", note=str(error))
    if outside is None:
        return ChainReport(checked, None, None, "", note=f"no head file at {settings.KEHU_AUDIT_HEAD_FILE} yet")
    sequence, record_hash = outside
    if sequence > end:
        return ChainReport(
            checked,
            end + 1,
            None,
            f"the head file outside the database records #{sequence} but the log ends at #{end}: records were "
            "removed or the database was restored from an older copy",
        )
    record = AuditRecord.objects.filter(sequence=sequence).first()
    if record is None or record.record_hash != record_hash:
        return ChainReport(
            checked,
            sequence,
            record.id if record else None,
            "it differs from the head file outside the database: the log was rewritten",
        )
    return ChainReport(checked, None, None, "", note=f"matches the head file (#{sequence})")
