"""Every API operation × every role × the actor's own, a teammate's and another team's record.

Allowed combinations must succeed; the others must answer 403 (the role lacks the action) or 404 (the
record is out of scope) and change nothing. The operations come from the OpenAPI schema, so a new endpoint
fails `test_every_operation_is_in_the_matrix` until its access rules are written down here.
"""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client

from kehu.accounts.models import ApiToken, Team, User
from kehu.accounts.roles import Action, ObjectType, Role, Scope, role_allows, role_scope
from kehu.accounts.services import api_token_create
from kehu.api import api
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.commerce.models import Order, OrderLine, OrderReturn, Product
from kehu.commerce.services import OrderLineInput, order_create, product_create
from kehu.core.models import Job
from kehu.customers.models import Address, ContactPoint, Customer, CustomFieldDefinition, Tag
from kehu.customers.services import (
    AddressInput,
    ContactPointInput,
    custom_field_define,
    customer_create,
)
from kehu.dedup.merge import customers_merge
from kehu.dedup.models import DedupPolicy, MatchGroup, Merge, NotSamePair
from kehu.ingest.files import upload_store
from kehu.ingest.models import Upload
from kehu.interactions.models import Interaction
from kehu.interactions.services import interaction_log
from kehu.privacy.models import Consent, ErasureTombstone, RetentionFlag, RetentionRule, SubjectRequest
from kehu.privacy.services import consent_give, retention_rule_set, subject_request_open
from tests.conftest import make_user

CUST, PROD, ORD, INTR = ObjectType.CUSTOMER, ObjectType.PRODUCT, ObjectType.ORDER, ObjectType.INTERACTION
TAG, FIELD = ObjectType.TAG, ObjectType.CUSTOM_FIELD
SR, RET = ObjectType.SUBJECT_REQUEST, ObjectType.RETENTION
V, NEW, CHG, ARC = Action.VIEW, Action.CREATE, Action.CHANGE, Action.ARCHIVE
SCOPE = "scope"  # the record must be within the actor's scope
RELATIONS = ("own", "team", "other")


