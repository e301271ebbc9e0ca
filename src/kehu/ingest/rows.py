"""A file's row, through the column mapping, into an ImportRow — and each problem back to the column it came from.

Values are normalised on the way in: dates in the forms people type (2024/1/5, 2024年1月5日, 5 Jan 2024, Excel
serial numbers), genders and coded fields by their Chinese or English label as well as their code, several
phones or emails in one cell, a landline in the "手机" column kept as a phone. Phones, emails, names and
addresses are normalised by the customer services themselves, which keep the raw value beside the normal one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from kehu.core.address import parse_addresses
from kehu.core.errors import FieldError
from kehu.core.normalize import NormalisationError, cn_mobile_e164, normalize_date, phone_digits
from kehu.customers.bulk import ImportRow
from kehu.customers.models import (
    ContactKind,
    CustomerKind,
    CustomerType,
    FieldType,
    Gender,
    Industry,
    LifecycleStage,
    SourceChannel,
)
from kehu.customers.services import AddressInput, ContactPointInput
from kehu.ingest.files import text_of
from kehu.ingest.mapping import fold

_CN_LANDLINE = re.compile(r"(?:(?:\+?86|0086)[1-9]|0[1-9])\d{8,10}")
SEPARATORS = re.compile(r"[;；,，、\n]+|\s+/\s+|/")
CONTACT_TARGETS = {
    "mobile": ContactKind.MOBILE,
    "phone": ContactKind.PHONE,
    "email": ContactKind.EMAIL,
    "wechat": ContactKind.WECHAT,
    "qq": ContactKind.QQ,
}
ADDRESS_PARTS = ("province", "city", "district", "postal_code")
CODED: dict[str, type[models.TextChoices]] = {
    "kind": CustomerKind,
    "industry": Industry,
    "customer_type": CustomerType,
    "lifecycle_stage": LifecycleStage,
    "source_channel": SourceChannel,
}
GENDER_WORDS = {
    "男": Gender.MALE,
    "男性": Gender.MALE,
    "先生": Gender.MALE,
    "m": Gender.MALE,
    "male": Gender.MALE,
    "女": Gender.FEMALE,
    "女性": Gender.FEMALE,
    "女士": Gender.FEMALE,
    "小姐": Gender.FEMALE,
    "f": Gender.FEMALE,
    "female": Gender.FEMALE,
    "其他": Gender.OTHER,
    "other": Gender.OTHER,
    "未知": Gender.UNKNOWN,
    "保密": Gender.UNKNOWN,
    "unknown": Gender.UNKNOWN,
}


# What spreadsheets write for coded values besides kehu's own labels.
CHOICE_SYNONYMS: dict[str, dict[str, str]] = {
    "source_channel": {
        "展会": SourceChannel.EVENT,
        "会展": SourceChannel.EVENT,
        "活动": SourceChannel.EVENT,
        "trade fair": SourceChannel.EVENT,
        "event": SourceChannel.EVENT,
        "网站": SourceChannel.WEBSITE,
        "官网": SourceChannel.WEBSITE,
        "web": SourceChannel.WEBSITE,
        "电商": SourceChannel.ECOMMERCE,
        "淘宝": SourceChannel.ECOMMERCE,
        "天猫": SourceChannel.ECOMMERCE,
        "京东": SourceChannel.ECOMMERCE,
        "拼多多": SourceChannel.ECOMMERCE,
        "抖音": SourceChannel.SOCIAL,
        "微信": SourceChannel.SOCIAL,
        "小红书": SourceChannel.SOCIAL,
        "微博": SourceChannel.SOCIAL,
        "门店": SourceChannel.STORE,
        "线下": SourceChannel.STORE,
        "电话": SourceChannel.PHONE,
        "转介绍": SourceChannel.REFERRAL,
        "推荐": SourceChannel.REFERRAL,
        "介绍": SourceChannel.REFERRAL,
        "其他": SourceChannel.OTHER,
    },
    "lifecycle_stage": {
        "线索": LifecycleStage.LEAD,
        "潜在客户": LifecycleStage.PROSPECT,
        "意向客户": LifecycleStage.PROSPECT,
        "成交客户": LifecycleStage.CUSTOMER,
        "已成交": LifecycleStage.CUSTOMER,
        "流失": LifecycleStage.CHURNED,
        "已流失": LifecycleStage.CHURNED,
    },
    "kind": {"个人": CustomerKind.PERSON, "企业": CustomerKind.ORGANIZATION, "公司": CustomerKind.ORGANIZATION},
}


def _choice_words(name: str, choices: type[models.TextChoices]) -> dict[str, str]:
    """Code, English label and Chinese label of each choice, and the usual synonyms, folded, → code."""
    words: dict[str, str] = {fold(word): code for word, code in CHOICE_SYNONYMS.get(name, {}).items()}
    for value, label in choices.choices:
        words[fold(value)] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                words[fold(str(label))] = value
    return words


@dataclass
class RowPlan:
    """A mapping made ready for many rows: column index → field, and field → column name for messages."""

    columns: list[tuple[int, str, str]]  # (index, header, field)
    field_columns: dict[str, str]
    choice_words: dict[str, dict[str, str]]
    date_attributes: set[str]
    source_system: str = ""
    defaults: Mapping[str, Any] | None = None

    def column_of(self, error_field: str, point_columns: Sequence[str] = ()) -> str:
        """The column a service error's field came from ("contact_points.1.value" → the 邮箱 column)."""
        if error_field in self.field_columns:
            return self.field_columns[error_field]
        head = error_field.split(".")[0]
        if head == "contact_points":
            position = error_field.split(".")[1] if error_field.count(".") else ""
            if position.isdigit() and int(position) < len(point_columns):
                return point_columns[int(position)]
            return ", ".join(dict.fromkeys(point_columns))
        if head == "addresses":
            return self.field_columns.get("address", "") or self.field_columns.get("province", "")
        if head == "attributes":
            return self.field_columns.get(f"attr:{error_field.split('.', 1)[1]}", "")
        if error_field == "display_name":
            return self.field_columns.get("family_name", "") or self.field_columns.get("company_name", "")
        return ""


