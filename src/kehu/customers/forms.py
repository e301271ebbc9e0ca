"""Forms of the customer pages. They parse and present; every rule lives in the services, whose errors the views
put next to the field they name, so that a page and the API refuse the same input for the same reason."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from kehu.accounts.models import Team, User
from kehu.accounts.roles import Scope, role_scope
from kehu.analytics.rfm import CLASS_NAMES, SEGMENTS
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
)
from kehu.customers.quality import quality_choices
from kehu.customers.selectors import CustomerFilters
from kehu.interactions.models import Direction, InteractionKind
from kehu.web.pages import day_start

PROVINCES = (
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省", "上海市", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "广西壮族自治区",
    "海南省", "重庆市", "四川省", "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区",
    "新疆维吾尔自治区", "台湾省", "香港特别行政区", "澳门特别行政区",
)  # fmt: skip

SORT_CHOICES = (
    ("-created_at", _("Newest first")),
    ("created_at", _("Oldest first")),
    ("-updated_at", _("Recently changed")),
    ("display_name", _("Name A→Z")),
    ("-display_name", _("Name Z→A")),
)
PAGE_SIZES = ((25, "25"), (50, "50"), (100, "100"))

# Columns of the list: key → heading. Name is always shown; the user picks the rest.
COLUMNS = {
    "phone": _("Phone"),
    "email": _("Email"),
    "company": _("Company"),
    "stage": _("Stage"),
    "owner": _("Owner"),
    "tags": _("Tags"),
    "source": _("Source"),
    "created": _("Created"),
    "updated": _("Changed"),
}
DEFAULT_COLUMNS = ("phone", "company", "stage", "owner", "tags", "created")


ANY = _("Any")
DASH = "—"


def _blank(choices: Any, label: Any = ANY) -> list[tuple[str, Any]]:
    return [("", label), *list(choices)]


class CustomerFilterForm(forms.Form):
    """The list's state, all of it in the URL so that a view can be bookmarked and shared."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=_blank(LifecycleStage.choices))
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    province = forms.ChoiceField(label=_("Province"), required=False, choices=_blank((p, p) for p in PROVINCES))
    region = forms.CharField(label=_("Region"), required=False, max_length=50)
    industry = forms.ChoiceField(label=_("Industry"), required=False, choices=_blank(Industry.choices))
    source = forms.ChoiceField(label=_("Source channel"), required=False, choices=_blank(SourceChannel.choices))
    type = forms.ChoiceField(label=_("Customer type"), required=False, choices=_blank(CustomerType.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(CustomerKind.choices))
    created_from = forms.DateField(label=_("Created from"), required=False, widget=forms.DateInput({"type": "date"}))
    created_to = forms.DateField(label=_("Created to"), required=False, widget=forms.DateInput({"type": "date"}))
    archived = forms.BooleanField(label=_("Archived only"), required=False)
    quality = forms.ChoiceField(label=_("Data quality"), required=False)
    months = forms.IntegerField(label=_("Not touched for (months)"), required=False, min_value=1, max_value=120)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    churn = forms.FloatField(label=_("Churn risk at least"), required=False, min_value=0, max_value=1)
    cluster = forms.IntegerField(label=_("Cluster"), required=False, min_value=0, max_value=20)
    risk = forms.IntegerField(label=_("Risk score at least"), required=False, min_value=0, max_value=100)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)
    per = forms.TypedChoiceField(
        label=_("Per page"), required=False, choices=PAGE_SIZES, coerce=int, empty_value=None, initial=50
    )
    cols = forms.MultipleChoiceField(
        label=_("Columns"), required=False, choices=list(COLUMNS.items()), widget=forms.CheckboxSelectMultiple
    )
    cursor = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def __init__(self, *args: Any, owners: list[User], teams: list[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ChoiceField)
        owner_field.choices = _blank((str(user.public_id), str(user)) for user in owners)
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ChoiceField)
        team_field.choices = _blank((str(team.pk), team.name) for team in teams)
        quality_field = self.fields["quality"]
        assert isinstance(quality_field, forms.ChoiceField)
        quality_field.choices = _blank(quality_choices())
        segment_field = self.fields["segment"]
        assert isinstance(segment_field, forms.ChoiceField)
        segment_field.choices = _blank([*CLASS_NAMES.items(), *SEGMENTS.items()])  # as the last analytics run left them
        self.custom_fields = list(CustomFieldDefinition.objects.filter(active=True).order_by("label"))
        for definition in self.custom_fields:
            name = f"attr_{definition.key}"
            if definition.field_type == FieldType.CHOICE:
                choices = _blank((str(choice), str(choice)) for choice in definition.choices)
                self.fields[name] = forms.ChoiceField(label=definition.label, required=False, choices=choices)
            elif definition.field_type == FieldType.BOOLEAN:
                yes_no = [("", _("Any")), ("true", _("Yes")), ("false", _("No"))]
                self.fields[name] = forms.ChoiceField(label=definition.label, required=False, choices=yes_no)
            else:
                self.fields[name] = forms.CharField(label=definition.label, required=False, max_length=100)

    def attributes(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for definition in self.custom_fields:
            value = self.cleaned_data.get(f"attr_{definition.key}")
            if value not in (None, ""):
                values[definition.key] = filter_value(definition, str(value))
        return values

    def columns(self) -> list[str]:
        chosen = self.cleaned_data.get("cols") if self.is_bound and self.is_valid() else None
        return [key for key in COLUMNS if key in (chosen or DEFAULT_COLUMNS)]

    def day_start(self, name: str, *, next_day: bool = False) -> dt.datetime | None:
        return day_start(self.cleaned_data.get(name), next_day=next_day)

    def advanced_used(self) -> bool:
        names = ("team", "province", "region", "industry", "source", "type", "kind", "created_from", "created_to",
                 "quality", "months")  # fmt: skip
        extra = [name for name in self.fields if name.startswith("attr_")]
        return any(self.data.get(name) for name in (*names, *extra)) or bool(self.data.get("archived"))


class CustomerForm(forms.Form):
    """The customer's own fields; on creation also a first mobile, email and address."""

    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices, initial=CustomerKind.PERSON)
    display_name = forms.CharField(label=_("Name"), max_length=200)
    family_name = forms.CharField(label=_("Family name"), max_length=100, required=False)
    given_name = forms.CharField(label=_("Given name"), max_length=100, required=False)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    gender = forms.ChoiceField(label=_("Gender"), choices=_blank(Gender.choices, DASH), required=False)
    lifecycle_stage = forms.ChoiceField(label=_("Stage"), choices=LifecycleStage.choices, initial=LifecycleStage.LEAD)
    industry = forms.ChoiceField(label=_("Industry"), choices=_blank(Industry.choices, DASH), required=False)
    customer_type = forms.ChoiceField(
        label=_("Customer type"), choices=_blank(CustomerType.choices, DASH), required=False
    )
    region = forms.CharField(label=_("Region"), max_length=50, required=False)
    source_channel = forms.ChoiceField(
        label=_("Source channel"), choices=_blank(SourceChannel.choices, DASH), required=False
    )
    source_campaign = forms.CharField(label=_("Campaign"), max_length=100, required=False)

    SCALARS = (
        "kind", "display_name", "family_name", "given_name", "company_name", "job_title", "gender",
        "lifecycle_stage", "industry", "customer_type", "region", "source_channel", "source_campaign",
    )  # fmt: skip

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if creating:
            self.fields["mobile"] = forms.CharField(label=_("Mobile"), max_length=40, required=False)
            self.fields["email"] = forms.CharField(label=_("Email"), max_length=254, required=False)
            self.fields["address"] = forms.CharField(
                label=_("Address"),
                max_length=300,
                required=False,
                help_text=_("One line, as people write it: 上海市浦东新区世纪大道100号"),
            )
            self.fields["tags"] = forms.CharField(
                label=_("Tags"), max_length=300, required=False, help_text=_("Separated by commas")
            )
        self.custom_fields = list(CustomFieldDefinition.objects.filter(active=True).order_by("label"))
        for definition in self.custom_fields:
            self.fields[f"attr_{definition.key}"] = _custom_field(definition)

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name, "") for name in self.SCALARS}

    def attributes(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for definition in self.custom_fields:
            value = self.cleaned_data.get(f"attr_{definition.key}")
            if definition.field_type == FieldType.BOOLEAN:
                values[definition.key] = bool(value)
            elif value not in (None, ""):
                values[definition.key] = value.isoformat() if isinstance(value, dt.date) else value
        return values


def _custom_field(definition: CustomFieldDefinition) -> forms.Field:
    label, required = definition.label, definition.required
    kind = definition.field_type
    if kind == FieldType.BOOLEAN:
        return forms.BooleanField(label=label, required=False)
    if kind == FieldType.CHOICE:
        choices = _blank(((str(c), str(c)) for c in definition.choices), DASH)
        return forms.ChoiceField(label=label, required=required, choices=choices)
    if kind == FieldType.DATE:
        return forms.DateField(label=label, required=required, widget=forms.DateInput(attrs={"type": "date"}))
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        return forms.CharField(label=label, required=required, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    return forms.CharField(label=label, required=required, max_length=definition.max_length or 1000)


class ContactPointForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ContactKind.choices)
    value = forms.CharField(label=_("Number or address"), max_length=200)
    label = forms.CharField(label=_("Label"), max_length=50, required=False, help_text=_("For example: work, home"))
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class ContactPointEditForm(forms.Form):
    value = forms.CharField(
        label=_("New value"), max_length=200, required=False, help_text=_("Leave empty to keep the current value.")
    )
    label = forms.CharField(label=_("Label"), max_length=50, required=False)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class AddressForm(forms.Form):
    raw = forms.CharField(
        label=_("Address"), max_length=300, help_text=_("One line, as people write it: 上海市浦东新区世纪大道100号")
    )
    label = forms.CharField(label=_("Label"), max_length=50, required=False)
    is_primary = forms.BooleanField(label=_("Primary"), required=False)


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type"), choices=InteractionKind.choices, initial=InteractionKind.CALL)
    direction = forms.ChoiceField(label=_("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.CharField(label=_("Outcome"), max_length=200, required=False)


class BulkForm(forms.Form):
    ACTIONS = (("tag", _("Add tag")), ("assign", _("Assign owner")), ("archive", _("Archive")))
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    ids = forms.MultipleChoiceField(required=True)  # choices are not known in advance: checked in the view
    tag = forms.CharField(label=_("Tag"), max_length=50, required=False)
    owner = forms.CharField(label=_("Owner"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = self.fields["ids"]
        assert isinstance(ids, forms.MultipleChoiceField)
        ids.choices = [(value, value) for value in self.data.getlist("ids")] if hasattr(self.data, "getlist") else []


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of this view"), max_length=60)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


def owners_and_teams(user: User) -> tuple[list[User], list[Team]]:
    """The owners and teams the user may filter the list by: their own scope's."""
    scope = role_scope(user.role)
    active = User.objects.filter(is_active=True).select_related("team").order_by("username")
    if scope == Scope.OWN:
        return [user], [user.team] if user.team else []
    if scope == Scope.TEAM:
        return list(active.filter(team=user.team)) if user.team else [user], [user.team] if user.team else []
    return list(active), list(Team.objects.order_by("name"))


def list_filters(user: User, data: QueryDict) -> tuple[CustomerFilterForm, CustomerFilters | None]:
    """The list's filter form bound to a query string, and the filters it selects (None when it is invalid).

    The list page and the export of what it shows read the same query string the same way."""
    owners, teams = owners_and_teams(user)
    form = CustomerFilterForm(data or None, owners=owners, teams=teams)
    if form.is_bound and not form.is_valid():
        return form, None
    cleaned = form.cleaned_data if form.is_bound else {}
    filters = CustomerFilters(
        query=cleaned.get("q", ""),
        kind=cleaned.get("kind", ""),
        lifecycle_stage=cleaned.get("stage", ""),
        owner=uuid.UUID(cleaned["owner"]) if cleaned.get("owner") else None,
        team=int(cleaned["team"]) if cleaned.get("team") else None,
        tag=cleaned.get("tag", "").strip(),
        source_channel=cleaned.get("source", ""),
        industry=cleaned.get("industry", ""),
        region=cleaned.get("region", "").strip(),
        customer_type=cleaned.get("type", ""),
        province=cleaned.get("province", ""),
        created_after=form.day_start("created_from") if form.is_bound else None,
        created_before=form.day_start("created_to", next_day=True) if form.is_bound else None,
        archived=bool(cleaned.get("archived")),
        attributes=form.attributes() if form.is_bound else {},
        quality=cleaned.get("quality", ""),
        quality_months=cleaned.get("months") or 12,
        segment=cleaned.get("segment", ""),
        churn_risk_min=cleaned.get("churn"),
        cluster=cleaned.get("cluster"),
        risk_min=cleaned.get("risk"),
    )
    return form, filters
