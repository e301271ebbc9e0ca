"""Where the current change comes from (API, CLI, page, system) and from which address."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditContext:
    source: str = "system"
    ip_address: str | None = None


_current: ContextVar[AuditContext] = ContextVar("kehu_audit_context", default=AuditContext())  # noqa: B039


def current_context() -> AuditContext:
    return _current.get()


@contextmanager
def audit_context(*, source: str, ip_address: str | None = None) -> Iterator[None]:
    token = _current.set(AuditContext(source=source, ip_address=ip_address))
    try:
        yield
    finally:
        _current.reset(token)