@dataclass(frozen=True)
class Operation:
    checks: tuple[Any, ...]  # (object type, action) role checks and SCOPE, in the order the code applies them
    body: dict[str, Any] | None = None
    listing: str = ""  # for list operations: the key whose ids must include the target exactly when in scope
    scoped_record: bool = field(default=False)
    fill: dict[str, str] = field(default_factory=dict)  # path parameters taken from another world attribute
    upload: bool = False  # sent as a multipart file upload instead of JSON
    signed: bool = False  # authenticated by a signature, not a user: every user's call without one is refused (401)

    @property
    def record(self) -> bool:
        return SCOPE in self.checks or self.scoped_record


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/customers"): Operation(((CUST, V),), listing="customer", scoped_record=True),
    ("POST", "/customers"): Operation(((CUST, NEW),), {"display_name": "矩阵客户"}),
    ("GET", "/search"): Operation(((CUST, V),), listing="customer", scoped_record=True),
    ("GET", "/customers/{customer_id}"): Operation(((CUST, V), SCOPE)),
    ("PATCH", "/customers/{customer_id}"): Operation(((CUST, CHG), SCOPE), {"job_title": "经理"}),
    ("POST", "/customers/{customer_id}/archive"): Operation(((CUST, ARC), SCOPE), {}),
    ("POST", "/customers/{customer_id}/restore"): Operation(((CUST, ARC), SCOPE), {}),
    ("GET", "/customers/{customer_id}/timeline"): Operation(((CUST, V), SCOPE)),
    ("GET", "/customers/{customer_id}/contact-points"): Operation(((CUST, V), SCOPE)),
    ("POST", "/customers/{customer_id}/contact-points"): Operation(
        ((CUST, CHG), SCOPE), {"kind": "email", "value": "matrix@example.com"}
    ),
    ("PATCH", "/customers/{customer_id}/contact-points/{point_id}"): Operation(((CUST, CHG), SCOPE), {"label": "工作"}),
    ("DELETE", "/customers/{customer_id}/contact-points/{point_id}"): Operation(((CUST, CHG), SCOPE)),
    ("GET", "/customers/{customer_id}/addresses"): Operation(((CUST, V), SCOPE)),
    ("POST", "/customers/{customer_id}/addresses"): Operation(((CUST, CHG), SCOPE), {"raw": "北京市朝阳区建国路88号"}),
    ("PUT", "/customers/{customer_id}/addresses/{address_id}"): Operation(
        ((CUST, CHG), SCOPE), {"province": "浙江省", "city": "杭州市", "district": "西湖区", "street": "文三路1号"}
    ),
    ("DELETE", "/customers/{customer_id}/addresses/{address_id}"): Operation(((CUST, CHG), SCOPE)),
    ("GET", "/tags"): Operation(((TAG, V),)),
    ("POST", "/tags"): Operation(((TAG, NEW),), {"name": "矩阵标签"}),
    ("POST", "/customers/{customer_id}/tags"): Operation(((CUST, CHG), SCOPE), {"names": ["VIP"]}),
    ("DELETE", "/customers/{customer_id}/tags/{tag_name}"): Operation(((CUST, CHG), SCOPE)),
    ("GET", "/custom-fields"): Operation(((FIELD, V),)),
    ("POST", "/custom-fields"): Operation(((FIELD, NEW),), {"key": "level", "label": "等级", "field_type": "text"}),
    ("PATCH", "/custom-fields/{key}"): Operation(((FIELD, CHG),), {"label": "年度预算"}),
    ("GET", "/choices"): Operation(()),
    ("GET", "/products"): Operation(((PROD, V),)),
    ("POST", "/products"): Operation(((PROD, NEW),), {"sku": "M1", "name": "矩阵产品", "price": "9.90"}),
    ("GET", "/products/{sku}"): Operation(((PROD, V),)),
    ("PATCH", "/products/{sku}"): Operation(((PROD, V), (PROD, CHG)), {"name": "新名称"}),
    ("GET", "/orders"): Operation(((ORD, V),), listing="order", scoped_record=True),
    ("POST", "/orders"): Operation(
        ((CUST, CHG), SCOPE, (PROD, V), (ORD, NEW)),
        {"customer": "{customer_id}", "channel": "store", "lines": [{"sku": "P1", "quantity": 1}]},
    ),
    ("GET", "/orders/{order_id}"): Operation(((ORD, V), SCOPE)),
    ("PATCH", "/orders/{order_id}"): Operation(((ORD, CHG), SCOPE), {"status": "completed"}),
    ("POST", "/orders/{order_id}/returns"): Operation(((ORD, CHG), SCOPE), {"line": "{line_id}", "quantity": 1}),
    ("GET", "/interactions"): Operation(((INTR, V),), listing="interaction", scoped_record=True),
    ("POST", "/interactions"): Operation(
        ((CUST, V), SCOPE, (INTR, NEW)), {"customer": "{customer_id}", "kind": "call", "subject": "矩阵回访"}
    ),
    ("GET", "/interactions/{interaction_id}"): Operation(((INTR, V), SCOPE)),
    ("PATCH", "/interactions/{interaction_id}"): Operation(((INTR, CHG), SCOPE), {"subject": "改过"}),
    ("GET", "/me"): Operation(()),
    ("GET", "/tokens"): Operation(()),
    ("POST", "/tokens"): Operation((), {"name": "矩阵令牌"}),
    ("DELETE", "/tokens/{token_id}"): Operation(()),
    ("GET", "/audit"): Operation(((ObjectType.AUDIT, V),)),
    ("GET", "/audit/export"): Operation(((ObjectType.AUDIT, V),)),
    ("POST", "/customers/{customer_id}/reveal"): Operation(
        ((CUST, V), SCOPE, (CUST, Action.REVEAL)), {"fields": ["contact_points", "addresses"]}
    ),
    ("GET", "/customers/{customer_id}/consents"): Operation(((CUST, V), SCOPE)),
    ("POST", "/customers/{customer_id}/consents"): Operation(
        ((CUST, CHG), SCOPE), {"purpose": "marketing_sms", "source": "门店", "wording": "同意接收促销短信"}
    ),
    ("POST", "/customers/{customer_id}/consents/withdraw"): Operation(
        ((CUST, CHG), SCOPE), {"purpose": "profiling", "source": "客服电话"}
    ),
    ("GET", "/subject-requests"): Operation(((SR, V),)),
    ("POST", "/subject-requests"): Operation(
        ((SR, NEW), (CUST, V), SCOPE), {"customer": "{customer_id}", "kind": "correction", "received_through": "电话"}
    ),
    ("GET", "/subject-requests/{request_id}"): Operation(((SR, V), SCOPE)),
    ("POST", "/subject-requests/{request_id}/close"): Operation(
        ((SR, V), SCOPE, (SR, CHG)), {"status": "completed", "outcome": "已更正"}
    ),
    ("POST", "/subject-requests/{request_id}/export"): Operation(((SR, V), SCOPE, (SR, Action.EXPORT)), {}),
    ("POST", "/subject-requests/{request_id}/erase"): Operation(
        ((SR, V), SCOPE, (SR, Action.ERASE)), {}, fill={"request_id": "deletion_request"}
    ),
    ("PUT", "/retention/rules"): Operation(
        ((RET, CHG),), {"data_type": "untouched_leads", "months": 24, "action": "flag"}
    ),
    ("GET", "/retention/report"): Operation(((RET, V),)),
    ("POST", "/imports/uploads"): Operation(((CUST, NEW),), upload=True),
    ("POST", "/imports"): Operation(((CUST, NEW),), {"upload_id": "{upload_id}", "dry_run": True}),
    ("GET", "/imports"): Operation(((CUST, NEW),)),
    ("GET", "/imports/{job_id}"): Operation(((CUST, NEW),)),
    ("GET", "/imports/{job_id}/issues"): Operation(((CUST, NEW),)),
    ("GET", "/imports/{job_id}/report"): Operation(((CUST, NEW),)),
    ("POST", "/imports/{job_id}/cancel"): Operation(((CUST, NEW),), {}),
    ("POST", "/hooks/orders/{source}"): Operation((), {"order_id": "X1"}, signed=True),
    ("POST", "/dedup/runs"): Operation(((CUST, CHG),), {"threshold": 0.7}),
    ("POST", "/dedup/check"): Operation(((CUST, V),), {"display_name": "张三矩阵"}),
    ("GET", "/dedup/groups"): Operation(((CUST, CHG),)),
    ("GET", "/dedup/groups/{group_id}"): Operation(((CUST, CHG), SCOPE)),
    ("POST", "/dedup/groups/{group_id}/merge"): Operation(((CUST, ARC), (CUST, CHG), SCOPE), {}),
    ("POST", "/dedup/groups/{group_id}/not-same"): Operation(((CUST, CHG), SCOPE), {}),
    ("POST", "/dedup/groups/{group_id}/skip"): Operation(((CUST, CHG), SCOPE), {}),
    ("POST", "/dedup/merges"): Operation(
        ((CUST, CHG), SCOPE, (CUST, ARC)), {"survivor": "{customer_id}", "others": ["{twin_id}"]}
    ),
    ("GET", "/dedup/merges"): Operation(((CUST, CHG),)),
    ("POST", "/dedup/merges/{merge_id}/undo"): Operation(((CUST, CHG), SCOPE, (CUST, ARC)), {}),
    ("GET", "/dedup/policy"): Operation(((ObjectType.DEDUP_POLICY, V),)),
    ("POST", "/analytics/runs"): Operation(((ObjectType.ANALYTICS, NEW),), {}),
    ("GET", "/analytics/runs"): Operation(((ObjectType.ANALYTICS, V),)),
    ("GET", "/analytics/runs/{job_id}"): Operation(((ObjectType.ANALYTICS, V),), fill={"job_id": "analytics_job"}),
    ("GET", "/customers/{customer_id}/score"): Operation(((CUST, V), SCOPE)),
    ("PUT", "/dedup/policy"): Operation(
        ((ObjectType.DEDUP_POLICY, CHG),), {"auto_merge_threshold": 0.95, "rule": "complete", "trusted_sources": ""}
    ),
}
IMPORT_FILE = "姓名,手机\n张三,13812345678\n".encode()


