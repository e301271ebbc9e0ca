"""Access checks every page, API call, search and export goes through: role grants and record scope."""

from __future__ import annotations

from django.db.models import Q

from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType, Scope, role_allows, role_scope
from kehu.core.errors import PermissionDeniedError


def require(user: User, object_type: ObjectType, action: Action) -> None:
    """Raise PermissionDeniedError unless the user is active and the role grants `action` on `object_type`."""
    if not user.is_active or not role_allows(user.role, object_type, action):
        raise PermissionDeniedError(action.value, object_type.value)


def allows(user: User, object_type: ObjectType, action: Action) -> bool:
    return user.is_active and role_allows(user.role, object_type, action)


def scope_terms(user: User) -> list[str] | None:
    """The same rule as `scope_q`, as the owner/team tokens of the customer search index; None means all."""
    scope = role_scope(user.role)
    if scope is Scope.ALL:
        return None
    terms = [f"o{user.pk}"]
    if scope is Scope.TEAM and user.team_id is not None:
        terms.append(f"t{user.team_id}")
    return terms if scope in (Scope.OWN, Scope.TEAM) else ["onobody"]


def scope_q(user: User, *, prefix: str = "") -> Q:
    """The records a user may see, as a filter on a model with `owner` and `team` (through `prefix`)."""
    scope = role_scope(user.role)
    if scope is Scope.ALL:
        return Q()
    owner = Q(**{f"{prefix}owner": user})
    if scope is Scope.TEAM and user.team_id is not None:
        return owner | Q(**{f"{prefix}team_id": user.team_id})
    if scope in (Scope.OWN, Scope.TEAM):
        return owner
    return Q(pk__in=[])
