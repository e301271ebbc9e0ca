"""/api/v1/customers, contact points, addresses, tags and custom field definitions."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema, Status

from kehu.accounts.access import require
from kehu.accounts.models import User
from kehu.accounts.roles import Action, ObjectType
from kehu.core.api_support import ErrorOut, UtcDatetime, patch_values, request_user
from kehu.core.errors import NotFoundError, ServiceValidationError
from kehu.customers import selectors, services
from kehu.customers.custom_fields import filter_value
from kehu.customers.models import (
    ContactKind,
    CustomerKind,
    CustomerType,
    CustomFieldDefinition,
    FieldType,
    Gender,
    Industry,
    LifecycleStage,
    SourceChannel,
    Tag,
)
from kehu.customers.models import Customer as CustomerModel
from kehu.customers.rendering import (
    address_out,
    contact_point_out,
    customer_out,
    customer_summary_out,
    may_see_names,
)
from kehu.interactions.selectors import customer_timeline
from kehu.privacy import services as privacy_services

router = Router(tags=["customers"])
ERRORS: dict[int, type[Schema]] = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
LIMIT = Decimal("99999999999999")  # what CustomFieldDefinition.min_value / max_value can hold


# ---- schemas -------------------------------------------------------------------------------------------


class ContactPointIn(Schema):
    kind: Literal["mobile", "phone", "email", "wechat", "qq", "other"]
    value: str = Field(min_length=1, max_length=200)
    label: str = Field("", max_length=50)
    is_primary: bool = False
    verified: bool = False
    source: str = Field("", max_length=50)


class ContactPointPatch(Schema):
    value: str | None = Field(None, min_length=1, max_length=200)
    label: str | None = Field(None, max_length=50)
    is_primary: bool | None = None
    verified: bool | None = None


class ContactPointOut(Schema):
    id: int
    kind: str
    value: str
    raw_value: str
    label: str
    is_primary: bool
    verified: bool
    source: str
    masked: bool


class AddressIn(Schema):
    raw: str = Field("", max_length=300, description="one free-text address, parsed into its parts")
    label: str = Field("", max_length=50)
    country: str = Field("CN", max_length=2)
    province: str = Field("", max_length=50)
    city: str = Field("", max_length=50)
    district: str = Field("", max_length=50)
    street: str = Field("", max_length=200)
    postal_code: str = Field("", max_length=12)
    is_primary: bool = False


class AddressOut(Schema):
    id: int
    label: str
    country: str
    province: str
    city: str
    district: str
    street: str
    postal_code: str
    is_primary: bool
    masked: bool


class CustomerIn(Schema):
    kind: Literal["person", "organization"] = "person"
    display_name: str = Field("", max_length=200)
    family_name: str = Field("", max_length=100)
    given_name: str = Field("", max_length=100)
    company_name: str = Field("", max_length=200)
    job_title: str = Field("", max_length=100)
    gender: Literal["", "female", "male", "other"] = ""
    birthday: dt.date | None = None
    industry: str = Field("", max_length=30)
    region: str = Field("", max_length=50)
    customer_type: str = Field("", max_length=20)
    lifecycle_stage: Literal["lead", "prospect", "customer", "churned"] = "lead"
    source_channel: str = Field("", max_length=20)
    source_campaign: str = Field("", max_length=100)
    source_system: str = Field("", max_length=50)
    external_id: str = Field("", max_length=100)
    id_number: str = Field("", max_length=30, description="mainland resident ID card number; always encrypted")
    bank_account: str = Field("", max_length=40, description="digits only; always encrypted")
    owner: uuid.UUID | None = None
    parent: uuid.UUID | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    attributes: dict[str, Any] = Field(default_factory=dict)
    contact_points: list[ContactPointIn] = Field(default_factory=list, max_length=50)
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)


class CustomerPatch(Schema):
    kind: Literal["person", "organization"] | None = None
    display_name: str | None = Field(None, min_length=1, max_length=200)
    family_name: str | None = Field(None, max_length=100)
    given_name: str | None = Field(None, max_length=100)
    company_name: str | None = Field(None, max_length=200)
    job_title: str | None = Field(None, max_length=100)
    gender: Literal["", "female", "male", "other"] | None = None
    birthday: dt.date | None = None
    industry: str | None = Field(None, max_length=30)
    region: str | None = Field(None, max_length=50)
    customer_type: str | None = Field(None, max_length=20)
    lifecycle_stage: Literal["lead", "prospect", "customer", "churned"] | None = None
    source_channel: str | None = Field(None, max_length=20)
    source_campaign: str | None = Field(None, max_length=100)
    id_number: str | None = Field(None, max_length=30)
    bank_account: str | None = Field(None, max_length=40)
    owner: uuid.UUID | None = None
    parent: uuid.UUID | None = None
    attributes: dict[str, Any] | None = None


class UserRef(Schema):
    id: uuid.UUID
    name: str


class CustomerSummaryOut(Schema):
    id: uuid.UUID
    kind: str
    display_name: str
    company_name: str
    lifecycle_stage: str
    source_channel: str
    owner: UserRef | None
    primary_phone: str | None
    primary_email: str | None
    tags: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    archived: bool


class CustomerOut(Schema):
    id: uuid.UUID
    kind: str
    parent: uuid.UUID | None
    display_name: str
    family_name: str
    given_name: str
    company_name: str
    job_title: str
    gender: str
    birthday: str | None = Field(description="masked (1990-**-**); POST …/reveal for the full date")
    id_number: str = Field(description="masked (110***********002X)")
    bank_account: str = Field(description="masked (***************1234)")
    industry: str
    region: str
    customer_type: str
    lifecycle_stage: str
    source_channel: str
    source_campaign: str
    source_system: str
    external_id: str
    owner: UserRef | None
    team: str | None
    tags: list[str]
    attributes: dict[str, Any]
    contact_points: list[ContactPointOut]
    addresses: list[AddressOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None


class RevealIn(Schema):
    fields: list[Literal["contact_points", "addresses", "birthday", "id_number", "bank_account"]] = Field(
        min_length=1, max_length=5
    )


class RevealOut(Schema):
    """Personal data in full: only the fields asked for; every reveal is audited."""

    contact_points: list[ContactPointOut] | None = None
    addresses: list[AddressOut] | None = None
    birthday: dt.date | None = None
    id_number: str | None = None
    bank_account: str | None = None


class CustomerPageOut(Schema):
    items: list[CustomerSummaryOut]
    next_cursor: str | None


class TagIn(Schema):
    name: str = Field(min_length=1, max_length=50)
    color: str = Field("", max_length=7)


class TagOut(Schema):
    id: int
    name: str
    color: str


class TagsIn(Schema):
    names: list[str] = Field(min_length=1, max_length=50)


class CustomFieldIn(Schema):
    key: str = Field(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=100)
    field_type: Literal["text", "integer", "decimal", "date", "boolean", "choice"]
    required: bool = False
    choices: list[str] = Field(default_factory=list, max_length=200)
    max_length: int | None = Field(None, ge=1, le=2000)
    min_value: Decimal | None = Field(None, ge=-LIMIT, le=LIMIT, max_digits=18, decimal_places=4)
    max_value: Decimal | None = Field(None, ge=-LIMIT, le=LIMIT, max_digits=18, decimal_places=4)


class CustomFieldPatch(Schema):
    label: str | None = Field(None, min_length=1, max_length=100)
    required: bool | None = None
    choices: list[str] | None = Field(None, max_length=200)
    max_length: int | None = Field(None, ge=1, le=2000)
    min_value: Decimal | None = Field(None, ge=-LIMIT, le=LIMIT, max_digits=18, decimal_places=4)
    max_value: Decimal | None = Field(None, ge=-LIMIT, le=LIMIT, max_digits=18, decimal_places=4)
    active: bool | None = None


class CustomFieldOut(Schema):
    key: str
    label: str
    field_type: str
    required: bool
    choices: list[str]
    max_length: int | None
    min_value: Decimal | None
    max_value: Decimal | None
    active: bool


class TimelineOut(Schema):
    kind: str
    occurred_at: dt.datetime
    title: str
    detail: str
    ref: str


class ChoicesOut(Schema):
    kind: list[str]
    gender: list[str]
    industry: list[str]
    customer_type: list[str]
    lifecycle_stage: list[str]
    source_channel: list[str]
    contact_kind: list[str]
    field_type: list[str]


def _owner(user: User, owner_id: uuid.UUID | None) -> User | None:
    if owner_id is None:
        return None
    owner = User.objects.filter(public_id=owner_id, is_active=True).first()
    if owner is None:
        raise ServiceValidationError.single("owner", gettext("no active user has this id"))
    return owner


def _parent(user: User, parent_id: uuid.UUID | None) -> CustomerModel | None:
    if parent_id is None:
        return None
    try:
        return selectors.customer_get_for_user(user, parent_id)
    except NotFoundError:
        raise ServiceValidationError.single("parent", gettext("no customer you can see has this id")) from None


def _detail(user: User, customer: CustomerModel) -> dict[str, Any]:
    fresh = selectors.customer_get_for_user(user, customer.public_id)
    return customer_out(fresh, may_see_names(user))


# ---- customers ---------------------------------------------------------------------------------------


class CustomerListQuery(Schema):
    q: str = Field("", max_length=100, description="name, pinyin, initials, phone (or its last digits), email…")
    kind: str = ""
    lifecycle_stage: str = ""
    owner: uuid.UUID | None = None
    team: int | None = None
    tag: str = ""
    source_channel: str = ""
    industry: str = ""
    region: str = ""
    customer_type: str = ""
    province: str = ""
    created_after: UtcDatetime | None = None
    created_before: UtcDatetime | None = None
    archived: bool = False
    attribute: list[str] = Field(default_factory=list, description="custom field filter written key=value")
    segment: str = Field(
        "", max_length=40, description="RFM segment or customer class, as key or name (champions, 重要价值客户…)"
    )
    churn_risk__gte: float | None = Field(None, ge=0, le=1, description="churn risk at least this (0–1)")
    cluster: int | None = Field(None, ge=0, le=20, description="cluster of the last analytics run (0: the largest)")
    risk_score__gte: float | None = Field(None, ge=0, le=100, description="risk score at least this (0–100)")
    sort: Literal["-created_at", "created_at", "-updated_at", "updated_at", "display_name", "-display_name"] = (
        "-created_at"
    )
    cursor: str | None = Field(None, max_length=500)
    limit: int = Field(50, ge=1, le=200)


def _attribute_filters(pairs: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(key__in=[p.split("=", 1)[0] for p in pairs])}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        definition = definitions.get(key)
        if not sep or definition is None:
            raise ServiceValidationError.single(
                "attribute", gettext("%(pair)s is not key=value with a defined custom field") % {"pair": pair}
            )
        parsed[key] = filter_value(definition, value)
    return parsed


@router.get("/customers", response={200: CustomerPageOut, **ERRORS})
def customers_list(request: HttpRequest, params: Query[CustomerListQuery]) -> dict[str, Any]:
    user = request_user(request)
    filters = selectors.CustomerFilters(
        query=params.q,
        kind=params.kind,
        lifecycle_stage=params.lifecycle_stage,
        owner=params.owner,
        team=params.team,
        tag=params.tag,
        source_channel=params.source_channel,
        industry=params.industry,
        region=params.region,
        customer_type=params.customer_type,
        province=params.province,
        created_after=params.created_after,
        created_before=params.created_before,
        archived=params.archived,
        attributes=_attribute_filters(params.attribute),
        segment=params.segment,
        churn_risk_min=params.churn_risk__gte,
        cluster=params.cluster,
        risk_min=params.risk_score__gte,
    )
    page = selectors.customer_list(user, filters, sort=params.sort, cursor=params.cursor, limit=params.limit)
    names = may_see_names(user)
    return {"items": [customer_summary_out(c, names) for c in page.items], "next_cursor": page.next_cursor}


@router.get("/search", response={200: list[CustomerSummaryOut], **ERRORS})
def search(
    request: HttpRequest,
    q: str = Query(..., min_length=1, max_length=100),
    limit: int = Query(20, ge=1, le=100),
) -> list[dict[str, Any]]:
    """Quick search: 张三, zhangsan, zs, 尾号 5678, an email fragment, 張三 — customers in your scope."""
    user = request_user(request)
    names = may_see_names(user)
    return [customer_summary_out(c, names) for c in selectors.customer_search(user, q, limit=limit)]


class PossibleDuplicateOut(Schema):
    id: uuid.UUID
    display_name: str
    company_name: str
    reasons: list[str]


class CustomerCreatedOut(CustomerOut):
    possible_duplicates: list[PossibleDuplicateOut] = Field(
        description="customers you may see that are probably this one, with why; merge them through /dedup/merges"
    )


def possible_duplicates(user: User, customer: CustomerModel) -> list[dict[str, Any]]:
    """The duplicate check (kehu.dedup.check) for a customer just created; dedup builds on customers, so this
    one read goes the other way."""
    from kehu.dedup.check import Entered, candidates_out, likely_duplicates

    entered = Entered.of(customer, list(customer.contact_points.all()), list(customer.addresses.all()))
    return candidates_out(user, likely_duplicates(user, entered, exclude=customer.pk))


@router.post("/customers", response={201: CustomerCreatedOut, **ERRORS})
def customers_create(request: HttpRequest, payload: CustomerIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    require(user, ObjectType.CUSTOMER, Action.CREATE)
    values = payload.dict(
        exclude={"owner", "parent", "tags", "attributes", "contact_points", "addresses"}, exclude_unset=False
    )
    customer = services.customer_create(
        actor=user,
        values=values,
        contact_points=[services.ContactPointInput(**item.dict()) for item in payload.contact_points],
        addresses=[services.AddressInput(**item.dict()) for item in payload.addresses],
        tags=payload.tags,
        attributes=payload.attributes,
        owner=_owner(user, payload.owner),
        parent=_parent(user, payload.parent),
    )
    return Status(201, {**_detail(user, customer), "possible_duplicates": possible_duplicates(user, customer)})


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERRORS})
def customers_get(request: HttpRequest, customer_id: str) -> dict[str, Any]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id)
    return customer_out(customer, may_see_names(user))


@router.post("/customers/{customer_id}/reveal", response={200: RevealOut, **ERRORS})
def customers_reveal(
    request: HttpRequest, response: HttpResponse, customer_id: str, payload: RevealIn
) -> dict[str, Any]:
    """Show personal data in full (roles with "reveal"; ID and bank numbers need "reveal_sensitive"); audited."""
    response["Cache-Control"] = "no-store"
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id)
    fields = list(dict.fromkeys(payload.fields))
    privacy_services.customer_reveal(actor=user, customer=customer, fields=fields)
    out: dict[str, Any] = {}
    if "contact_points" in fields:
        out["contact_points"] = [contact_point_out(p, revealed=True) for p in customer.contact_points.all()]
    if "addresses" in fields:
        out["addresses"] = [address_out(a, revealed=True) for a in customer.addresses.all()]
    for name in ("birthday", "id_number", "bank_account"):
        if name in fields:
            out[name] = getattr(customer, name) or None
    return out


@router.patch("/customers/{customer_id}", response={200: CustomerOut, **ERRORS})
def customers_update(request: HttpRequest, customer_id: str, payload: CustomerPatch) -> dict[str, Any]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    given = patch_values(payload, nullable=frozenset({"birthday", "parent"}))
    clear_parent = "parent" in given and given["parent"] is None
    values = {k: v for k, v in given.items() if k not in {"owner", "parent", "attributes"}}
    services.customer_update(
        actor=user,
        customer=customer,
        values=values,
        attributes=payload.attributes,
        owner=_owner(user, payload.owner),
        parent=_parent(user, payload.parent),
        clear_parent=clear_parent,
    )
    return _detail(user, customer)


@router.post("/customers/{customer_id}/archive", response={200: CustomerOut, **ERRORS})
def customers_archive(request: HttpRequest, customer_id: str) -> dict[str, Any]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.ARCHIVE)
    services.customer_archive(actor=user, customer=customer)
    return _detail(user, customer)


@router.post("/customers/{customer_id}/restore", response={200: CustomerOut, **ERRORS})
def customers_restore(request: HttpRequest, customer_id: str) -> dict[str, Any]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.ARCHIVE)
    services.customer_restore(actor=user, customer=customer)
    return _detail(user, customer)


@router.get("/customers/{customer_id}/timeline", response={200: list[TimelineOut], **ERRORS})
def customers_timeline(
    request: HttpRequest, customer_id: str, limit: int = Query(100, ge=1, le=500)
) -> list[TimelineOut]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id)
    return [TimelineOut(**entry.__dict__) for entry in customer_timeline(user, customer, limit=limit)]


# ---- contact points and addresses ------------------------------------------------------------------------


@router.get("/customers/{customer_id}/contact-points", response={200: list[ContactPointOut], **ERRORS})
def contact_points_list(request: HttpRequest, customer_id: str) -> list[dict[str, Any]]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id)
    return [contact_point_out(point) for point in customer.contact_points.all()]


@router.post("/customers/{customer_id}/contact-points", response={201: ContactPointOut, **ERRORS})
def contact_points_add(request: HttpRequest, customer_id: str, payload: ContactPointIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    point = services.contact_point_add(actor=user, customer=customer, item=services.ContactPointInput(**payload.dict()))
    return Status(201, contact_point_out(point))


@router.patch("/customers/{customer_id}/contact-points/{point_id}", response={200: ContactPointOut, **ERRORS})
def contact_points_update(
    request: HttpRequest, customer_id: str, point_id: int, payload: ContactPointPatch
) -> dict[str, Any]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    point = selectors.contact_point_get_for_user(user, customer, point_id)
    point = services.contact_point_update(actor=user, point=point, **patch_values(payload))
    return contact_point_out(point)


@router.delete("/customers/{customer_id}/contact-points/{point_id}", response={204: None, **ERRORS})
def contact_points_remove(request: HttpRequest, customer_id: str, point_id: int) -> Status[None]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    services.contact_point_remove(actor=user, point=selectors.contact_point_get_for_user(user, customer, point_id))
    return Status(204, None)


@router.get("/customers/{customer_id}/addresses", response={200: list[AddressOut], **ERRORS})
def addresses_list(request: HttpRequest, customer_id: str) -> list[dict[str, Any]]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id)
    return [address_out(address) for address in customer.addresses.all()]


@router.post("/customers/{customer_id}/addresses", response={201: AddressOut, **ERRORS})
def addresses_add(request: HttpRequest, customer_id: str, payload: AddressIn) -> Status[dict[str, Any]]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    address = services.address_add(actor=user, customer=customer, item=services.AddressInput(**payload.dict()))
    return Status(201, address_out(address))


@router.put("/customers/{customer_id}/addresses/{address_id}", response={200: AddressOut, **ERRORS})
def addresses_update(request: HttpRequest, customer_id: str, address_id: int, payload: AddressIn) -> dict[str, Any]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    address = selectors.address_get_for_user(user, customer, address_id)
    address = services.address_update(actor=user, address=address, item=services.AddressInput(**payload.dict()))
    return address_out(address)


@router.delete("/customers/{customer_id}/addresses/{address_id}", response={204: None, **ERRORS})
def addresses_remove(request: HttpRequest, customer_id: str, address_id: int) -> Status[None]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    services.address_remove(actor=user, address=selectors.address_get_for_user(user, customer, address_id))
    return Status(204, None)


# ---- tags ----------------------------------------------------------------------------------------------


def _tag_out(tag: Tag) -> TagOut:
    return TagOut(id=tag.pk, name=tag.name, color=tag.color)


@router.get("/tags", response={200: list[TagOut], **ERRORS})
def tags_list(request: HttpRequest) -> list[TagOut]:
    return [_tag_out(tag) for tag in selectors.tag_list(request_user(request))]


@router.post("/tags", response={201: TagOut, **ERRORS})
def tags_create(request: HttpRequest, payload: TagIn) -> Status[TagOut]:
    return Status(
        201,
        _tag_out(services.tag_create(actor=request_user(request), name=payload.name, color=payload.color)),
    )


@router.post("/customers/{customer_id}/tags", response={200: list[str], **ERRORS})
def customer_tags_add(request: HttpRequest, customer_id: str, payload: TagsIn) -> list[str]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    services.customer_tags_add(actor=user, customer=customer, names=payload.names)
    return sorted(customer.tags.values_list("name", flat=True))


@router.delete("/customers/{customer_id}/tags/{tag_name}", response={204: None, **ERRORS})
def customer_tags_remove(request: HttpRequest, customer_id: str, tag_name: str) -> Status[None]:
    user = request_user(request)
    customer = selectors.customer_get_for_user(user, customer_id, Action.CHANGE)
    tag = customer.tags.filter(name=tag_name).first()
    if tag is None:
        raise NotFoundError
    services.customer_tag_remove(actor=user, customer=customer, tag=tag)
    return Status(204, None)


# ---- custom field definitions ------------------------------------------------------------------------


def _field_out(definition: CustomFieldDefinition) -> CustomFieldOut:
    return CustomFieldOut(
        key=definition.key,
        label=definition.label,
        field_type=definition.field_type,
        required=definition.required,
        choices=[str(choice) for choice in definition.choices],
        max_length=definition.max_length,
        min_value=definition.min_value,
        max_value=definition.max_value,
        active=definition.active,
    )


@router.get("/custom-fields", response={200: list[CustomFieldOut], **ERRORS})
def custom_fields_list(request: HttpRequest) -> list[CustomFieldOut]:
    require(request_user(request), ObjectType.CUSTOM_FIELD, Action.VIEW)
    return [_field_out(d) for d in CustomFieldDefinition.objects.order_by("key")]


@router.post("/custom-fields", response={201: CustomFieldOut, **ERRORS})
def custom_fields_create(request: HttpRequest, payload: CustomFieldIn) -> Status[CustomFieldOut]:
    data = payload.dict()
    definition = services.custom_field_define(
        actor=request_user(request),
        key=data.pop("key"),
        label=data.pop("label"),
        field_type=data.pop("field_type"),
        **data,
    )
    return Status(201, _field_out(definition))


@router.patch("/custom-fields/{key}", response={200: CustomFieldOut, **ERRORS})
def custom_fields_update(request: HttpRequest, key: str, payload: CustomFieldPatch) -> CustomFieldOut:
    user = request_user(request)
    require(user, ObjectType.CUSTOM_FIELD, Action.CHANGE)
    definition = CustomFieldDefinition.objects.filter(key=key).first()
    if definition is None:
        raise NotFoundError
    return _field_out(
        services.custom_field_update(
            actor=user,
            definition=definition,
            **patch_values(payload, nullable=frozenset({"max_length", "min_value", "max_value"})),
        )
    )


@router.get("/choices", response={200: ChoicesOut}, tags=["reference"])
def choices(request: HttpRequest) -> ChoicesOut:
    """The allowed values of every coded customer field."""
    return ChoicesOut(
        kind=CustomerKind.values,
        gender=Gender.values,
        industry=Industry.values,
        customer_type=CustomerType.values,
        lifecycle_stage=LifecycleStage.values,
        source_channel=SourceChannel.values,
        contact_kind=ContactKind.values,
        field_type=FieldType.values,
    )
