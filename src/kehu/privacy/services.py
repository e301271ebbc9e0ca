"""Every write of the privacy app: reveals, consent, data-subject requests, erasure and retention.

Each runs in one transaction with its audit record. Audit rows name fields and purposes, never values.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.audit.services import AuditEntry, audit_record, audit_record_many
from kehu.commerce.models import Order, OrderLine, OrderReturn
from kehu.commerce.services import order_returns_text_erase
from kehu.core.errors import FieldError, ServiceValidationError, one_of
from kehu.core.exports import spreadsheet_safe
from kehu.customers.models import Customer, LifecycleStage
from kehu.customers.services import CUSTOMER_FIELDS, customer_anonymise
from kehu.interactions.models import Interaction
from kehu.interactions.services import interactions_text_erase
from kehu.privacy.models import (
    Consent,
    ConsentPurpose,
    ErasureTombstone,
    LegalBasis,
    RetentionAction,
    RetentionDataType,
    RetentionFlag,
    RetentionRule,
    SubjectRequest,
    SubjectRequestKind,
    SubjectRequestStatus,
)

REVEALABLE = ("contact_points", "addresses", "birthday", "id_number", "bank_account")
SENSITIVE_REVEALS = frozenset({"id_number", "bank_account"})


# ---- reveal ------------------------------------------------------------------------------------------------


@transaction.atomic
def customer_reveal(*, actor: User, customer: Customer, fields: Sequence[str]) -> None:
    """Allow `actor` to see `fields` of `customer` in full, and audit that they did (PIPL art. 51)."""
    unknown = sorted(set(fields) - set(REVEALABLE))
    if unknown:
        raise ServiceValidationError(
            [FieldError("fields", gettext("%(name)s cannot be revealed") % {"name": name}) for name in unknown]
        )
    require(actor, ObjectType.CUSTOMER, Action.REVEAL)
    if SENSITIVE_REVEALS & set(fields):
        require(actor, ObjectType.CUSTOMER, Action.REVEAL_SENSITIVE)
    audit_record(
        event=AuditEvent.PERSONAL_DATA_REVEALED,
        actor=actor,
        target_type="customer",
        target_id=str(customer.public_id),
        customer_id=customer.pk,
        fields=list(fields),
    )


# ---- consent -----------------------------------------------------------------------------------------------

# PIPL art. 29 (sensitive data) and art. 23 (sharing) ask for separate consent; profiling rests on consent.
_SEPARATE = {ConsentPurpose.SENSITIVE, ConsentPurpose.SHARING}
_CONSENT_ONLY = {ConsentPurpose.PROFILING, *_SEPARATE}


@transaction.atomic
def _purpose_label(purpose: str) -> str:
    return str(ConsentPurpose(purpose).label) if purpose in ConsentPurpose.values else purpose


@transaction.atomic
def consent_give(
    *,
    actor: User,
    customer: Customer,
    purpose: str,
    legal_basis: str,
    source: str,
    wording: str,
    channel: str = "",
    given_at: dt.datetime | None = None,
) -> Consent:
    """Record consent (or another legal basis) for a purpose; a previous grant for the same purpose is superseded."""
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    errors: list[FieldError] = []
    if purpose not in ConsentPurpose.values:
        errors.append(FieldError("purpose", one_of(ConsentPurpose.values)))
    if legal_basis not in LegalBasis.values:
        errors.append(FieldError("legal_basis", one_of(LegalBasis.values)))
    elif purpose in _SEPARATE and legal_basis != LegalBasis.SEPARATE_CONSENT:
        errors.append(
            FieldError(
                "legal_basis",
                gettext("%(purpose)s needs the person's separate consent (PIPL arts. 23, 29)")
                % {"purpose": _purpose_label(purpose)},
            )
        )
    elif purpose in _CONSENT_ONLY and legal_basis not in (LegalBasis.CONSENT, LegalBasis.SEPARATE_CONSENT):
        errors.append(
            FieldError(
                "legal_basis",
                gettext("%(purpose)s rests on the person's consent") % {"purpose": _purpose_label(purpose)},
            )
        )
    if not wording.strip():
        errors.append(FieldError("wording", gettext("record the words the person agreed to")))
    if not source.strip():
        errors.append(FieldError("source", gettext("say where the consent was given (web form, call, paper form…)")))
    now = timezone.now()
    if given_at is not None and given_at > now + dt.timedelta(minutes=5):
        errors.append(FieldError("given_at", gettext("is in the future")))
    if customer.erased_at is not None:
        errors.append(FieldError("customer", gettext("this person was erased")))
    if errors:
        raise ServiceValidationError(errors)
    Consent.objects.filter(customer=customer, purpose=purpose, channel=channel, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawal_source="superseded", updated_at=now
    )
    consent = Consent.objects.create(
        customer=customer,
        purpose=purpose,
        channel=channel.strip(),
        legal_basis=legal_basis,
        source=source.strip(),
        wording=wording.strip(),
        given_at=given_at or now,
        recorded_by=actor,
    )
    audit_record(
        event=AuditEvent.CONSENT_GIVEN,
        actor=actor,
        target_type="consent",
        target_id=str(consent.pk),
        customer_id=customer.pk,
        extra={"purpose": purpose, "channel": channel, "legal_basis": legal_basis},
    )
    return consent


@transaction.atomic
def consent_withdraw(*, actor: User, customer: Customer, purpose: str, source: str, channel: str | None = None) -> int:
    """Withdraw consent for a purpose (on one channel, or on all when `channel` is None); returns how many ended."""
    require(actor, ObjectType.CUSTOMER, Action.CHANGE)
    if not source.strip():
        raise ServiceValidationError.single(
            "source", gettext("say how the person withdrew (call, email, unsubscribe link…)")
        )
    active = Consent.objects.filter(customer=customer, purpose=purpose, withdrawn_at__isnull=True)
    if channel is not None:
        active = active.filter(channel=channel)
    ids = list(active.values_list("pk", flat=True))
    if not ids:
        raise ServiceValidationError.single(
            "purpose", gettext("there is no active consent for %(purpose)s") % {"purpose": _purpose_label(purpose)}
        )
    now = timezone.now()
    Consent.objects.filter(pk__in=ids).update(withdrawn_at=now, withdrawal_source=source.strip(), updated_at=now)
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(AuditEvent.CONSENT_WITHDRAWN, "consent", str(pk), customer.pk, (), {"purpose": purpose})
            for pk in ids
        ],
    )
    return len(ids)


# ---- data-subject requests ------------------------------------------------------------------------------------


def _due(received_at: dt.datetime) -> dt.datetime:
    return received_at + dt.timedelta(days=settings.KEHU_SUBJECT_REQUEST_DAYS)


@transaction.atomic
def subject_request_open(
    *,
    actor: User,
    customer: Customer,
    kind: str,
    received_through: str,
    details: str = "",
    received_at: dt.datetime | None = None,
) -> SubjectRequest:
    """Register a request from a person about their data; it is due KEHU_SUBJECT_REQUEST_DAYS after receipt."""
    require(actor, ObjectType.SUBJECT_REQUEST, Action.CREATE)
    if kind not in SubjectRequestKind.values:
        raise ServiceValidationError.single("kind", one_of(SubjectRequestKind.values))
    if not received_through.strip():
        raise ServiceValidationError.single(
            "received_through", gettext("say how the request arrived (email, call, letter…)")
        )
    if customer.erased_at is not None:
        raise ServiceValidationError.single("customer", gettext("this person was erased already"))
    received = received_at or timezone.now()
    request = SubjectRequest.objects.create(
        customer=customer,
        kind=kind,
        received_at=received,
        due_at=_due(received),
        received_through=received_through.strip(),
        details=details.strip(),
        opened_by=actor,
    )
    audit_record(
        event=AuditEvent.SUBJECT_REQUEST_OPENED,
        actor=actor,
        target_type="subject_request",
        target_id=str(request.public_id),
        customer_id=customer.pk,
        extra={"kind": kind},
    )
    return request


def _close(actor: User, request: SubjectRequest, status: str, outcome: str) -> SubjectRequest:
    request.status = status
    request.outcome = outcome
    request.closed_at = timezone.now()
    request.closed_by = actor
    request.save(update_fields=["status", "outcome", "closed_at", "closed_by", "updated_at"])
    audit_record(
        event=AuditEvent.SUBJECT_REQUEST_CLOSED,
        actor=actor,
        target_type="subject_request",
        target_id=str(request.public_id),
        customer_id=request.customer_id,
        extra={"kind": request.kind, "status": status},
    )
    return request


def _require_open(request: SubjectRequest, *kinds: str) -> Customer:
    if request.status != SubjectRequestStatus.OPEN:
        raise ServiceValidationError.single(
            "status", gettext("the request is %(status)s already") % {"status": request.status}
        )
    if kinds and request.kind not in kinds:
        raise ServiceValidationError.single(
            "kind", gettext("this needs a request of kind %(kinds)s") % {"kinds": " / ".join(kinds)}
        )
    if request.customer is None:
        raise ServiceValidationError.single("customer", gettext("the request has no customer"))
    return request.customer


@transaction.atomic
def subject_request_close(*, actor: User, request: SubjectRequest, status: str, outcome: str) -> SubjectRequest:
    """Close a request by hand (a correction made, a withdrawal recorded, or a reasoned refusal)."""
    require(actor, ObjectType.SUBJECT_REQUEST, Action.CHANGE)
    _require_open(request)
    if status not in (SubjectRequestStatus.COMPLETED, SubjectRequestStatus.REJECTED):
        raise ServiceValidationError.single("status", gettext("close as completed or rejected"))
    if not outcome.strip():
        raise ServiceValidationError.single("outcome", gettext("say what was done, or why the request was refused"))
    return _close(actor, request, status, outcome.strip())


def _csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """CSV in UTF-8 with a BOM (so Excel reads Chinese), formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(row.get(column)) for column in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "hex") and not isinstance(value, bytes | str | int | float):
        return str(value)
    return value