def row_plan(
    headers: Sequence[str],
    mapping: Mapping[str, str],
    *,
    source_system: str = "",
    defaults: Mapping[str, Any] | None = None,
) -> RowPlan:
    from kehu.customers.custom_fields import active_definitions

    columns = [(index, header, mapping[header]) for index, header in enumerate(headers) if mapping.get(header)]
    dates = {key for key, definition in active_definitions().items() if definition.field_type == FieldType.DATE}
    return RowPlan(
        columns=columns,
        field_columns={target: header for _, header, target in columns},
        choice_words={name: _choice_words(name, choices) for name, choices in CODED.items()},
        date_attributes=dates,
        source_system=source_system,
        defaults=defaults,
    )


def read_row(plan: RowPlan, number: int, record: Sequence[Any]) -> tuple[ImportRow, list[FieldError], list[str]]:
    """The row as an ImportRow, the problems found before the services see it (each naming its column), and the
    column each contact point came from."""
    row = ImportRow(number=number, values=dict(plan.defaults or {}))
    if plan.source_system:
        row.values["source_system"] = plan.source_system
    problems: list[FieldError] = []
    point_columns: list[str] = []
    address: dict[str, str] = {}
    for index, header, target in plan.columns:
        cell = record[index] if index < len(record) else None
        text = text_of(cell)
        if not text:
            continue
        if target in CONTACT_TARGETS:
            for part in _split(text, target):
                kind = _contact_kind(CONTACT_TARGETS[target], part)
                point_columns.append(header)
                row.contact_points.append(ContactPointInput(kind=kind, value=part, source="import"))
        elif target == "address" or target in ADDRESS_PARTS:
            address[target] = text
        elif target == "tags":
            row.tags.extend(part.strip() for part in SEPARATORS.split(text) if part.strip())
        elif target == "birthday":
            try:
                row.values["birthday"] = normalize_date(cell if not isinstance(cell, str) else text)
            except NormalisationError as error:
                problems.append(FieldError(header, str(error)))
        elif target == "gender":
            gender = GENDER_WORDS.get(fold(text))
            if gender is None:
                problems.append(
                    FieldError(header, _("%(value)s is not a gender (男, 女, male, female)") % {"value": text})
                )
            else:
                row.values["gender"] = gender
        elif target in plan.choice_words:
            code = plan.choice_words[target].get(fold(text))
            if code is None:
                labels = "、".join(sorted({key for key in plan.choice_words[target] if key}))
                problems.append(
                    FieldError(header, _("%(value)s is not one of: %(choices)s") % {"value": text, "choices": labels})
                )
            else:
                row.values[target] = code
        elif target.startswith("attr:"):
            key = target[5:]
            if key in plan.date_attributes:
                try:
                    parsed = normalize_date(cell if not isinstance(cell, str) else text)
                except NormalisationError as error:
                    problems.append(FieldError(header, str(error)))
                    continue
                row.attributes[key] = parsed.isoformat() if parsed else None
            else:
                row.attributes[key] = cell if isinstance(cell, int | float) and not isinstance(cell, bool) else text
        else:
            row.values[target] = text
    if address:
        row.addresses.append(
            AddressInput(
                raw=address.get("address", ""),
                province=address.get("province", ""),
                city=address.get("city", ""),
                district=address.get("district", ""),
                postal_code=address.get("postal_code", ""),
            )
        )
    return row, problems, point_columns


