"""What the top bar offers: only the sections the user's role may open."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kehu.accounts.access import allows
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"nav": {}}
    return {
        "nav": {
            "customers": allows(user, ObjectType.CUSTOMER, Action.VIEW),
            "duplicates": allows(user, ObjectType.CUSTOMER, Action.CHANGE),
            "orders": allows(user, ObjectType.ORDER, Action.VIEW),
            "products": allows(user, ObjectType.PRODUCT, Action.VIEW),
            "analytics": allows(user, ObjectType.ANALYTICS, Action.VIEW),
            "imports": allows(user, ObjectType.CUSTOMER, Action.CREATE),
            "privacy": allows(user, ObjectType.SUBJECT_REQUEST, Action.VIEW),
            "retention": allows(user, ObjectType.RETENTION, Action.VIEW),
            "audit": allows(user, ObjectType.AUDIT, Action.VIEW),
        }
    }