def subject_data(customer: Customer) -> dict[str, list[dict[str, Any]]]:
    """Everything kehu holds about one person, unmasked, as tables of plain values."""
    # Every field a user can set (kehu.customers.services.CUSTOMER_FIELDS), so a new one is exported too.
    person = {name: _plain(getattr(customer, name)) for name in ("public_id", *CUSTOMER_FIELDS, "created_at")}
    person["tags"] = ", ".join(sorted(customer.tags.values_list("name", flat=True)))
    person["custom_fields"] = json.dumps(customer.attributes, ensure_ascii=False, default=str)
    points = [
        {"kind": p.kind, "value": p.value, "as_entered": p.raw_value, "label": p.label, "primary": p.is_primary}
        for p in customer.contact_points.order_by("kind", "id")
    ]
    addresses = [
        {
            "label": a.label,
            "country": a.country,
            "province": a.province,
            "city": a.city,
            "district": a.district,
            "street": a.street,
            "postal_code": a.postal_code,
            "as_entered": a.raw,
        }
        for a in customer.addresses.order_by("id")
    ]
    orders = list(Order.objects.filter(customer=customer).order_by("placed_at", "id"))
    order_rows = [
        {
            "number": o.number,
            "placed_at": _plain(o.placed_at),
            "channel": o.channel,
            "status": o.status,
            "currency": o.currency,
            "subtotal": str(o.subtotal),
            "discount": str(o.discount),
            "total": str(o.total),
            "payment_status": o.payment_status,
        }
        for o in orders
    ]
    lines = [
        {
            "order": line.order.number,
            "sku": line.product.sku,
            "product": line.product.name,
            "quantity": line.quantity,
            "unit_price": str(line.unit_price),
            "line_total": str(line.line_total),
        }
        for line in OrderLine.objects.filter(order__customer=customer).select_related("order", "product").order_by("id")
    ]
    returns = [
        {"order": r.order.number, "quantity": r.quantity, "amount": str(r.amount), "reason": r.reason}
        for r in OrderReturn.objects.filter(order__customer=customer).select_related("order").order_by("id")
    ]
    interactions = [
        {
            "occurred_at": _plain(i.occurred_at),
            "kind": i.kind,
            "direction": i.direction,
            "channel": i.channel,
            "subject": i.subject,
            "body": i.body,
            "outcome": i.outcome,
            "satisfaction": i.satisfaction,
        }
        for i in Interaction.objects.filter(customer=customer).order_by("occurred_at", "id")
    ]
    consents = [
        {
            "purpose": c.purpose,
            "channel": c.channel,
            "legal_basis": c.legal_basis,
            "source": c.source,
            "wording": c.wording,
            "given_at": _plain(c.given_at),
            "withdrawn_at": _plain(c.withdrawn_at),
        }
        for c in Consent.objects.filter(customer=customer).order_by("given_at", "id")
    ]
    audit = [
        {
            "occurred_at": _plain(r.occurred_at),
            "event": r.event,
            "by": r.actor_label,
            "fields": ", ".join(r.fields),
            "source": r.source,
        }
        for r in AuditRecord.objects.filter(customer_id=customer.pk).order_by("sequence")
    ]
    return {
        "customer": [person],
        "contact_points": points,
        "addresses": addresses,
        "orders": order_rows,
        "order_lines": lines,
        "returns": returns,
        "interactions": interactions,
        "consents": consents,
        "audit_trail": audit,
    }


