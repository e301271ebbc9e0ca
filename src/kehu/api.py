"""The HTTP API at /api/v1/ (OpenAPI at /api/v1/docs, linked from /api/docs)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from kehu.accounts.api import router as accounts_router
from kehu.accounts.models import User
from kehu.accounts.services import api_token_authenticate
from kehu.analytics.api import router as analytics_router
from kehu.audit.api import router as audit_router
from kehu.audit.context import audit_context
from kehu.audit.models import AuditEvent
from kehu.audit.services import audit_record
from kehu.commerce.api import router as commerce_router
from kehu.core.errors import NotFoundError, PermissionDeniedError, ServiceValidationError
from kehu.customers.api import router as customers_router
from kehu.dedup.api import router as dedup_router
from kehu.ingest.api import router as ingest_router
from kehu.interactions.api import router as interactions_router
from kehu.privacy.api import router as privacy_router


class TokenAuth(HttpBearer):
    """`Authorization: Bearer kehu_…` with a personal API token."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return api_token_authenticate(token)


class SessionAuth(APIKeyCookie):
    """The signed-in browser session; CSRF is checked on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


api = NinjaAPI(
    title="kehu API",
    version="1",
    urls_namespace="api-v1",
    auth=[TokenAuth(), SessionAuth()],
    docs_url="/docs",
)
api.add_router("/", customers_router)
api.add_router("/", commerce_router)
api.add_router("/", interactions_router)
api.add_router("/", accounts_router)
api.add_router("/", audit_router)
api.add_router("/", privacy_router)
api.add_router("/", ingest_router)
api.add_router("/", dedup_router)
api.add_router("/", analytics_router)


def _errors(request: HttpRequest, status: int, errors: list[dict[str, Any]]) -> HttpResponse:
    return api.create_response(request, {"errors": errors}, status=status)


def _location(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc]
    while parts and parts[0] in {"body", "query", "path", "payload", "params"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    return _errors(
        request,
        422,
        [{"field": _location(item.get("loc", ())), "reason": item.get("msg", "")} for item in error.errors],
    )


@api.exception_handler(ServiceValidationError)
def on_service_error(request: HttpRequest, error: ServiceValidationError) -> HttpResponse:
    return _errors(request, 422, [{"field": item.field, "reason": item.reason} for item in error.errors])


@api.exception_handler(NotFoundError)
def on_not_found(request: HttpRequest, error: NotFoundError) -> HttpResponse:
    # Out of scope and missing look the same, so ids cannot be probed.
    return _errors(request, 404, [{"field": None, "reason": "not found"}])


@api.exception_handler(PermissionDeniedError)
def on_denied(request: HttpRequest, error: PermissionDeniedError) -> HttpResponse:
    actor = getattr(request, "auth", None)
    with transaction.atomic():
        audit_record(
            event=AuditEvent.PERMISSION_DENIED,
            actor=actor if isinstance(actor, User) else None,
            target_type=error.object_type,
            extra={"action": error.action, "method": request.method, "path": request.path[:200]},
        )
    return _errors(request, 403, [{"field": None, "reason": str(error)}])


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return _errors(request, 401, [{"field": None, "reason": "sign in or send a personal API token"}])


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    return _errors(request, error.status_code, [{"field": None, "reason": str(error)}])


class RejectNulCharactersMiddleware:
    """Refuse API requests that carry a NUL character: no field may hold one, and PostgreSQL cannot store it."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            query = request.META.get("QUERY_STRING", "")
            # A file upload is binary (an XLSX holds NUL bytes) and may be large: its body is not read here.
            upload = request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data")
            body = b"" if upload else request.body
            if "%00" in query or "\x00" in query or b"\\u0000" in body or b"\x00" in body:
                return JsonResponse(
                    {"errors": [{"field": None, "reason": "the request contains a NUL character"}]}, status=400
                )
        response: HttpResponse = self.get_response(request)
        return response


class ApiLanguageMiddleware:
    """The API answers in English, a stable contract for scripts, unless the client sends Accept-Language
    (`zh-CN` gets the messages in Chinese); the pages follow the user's choice."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and not request.META.get("HTTP_ACCEPT_LANGUAGE"):
            with translation.override("en"):
                request.LANGUAGE_CODE = "en"
                response: HttpResponse = self.get_response(request)
            return response
        return self.get_response(request)


class ApiAuditContextMiddleware:
    """Tag audit records written while serving the API with their source and client address."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        source = "api" if request.path.startswith("/api/") else "web"
        with audit_context(source=source, ip_address=request.META.get("REMOTE_ADDR")):
            response: HttpResponse = self.get_response(request)
        return response
