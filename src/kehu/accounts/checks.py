"""System checks on the two-factor settings: an unknown role is an error; a role that may reveal personal data
without a required second factor is a deployment warning (`kehu check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from kehu.accounts.roles import GRANTS, Action, ObjectType, Role


def roles_that_may_reveal() -> set[str]:
    reveal = {Action.REVEAL, Action.REVEAL_SENSITIVE}
    return {role.value for role, grants in GRANTS.items() if reveal & grants.get(ObjectType.CUSTOMER, frozenset())}


@register(Tags.security)
def two_factor_roles(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    unknown = set(settings.KEHU_TWO_FACTOR_ROLES) - set(Role.values)
    if unknown:
        return [
            Error(
                f"KEHU_TWO_FACTOR_ROLES names {', '.join(sorted(unknown))}, which is not a role",
                hint=f"use some of {', '.join(Role.values)}, or none",
                id="kehu.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def two_factor_for_revealing_roles(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    missing = (roles_that_may_reveal() | {Role.ADMIN.value}) - set(settings.KEHU_TWO_FACTOR_ROLES)
    if not missing:
        return []
    return [
        Warning(
            f"{', '.join(sorted(missing))} may see personal data in full but can sign in without a second factor",
            hint="add them to KEHU_TWO_FACTOR_ROLES (PIPL art. 51, ASVS V6.3)",
            id="kehu.W001",
        )
    ]