@transaction.atomic
def subject_export(*, actor: User, request: SubjectRequest) -> bytes:
    """The archive of an access request (PIPL art. 45, GDPR arts. 15, 20): data.json and one CSV per table, zipped."""
    require(actor, ObjectType.SUBJECT_REQUEST, Action.EXPORT)
    customer = _require_open(request, SubjectRequestKind.ACCESS)
    tables = subject_data(customer)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        document = {"generated_at": timezone.now().isoformat(), "request": str(request.public_id), **tables}
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2, default=str))
        for name, rows in tables.items():
            columns = list(rows[0]) if rows else []
            archive.writestr(f"{name}.csv", _csv(rows, columns))
    audit_record(
        event=AuditEvent.SUBJECT_DATA_EXPORTED,
        actor=actor,
        target_type="subject_request",
        target_id=str(request.public_id),
        customer_id=customer.pk,
        fields=list(tables),
    )
    _close(actor, request, SubjectRequestStatus.COMPLETED, "archive sent: data.json and CSV files")
    return buffer.getvalue()


def _erase(actor: User | None, customers: Sequence[Customer], *, reason: str) -> None:
    """Anonymise people everywhere, keep their orders' amounts, leave tombstones; the caller is atomic."""
    now = timezone.now()
    ids = [customer.pk for customer in customers]
    indexes: list[str] = []
    for customer in customers:
        indexes += customer_anonymise(customer=customer, label=f"已删除 {str(customer.public_id)[:8]}")
    interactions_text_erase(customer_ids=ids)
    order_returns_text_erase(customer_ids=ids)
    Consent.objects.filter(customer_id__in=ids, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawal_source="erased", updated_at=now
    )
    Consent.objects.filter(customer_id__in=ids).update(wording="", source="", updated_at=now)
    # What staff typed about the person's requests may name them; the requests' kind, dates and outcome stay.
    SubjectRequest.objects.filter(customer_id__in=ids).update(details="", updated_at=now)
    RetentionFlag.objects.filter(customer_id__in=ids).delete()
    ErasureTombstone.objects.bulk_create(
        [ErasureTombstone(value_index=index, erased_at=now) for index in dict.fromkeys(indexes)],
        ignore_conflicts=True,
    )
    audit_record_many(
        actor=actor,
        entries=[
            AuditEntry(AuditEvent.CUSTOMER_ERASED, "customer", str(c.public_id), c.pk, (), {"reason": reason})
            for c in customers
        ],
    )
    journal = [{"public_id": str(c.public_id), "erased_at": now.isoformat()} for c in customers]
    transaction.on_commit(lambda: erasure_journal_append(journal))