def _schema_operations() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema(path_prefix="")
    return {(method.upper(), path) for path, methods in schema["paths"].items() for method in methods}


def test_every_operation_is_in_the_matrix() -> None:
    assert _schema_operations() == set(OPERATIONS)


def _in_scope(role: Role, relation: str) -> bool:
    scope = role_scope(role)
    return (
        scope is Scope.ALL
        or (scope is Scope.TEAM and relation in ("own", "team"))
        or (scope is Scope.OWN and relation == "own")
    )


def expected_status(operation: Operation, role: Role, relation: str) -> int | None:
    """403 or 404 for the first check that fails, None when the call must succeed."""
    for check in operation.checks:
        if check == SCOPE:
            if not _in_scope(role, relation):
                return 404
        elif not role_allows(role, *check):
            return 403
    return None


@dataclass
class World:
    actor: User
    customer: Customer
    point: ContactPoint
    address: Address
    order: Order
    line: OrderLine
    interaction: Interaction
    token: ApiToken
    access_request: SubjectRequest
    deletion_request: SubjectRequest
    upload: Upload
    job: Job
    twin: Customer
    group: MatchGroup
    merge: Merge
    analytics_job: Job


def _world(role: Role, relation: str) -> World:
    east, south = Team.objects.create(name="east"), Team.objects.create(name="south")
    actor = make_user("actor", role, east)
    owners = {
        "own": actor,
        "team": make_user("teammate", Role.SALES_REP, east),
        "other": make_user("outsider", Role.SALES_REP, south),
    }
    root = make_user("root", Role.ADMIN)
    with transaction.atomic():
        product = product_create(actor=root, sku="P1", name="产品", price=Decimal("100.00"))
        custom_field_define(actor=root, key="budget", label="预算", field_type="integer")
        customer = customer_create(
            actor=root,
            owner=owners[relation],
            values={"display_name": "张三矩阵"},
            tags=["VIP"],
            contact_points=[ContactPointInput(kind="mobile", value="13812345678")],
            addresses=[AddressInput(raw="广东省深圳市南山区科技园路1号")],
        )
        order = order_create(actor=root, customer=customer, lines=[OrderLineInput(product, 2)], channel="store")
        interaction = interaction_log(actor=root, customer=customer, kind="call", subject="回访")
        token = api_token_create(actor=actor, name="own").token
        consent_give(
            actor=root, customer=customer, purpose="profiling", legal_basis="consent", source="官网", wording="同意分析"
        )
        access = subject_request_open(actor=root, customer=customer, kind="access", received_through="邮件")
        deletion = subject_request_open(actor=root, customer=customer, kind="deletion", received_through="邮件")
        retention_rule_set(actor=root, data_type="archived_customers", months=36, action="flag")
        upload = upload_store(actor=actor, name="matrix.csv", source=io.BytesIO(IMPORT_FILE))
        job = Job.objects.create(kind="import", created_by=actor, params={"upload_id": upload.pk, "headers": []})
        twin, *pair = (
            customer_create(actor=root, owner=owners[relation], values={"display_name": name})
            for name in ("张三", "李四", "李 四")
        )
        search = Job.objects.create(kind="dedup", created_by=root, params={})
        group = MatchGroup.objects.create(job=search, confidence=0.9, size=2)
        group.customers.set([customer, twin])
        merge = customers_merge(actor=root, survivor=pair[0], others=pair[1:])
        analytics_job = Job.objects.create(kind="analytics", created_by=root, params={})
    return World(
        actor=actor,
        customer=customer,
        point=customer.contact_points.get(),
        address=customer.addresses.get(),
        order=order,
        line=order.lines.get(),
        interaction=interaction,
        token=token,
        access_request=access,
        deletion_request=deletion,
        upload=upload,
        job=job,
        twin=twin,
        group=group,
        merge=merge,
        analytics_job=analytics_job,
    )


