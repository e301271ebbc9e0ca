"""Roles, the actions they grant per object type, and the record scope they see.

This table is the one place that says who may do what; access helpers and the API read it.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    SALES_REP = "sales_rep", _("Sales rep")
    MARKETER = "marketer", _("Marketer")
    SERVICE_AGENT = "service_agent", _("Service agent")
    ANALYST = "analyst", _("Analyst")
    AUDITOR = "auditor", _("Auditor")


class Scope(StrEnum):
    OWN = "own"
    TEAM = "team"
    ALL = "all"
    NONE = "none"


class Action(StrEnum):
    VIEW = "view"
    CREATE = "create"
    CHANGE = "change"
    ARCHIVE = "archive"
    # Everyone sees personal data masked (138****5678); these reveal it in full, one audited request at a time.
    REVEAL = "reveal"  # phones, emails, handles, addresses, birthday
    REVEAL_SENSITIVE = "reveal_sensitive"  # ID card numbers and bank accounts (PIPL art. 28)
    EXPORT = "export"  # a data subject's archive (PIPL art. 45)
    ERASE = "erase"  # anonymise a person everywhere (PIPL art. 47)


class ObjectType(StrEnum):
    CUSTOMER = "customer"
    PRODUCT = "product"
    ORDER = "order"
    INTERACTION = "interaction"
    TAG = "tag"
    CUSTOM_FIELD = "custom_field"
    AUDIT = "audit"
    SUBJECT_REQUEST = "subject_request"
    RETENTION = "retention"
    DEDUP_POLICY = "dedup_policy"  # when merges run automatically, and by which rule
    ANALYTICS = "analytics"  # customer scores and segments: CREATE runs the analysis over the whole base
    MARKETING_SPEND = "marketing_spend"  # what each channel cost per month, for the cost of acquiring a customer


_ALL = frozenset(Action)
_READ = frozenset({Action.VIEW})
_WORK = frozenset({Action.VIEW, Action.CREATE, Action.CHANGE})
_MANAGE = _WORK | {Action.ARCHIVE}

GRANTS: dict[Role, dict[ObjectType, frozenset[Action]]] = {
    Role.ADMIN: dict.fromkeys(ObjectType, _ALL),
    Role.MANAGER: {
        ObjectType.CUSTOMER: _MANAGE | {Action.REVEAL, Action.REVEAL_SENSITIVE},
        ObjectType.PRODUCT: _WORK,
        ObjectType.ORDER: _MANAGE,
        ObjectType.INTERACTION: _MANAGE,
        ObjectType.TAG: _WORK,
        ObjectType.CUSTOM_FIELD: _READ,
        ObjectType.SUBJECT_REQUEST: frozenset({Action.VIEW, Action.CREATE}),
        ObjectType.ANALYTICS: _READ,
        ObjectType.MARKETING_SPEND: _WORK,
    },
    Role.SALES_REP: {
        ObjectType.CUSTOMER: _WORK | {Action.ARCHIVE, Action.REVEAL},
        ObjectType.PRODUCT: _READ,
        ObjectType.ORDER: _WORK,
        ObjectType.INTERACTION: _WORK,
        ObjectType.TAG: _WORK,
        ObjectType.CUSTOM_FIELD: _READ,
    },
    Role.MARKETER: {
        ObjectType.CUSTOMER: _READ,
        ObjectType.PRODUCT: _READ,
        ObjectType.ORDER: _READ,
        ObjectType.INTERACTION: _READ,
        ObjectType.TAG: _WORK,
        ObjectType.CUSTOM_FIELD: _READ,
        ObjectType.ANALYTICS: _READ,
        ObjectType.MARKETING_SPEND: _WORK,
    },
    Role.SERVICE_AGENT: {
        ObjectType.CUSTOMER: frozenset({Action.VIEW, Action.CHANGE, Action.REVEAL}),
        ObjectType.PRODUCT: _READ,
        ObjectType.ORDER: _READ,
        ObjectType.INTERACTION: _WORK,
        ObjectType.TAG: _READ,
        ObjectType.CUSTOM_FIELD: _READ,
        ObjectType.SUBJECT_REQUEST: frozenset({Action.VIEW, Action.CREATE}),
    },
    Role.ANALYST: {
        ObjectType.ANALYTICS: frozenset({Action.VIEW, Action.CREATE}),
        ObjectType.MARKETING_SPEND: _READ,
        ObjectType.CUSTOMER: _READ,
        ObjectType.PRODUCT: _READ,
        ObjectType.ORDER: _READ,
        ObjectType.INTERACTION: _READ,
        ObjectType.TAG: _READ,
        ObjectType.CUSTOM_FIELD: _READ,
    },
    Role.AUDITOR: {ObjectType.AUDIT: _READ},
}

SCOPES: dict[Role, Scope] = {
    Role.ADMIN: Scope.ALL,
    Role.MANAGER: Scope.TEAM,
    Role.SALES_REP: Scope.OWN,
    Role.MARKETER: Scope.ALL,
    Role.SERVICE_AGENT: Scope.ALL,
    Role.ANALYST: Scope.ALL,
    Role.AUDITOR: Scope.NONE,
}


def role_allows(role: str, object_type: ObjectType, action: Action) -> bool:
    return action in GRANTS.get(Role(role), {}).get(object_type, frozenset())


def role_scope(role: str) -> Scope:
    return SCOPES[Role(role)]