def merged_records_of(customer: Customer) -> list[Customer]:
    """Every customer merged into this one, directly or through merges of merges."""
    found: list[Customer] = []
    frontier = [customer.pk]
    while frontier:
        step = list(Customer.objects.filter(merged_into__in=frontier, erased_at__isnull=True))
        found += step
        frontier = [record.pk for record in step]
    return found


def erasure_journal_append(entries: list[dict[str, str]]) -> None:
    """Note erasures outside the database, so that `kehu restore` of an older backup erases them again."""
    path = settings.KEHU_ERASURE_JOURNAL
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as journal:
        for entry in entries:
            journal.write(json.dumps(entry) + "\n")


@transaction.atomic
def subject_erase(*, actor: User, request: SubjectRequest) -> SubjectRequest:
    """Carry out a deletion request (PIPL art. 47, GDPR art. 17): anonymise the person everywhere, keep the accounts."""
    require(actor, ObjectType.SUBJECT_REQUEST, Action.ERASE)
    customer = _require_open(request, SubjectRequestKind.DELETION)
    if customer.erased_at is not None:
        raise ServiceValidationError.single("customer", gettext("this person was erased already"))
    # The records merged into this one are the same person (kehu.dedup.merge keeps them for its undo).
    people = [customer, *merged_records_of(customer)]
    _erase(actor, people, reason="subject_request")
    from kehu.dedup.merge import merges_forget  # dedup builds on customers and privacy; this one call goes back

    merges_forget([person.pk for person in people])
    outcome = (
        "erased: contact points, addresses, names, ID and bank numbers, custom fields and the text of interactions "
        "and returns removed; orders kept anonymised for the accounts; tombstones refuse re-imports. Backups made "
        f"before {timezone.now():%Y-%m-%d %H:%M} UTC still hold the person until they expire; `kehu restore` "
        "erases them again from the erasure journal."
    )
    return _close(actor, request, SubjectRequestStatus.COMPLETED, outcome)