def _snapshot() -> dict[str, Any]:
    models = [
        Customer,
        ContactPoint,
        Address,
        Tag,
        CustomFieldDefinition,
        Product,
        Order,
        OrderLine,
        OrderReturn,
        Interaction,
        Consent,
        SubjectRequest,
        ErasureTombstone,
        RetentionRule,
        RetentionFlag,
        MatchGroup,
        Merge,
        NotSamePair,
        DedupPolicy,
    ]
    state: dict[str, Any] = {model.__name__: list(model.objects.order_by("pk").values()) for model in models}
    state["tagging"] = list(Customer.tags.through.objects.order_by("pk").values())
    state["tokens"] = list(ApiToken.objects.order_by("pk").values("pk", "revoked_at"))
    state["audit"] = AuditRecord.objects.exclude(event=AuditEvent.PERMISSION_DENIED).count()
    return state


def _fill(text: str, world: World, overrides: dict[str, str] | None = None) -> str:
    requests = {"access_request": world.access_request, "deletion_request": world.deletion_request}
    request_id = requests[(overrides or {}).get("request_id", "access_request")].public_id
    return text.format(
        request_id=request_id,
        customer_id=world.customer.public_id,
        point_id=world.point.pk,
        address_id=world.address.pk,
        tag_name="VIP",
        key="budget",
        sku="P1",
        order_id=world.order.public_id,
        interaction_id=world.interaction.public_id,
        token_id=world.token.pk,
        line_id=world.line.pk,
        upload_id=world.upload.public_id,
        source="tmall",
        job_id=(world.analytics_job if (overrides or {}).get("job_id") else world.job).public_id,
        twin_id=world.twin.public_id,
        group_id=world.group.pk,
        merge_id=world.merge.public_id,
    )


