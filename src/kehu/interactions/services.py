"""Writes to the interaction timeline."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record
from kehu.core.changes import apply_changes
from kehu.core.errors import FieldError, ServiceValidationError, length_errors, one_of
from kehu.customers.models import Customer
from kehu.interactions.models import Direction, Interaction, InteractionKind

MAX_BODY = 20000


def _validate(interaction: Interaction) -> None:
    errors = length_errors(interaction)
    if interaction.kind not in InteractionKind.values:
        errors.append(FieldError("kind", one_of(InteractionKind.values)))
    if interaction.direction not in Direction.values:
        errors.append(FieldError("direction", one_of(Direction.values)))
    if len(interaction.body) > MAX_BODY:
        errors.append(
            FieldError(
                "body",
                gettext("is %(length)d characters long; at most %(limit)d are allowed")
                % {"length": len(interaction.body), "limit": MAX_BODY},
            )
        )
    if interaction.satisfaction is not None and not 1 <= interaction.satisfaction <= 5:
        errors.append(FieldError("satisfaction", gettext("must be between 1 and 5")))
    if interaction.occurred_at > timezone.now() + dt.timedelta(days=1):
        errors.append(FieldError("occurred_at", gettext("is in the future; plan future contacts as tasks")))
    if not interaction.subject and not interaction.body:
        errors.append(FieldError("body", gettext("write a subject or a note")))
    if errors:
        raise ServiceValidationError(errors)


@transaction.atomic
def interaction_log(
    *,
    actor: User,
    customer: Customer,
    kind: str,
    direction: str = Direction.OUTBOUND,
    channel: str = "",
    subject: str = "",
    body: str = "",
    occurred_at: dt.datetime | None = None,
    outcome: str = "",
    satisfaction: int | None = None,
) -> Interaction:
    """Add a contact with the customer to the timeline, by the actor unless logged by the system."""
    require(actor, ObjectType.INTERACTION, Action.CREATE)
    interaction = Interaction(
        customer=customer,
        kind=kind,
        direction=direction,
        channel=channel.strip(),
        subject=subject.strip(),
        body=body.strip(),
        occurred_at=occurred_at or timezone.now(),
        user=actor,
        outcome=outcome.strip(),
        satisfaction=satisfaction,
    )
    _validate(interaction)
    interaction.save()
    audit_record(
        event=AuditEvent.INTERACTION_LOGGED,
        actor=actor,
        target_type="interaction",
        target_id=str(interaction.public_id),
        customer_id=customer.pk,
        extra={"kind": kind},
    )
    return interaction


@transaction.atomic
def interaction_update(*, actor: User, interaction: Interaction, **changes: object) -> Interaction:
    require(actor, ObjectType.INTERACTION, Action.CHANGE)
    allowed = {"subject", "body", "outcome", "satisfaction", "occurred_at", "channel", "direction", "kind"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ServiceValidationError([FieldError(name, gettext("cannot be changed")) for name in unknown])
    changed = apply_changes(
        interaction, {name: value.strip() if isinstance(value, str) else value for name, value in changes.items()}
    )
    if not changed:
        return interaction
    _validate(interaction)
    interaction.save(update_fields=[*changed, "updated_at"])
    audit_record(
        event=AuditEvent.INTERACTION_UPDATED,
        actor=actor,
        target_type="interaction",
        target_id=str(interaction.public_id),
        customer_id=interaction.customer_id,
        fields=changed,
    )
    return interaction


def interactions_text_erase(*, customer_ids: list[int], before: dt.datetime | None = None) -> int:
    """Blank the free text (subject, body, outcome) of these customers' interactions (those before `before`).

    Kind and time stay. Called by privacy services inside their own transaction and audit record.
    """
    interactions = Interaction.objects.filter(customer_id__in=customer_ids)
    if before is not None:
        interactions = interactions.filter(occurred_at__lt=before)
    return interactions.exclude(subject="", body="", outcome="").update(
        subject="", body="", outcome="", updated_at=timezone.now()
    )