def erasures_replay(*, actor: User | None = None) -> int:
    """Erase again every person in the journal who is not erased in this database (after restoring a backup)."""
    path = settings.KEHU_ERASURE_JOURNAL
    if not path.exists():
        return 0
    public_ids = [json.loads(line)["public_id"] for line in path.read_text(encoding="utf-8").splitlines() if line]
    pending = list(Customer.objects.filter(public_id__in=public_ids, erased_at__isnull=True))
    if pending:
        with transaction.atomic():
            _erase(actor, pending, reason="journal_replay")
    return len(pending)


# ---- retention -----------------------------------------------------------------------------------------------


@transaction.atomic
def retention_rule_set(*, actor: User, data_type: str, months: int, action: str, active: bool = True) -> RetentionRule:
    require(actor, ObjectType.RETENTION, Action.CHANGE)
    errors: list[FieldError] = []
    if data_type not in RetentionDataType.values:
        errors.append(FieldError("data_type", one_of(RetentionDataType.values)))
    if action not in RetentionAction.values:
        errors.append(FieldError("action", one_of(RetentionAction.values)))
    if not 1 <= months <= 1200:
        errors.append(FieldError("months", gettext("must be between 1 and 1200")))
    if errors:
        raise ServiceValidationError(errors)
    rule, _ = RetentionRule.objects.update_or_create(
        data_type=data_type, defaults={"months": months, "action": action, "active": active}
    )
    audit_record(
        event=AuditEvent.RETENTION_RULE_SET,
        actor=actor,
        target_type="retention_rule",
        target_id=data_type,
        extra={"months": months, "action": action, "active": active},
    )
    return rule


def _cutoff(rule: RetentionRule, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=round(rule.months * 30.44))


def retention_candidates(rule: RetentionRule, *, now: dt.datetime | None = None) -> QuerySet[Customer]:
    """The customers a rule applies to today (for interaction text: those with old text to remove)."""
    cutoff = _cutoff(rule, now or timezone.now())
    live = Customer.objects.filter(erased_at__isnull=True)
    if rule.data_type == RetentionDataType.UNTOUCHED_LEADS:
        any_order = Order.objects.filter(customer=OuterRef("pk"))
        recent_contact = Interaction.objects.filter(customer=OuterRef("pk"), occurred_at__gte=cutoff)
        return live.filter(
            lifecycle_stage__in=[LifecycleStage.LEAD, LifecycleStage.PROSPECT], updated_at__lt=cutoff
        ).exclude(Exists(any_order) | Exists(recent_contact))
    if rule.data_type == RetentionDataType.ARCHIVED_CUSTOMERS:
        return live.filter(archived_at__lt=cutoff)
    old_text = Interaction.objects.filter(customer=OuterRef("pk"), occurred_at__lt=cutoff).exclude(
        subject="", body="", outcome=""
    )
    return live.filter(Exists(old_text))