def _split(text: str, target: str) -> list[str]:
    """Several values in one cell ("13812345678 / 010-62345678", "a@x.cn；b@y.cn"); a phone keeps its dashes."""
    if target in ("mobile", "phone"):
        parts = re.split(r"[;；,，、\n]+|\s+/\s+|/(?=\s*[+0-9０-９])", text)
    else:
        parts = SEPARATORS.split(text)
    return [part.strip() for part in parts if part.strip()]


def _contact_kind(kind: str, value: str) -> str:
    """A landline in the mobile column is kept as a phone, and a mobile in the phone column as a mobile."""
    if kind not in (ContactKind.MOBILE, ContactKind.PHONE):
        return kind
    digits = phone_digits(value)
    if digits.startswith("86") and len(digits) == 13:
        digits = "+" + digits  # 86 typed without its plus
    if cn_mobile_e164(digits) is not None:
        return ContactKind.MOBILE
    if _CN_LANDLINE.fullmatch(digits):
        return ContactKind.PHONE
    return kind  # anything else: the services normalise it, or say why not, against this column


def addresses_parse(plan: RowPlan, rows: Sequence[tuple[ImportRow, list[FieldError]]]) -> None:
    """Parse the addresses of a batch of rows in one go, and refuse a province that is not one of China's.

    Replaces each row's AddressInput by one carrying the parsed parts; a problem is added to the row's list.
    """
    wanted: list[tuple[ImportRow, list[FieldError], AddressInput]] = [
        (row, problems, address) for row, problems in rows for address in row.addresses
    ]
    texts = [address.raw for _, _, address in wanted]
    provinces = [address.province for _, _, address in wanted]
    parsed = parse_addresses([*texts, *provinces])
    for position, (row, problems, address) in enumerate(wanted):
        province = address.province
        if province:
            known = parsed[len(wanted) + position].province
            if not known:
                problems.append(
                    FieldError(
                        plan.field_columns.get("province", "province"),
                        _("%(value)s is not a province of China") % {"value": province},
                    )
                )
                continue
            province = known
        row.addresses = [
            AddressInput(
                raw=address.raw,
                province=province,
                city=address.city,
                district=address.district,
                postal_code=address.postal_code,
                parsed=parsed[position] if address.raw else None,
            )
        ]