def _body(value: Any, world: World) -> Any:
    if isinstance(value, dict):
        return {key: _body(item, world) for key, item in value.items()}
    if isinstance(value, list):
        return [_body(item, world) for item in value]
    if isinstance(value, str) and value.startswith("{"):
        filled = _fill(value, world)
        return int(filled) if filled.isdigit() else filled
    return value


CASES = [
    (method, path, role, relation)
    for (method, path), operation in OPERATIONS.items()
    for role, relation in itertools.product(Role, RELATIONS if operation.record else ("own",))
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "role", "relation"), CASES)
def test_access(method: str, path: str, role: Role, relation: str) -> None:
    operation = OPERATIONS[(method, path)]
    world = _world(role, relation)
    client = Client()
    client.force_login(world.actor)
    url = "/api/v1" + _fill(path, world, operation.fill)
    kwargs: dict[str, Any] = {}
    if operation.listing == "customer" and path == "/search":
        kwargs["data"] = {"q": "张三矩阵"}
    if operation.body is not None:
        kwargs = {"data": json.dumps(_body(operation.body, world)), "content_type": "application/json"}
    if operation.upload:
        kwargs = {"data": {"file": SimpleUploadedFile("matrix.csv", IMPORT_FILE, content_type="text/csv")}}
    before = _snapshot()
    denials = AuditRecord.objects.filter(event=AuditEvent.PERMISSION_DENIED).count()
    response = getattr(client, method.lower())(url, **kwargs)
    expected = 401 if operation.signed else expected_status(operation, role, relation)
    if expected is not None:
        assert response.status_code == expected, response.content
        assert _snapshot() == before, "a refused request changed data"
        # A refusal by role is audited; out-of-scope records answer 404 as if they did not exist.
        audited = AuditRecord.objects.filter(event=AuditEvent.PERMISSION_DENIED).count() - denials
        assert audited == (1 if expected == 403 else 0)  # a missing signature is not a user's refusal
        return
    assert 200 <= response.status_code < 300, response.content
    if operation.listing:
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body
        target = {
            "customer": world.customer.public_id,
            "order": world.order.public_id,
            "interaction": world.interaction.public_id,
        }[operation.listing]
        assert (str(target) in {item["id"] for item in items}) == _in_scope(role, relation)