@dataclass(frozen=True)
class RetentionReportRow:
    data_type: str
    months: int
    action: str
    candidates: int
    flagged: int
    due: int  # flagged long enough ago to be anonymised on the next run


def retention_report(*, actor: User, now: dt.datetime | None = None) -> list[RetentionReportRow]:
    """What each active rule would touch now: shown before anything is removed."""
    require(actor, ObjectType.RETENTION, Action.VIEW)
    now = now or timezone.now()
    grace = now - dt.timedelta(days=settings.KEHU_RETENTION_GRACE_DAYS)
    rows = []
    for rule in RetentionRule.objects.filter(active=True).order_by("data_type"):
        candidates = retention_candidates(rule, now=now)
        flags = RetentionFlag.objects.filter(rule=rule, customer__in=candidates.values("pk"))
        rows.append(
            RetentionReportRow(
                data_type=rule.data_type,
                months=rule.months,
                action=rule.action,
                candidates=candidates.count(),
                flagged=flags.count(),
                due=flags.filter(flagged_at__lte=grace).count() if rule.action == RetentionAction.ANONYMISE else 0,
            )
        )
    return rows


@dataclass(frozen=True)
class RetentionRun:
    data_type: str
    flagged: int
    unflagged: int
    anonymised: int


def retention_apply(
    *, actor: User, now: dt.datetime | None = None, batch_size: int = 200, progress: Any = None
) -> list[RetentionRun]:
    """Run every active rule: flag new candidates, clear flags of records touched since, and anonymise what
    was flagged at least KEHU_RETENTION_GRACE_DAYS ago (so the report always precedes removal).

    Each batch commits on its own: an interrupted run loses nothing and the next run carries on.
    """
    require(actor, ObjectType.RETENTION, Action.CHANGE)
    now = now or timezone.now()
    grace = now - dt.timedelta(days=settings.KEHU_RETENTION_GRACE_DAYS)
    runs = []
    for rule in RetentionRule.objects.filter(active=True).order_by("data_type"):
        candidates = retention_candidates(rule, now=now)
        with transaction.atomic():
            unflagged, _ = (
                RetentionFlag.objects.filter(rule=rule).exclude(customer__in=candidates.values("pk")).delete()
            )
            known = RetentionFlag.objects.filter(rule=rule).values("customer_id")
            new_ids = list(candidates.exclude(pk__in=known).values_list("pk", flat=True))
            RetentionFlag.objects.bulk_create(
                [RetentionFlag(rule=rule, customer_id=pk, flagged_at=now) for pk in new_ids], batch_size=1000
            )
        anonymised = 0
        if rule.action == RetentionAction.ANONYMISE:
            due = candidates.filter(
                Exists(RetentionFlag.objects.filter(rule=rule, customer=OuterRef("pk"), flagged_at__lte=grace))
            )
            due_ids = list(due.values_list("pk", flat=True))
            for start in range(0, len(due_ids), batch_size):
                chunk = due_ids[start : start + batch_size]
                with transaction.atomic():
                    anonymised += _retention_anonymise(actor, rule, chunk, _cutoff(rule, now))
                if progress is not None:
                    progress(rule.data_type, min(start + batch_size, len(due_ids)), len(due_ids))
        with transaction.atomic():
            rule.last_run_at = now
            rule.save(update_fields=["last_run_at", "updated_at"])
            audit_record(
                event=AuditEvent.RETENTION_APPLIED,
                actor=actor,
                target_type="retention_rule",
                target_id=rule.data_type,
                extra={"flagged": len(new_ids), "unflagged": unflagged, "anonymised": anonymised},
            )
        runs.append(RetentionRun(rule.data_type, len(new_ids), unflagged, anonymised))
    return runs


def _retention_anonymise(actor: User, rule: RetentionRule, ids: list[int], cutoff: dt.datetime) -> int:
    if rule.data_type == RetentionDataType.INTERACTION_TEXT:
        count = interactions_text_erase(customer_ids=ids, before=cutoff)
        RetentionFlag.objects.filter(rule=rule, customer_id__in=ids).delete()
        return count
    customers = list(Customer.objects.filter(pk__in=ids, erased_at__isnull=True))
    _erase(actor, customers, reason=f"retention:{rule.data_type}")
    return len(customers)
