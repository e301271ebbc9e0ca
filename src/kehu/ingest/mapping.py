"""Which column of a file fills which field: the fields an import knows, and the headers people give them.

A header is matched after folding case, full-width characters, spaces and decorations ("手机号码（必填）" →
"手机号码"), first exactly against the names below, then by the longest name it contains ("客户手机" → mobile).
Each field takes one column; custom fields are matched by their key or label and mapped as `attr:<key>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core.chinese import half_width


@dataclass(frozen=True)
class Target:
    key: str
    label: object  # lazy translation
    names: tuple[str, ...]


# The customer fields an import fills, with the headers Chinese and English spreadsheets give them.
CUSTOMER_TARGETS: tuple[Target, ...] = (
    Target(
        "display_name",
        gettext_lazy("Name"),
        (
            "姓名",
            "名称",
            "客户名称",
            "客户姓名",
            "客户",
            "联系人",
            "联系人姓名",
            "name",
            "fullname",
            "customer",
            "customername",
            "contactname",
            "contact",
        ),
    ),
    Target("family_name", gettext_lazy("Family name"), ("姓", "姓氏", "familyname", "lastname", "surname")),
    Target("given_name", gettext_lazy("Given name"), ("名", "名字", "givenname", "firstname")),
    Target(
        "company_name",
        gettext_lazy("Company"),
        (
            "公司",
            "公司名称",
            "单位",
            "单位名称",
            "企业",
            "企业名称",
            "工作单位",
            "company",
            "companyname",
            "organization",
            "organisation",
            "employer",
        ),
    ),
    Target("job_title", gettext_lazy("Job title"), ("职位", "职务", "岗位", "头衔", "title", "jobtitle", "position")),
    Target("gender", gettext_lazy("Gender"), ("性别", "gender", "sex")),
    Target(
        "birthday",
        gettext_lazy("Birthday"),
        ("生日", "出生日期", "出生年月日", "birthday", "dateofbirth", "dob", "birthdate"),
    ),
    Target(
        "mobile",
        gettext_lazy("Mobile"),
        ("手机", "手机号", "手机号码", "移动电话", "mobile", "mobilephone", "cell", "cellphone", "mobileno"),
    ),
    Target(
        "phone",
        gettext_lazy("Phone"),
        (
            "电话",
            "座机",
            "固话",
            "固定电话",
            "联系电话",
            "办公电话",
            "phone",
            "tel",
            "telephone",
            "phonenumber",
            "officephone",
        ),
    ),
    Target(
        "email",
        gettext_lazy("Email"),
        ("邮箱", "电子邮箱", "电子邮件", "邮件", "邮件地址", "email", "e-mail", "emailaddress", "mail"),
    ),
    Target("wechat", gettext_lazy("WeChat"), ("微信", "微信号", "wechat", "wechatid", "weixin")),
    Target("qq", gettext_lazy("QQ"), ("qq", "qq号", "qq号码")),
    Target(
        "address",
        gettext_lazy("Address"),
        (
            "地址",
            "详细地址",
            "通讯地址",
            "联系地址",
            "收货地址",
            "家庭地址",
            "公司地址",
            "address",
            "streetaddress",
            "fulladdress",
        ),
    ),
    Target("province", gettext_lazy("Province"), ("省", "省份", "所在省", "province", "state")),
    Target("city", gettext_lazy("City"), ("市", "城市", "所在城市", "city")),
    Target("district", gettext_lazy("District"), ("区", "区县", "县区", "district", "county")),
    Target(
        "postal_code", gettext_lazy("Postal code"), ("邮编", "邮政编码", "postcode", "postalcode", "zip", "zipcode")
    ),
    Target("industry", gettext_lazy("Industry"), ("行业", "所属行业", "industry")),
    Target("region", gettext_lazy("Region"), ("区域", "地区", "大区", "销售区域", "region", "area", "territory")),
    Target(
        "customer_type",
        gettext_lazy("Customer type"),
        ("客户类型", "客户类别", "类型", "customertype", "type", "segment"),
    ),
    Target(
        "lifecycle_stage",
        gettext_lazy("Lifecycle stage"),
        ("阶段", "客户阶段", "生命周期", "客户状态", "状态", "stage", "lifecyclestage", "status"),
    ),
    Target(
        "source_channel",
        gettext_lazy("Source channel"),
        ("来源", "渠道", "来源渠道", "客户来源", "获客渠道", "source", "channel", "sourcechannel", "leadsource"),
    ),
    Target("source_campaign", gettext_lazy("Campaign"), ("活动", "市场活动", "营销活动", "campaign", "sourcecampaign")),
    Target(
        "external_id",
        gettext_lazy("External id"),
        (
            "编号",
            "客户编号",
            "客户id",
            "外部编号",
            "会员号",
            "会员编号",
            "id",
            "externalid",
            "customerid",
            "customerno",
            "memberid",
        ),
    ),
    Target(
        "id_number",
        gettext_lazy("ID number"),
        ("身份证", "身份证号", "身份证号码", "证件号码", "idnumber", "idcard", "nationalid"),
    ),
    Target("tags", gettext_lazy("Tags"), ("标签", "客户标签", "tags", "tag", "labels")),
)

IGNORE = ""
_DECORATION = re.compile(r"[\s_\-·:：*＊.]|[（(][^）)]*[）)]|必填|选填")


def fold(header: str) -> str:
    """A header reduced to what identifies it: lower case, half-width, no spaces or "(必填)" notes."""
    return _DECORATION.sub("", half_width(header).lower())


def targets_for(import_type: str) -> dict[str, Target]:
    """The fields of an import type, custom fields included (`attr:<key>`)."""
    from kehu.customers.models import CustomFieldDefinition
    from kehu.ingest.records import TARGETS

    if import_type in TARGETS:
        return {target.key: target for target in TARGETS[import_type]}
    targets = {target.key: target for target in CUSTOMER_TARGETS}
    for definition in CustomFieldDefinition.objects.filter(active=True).order_by("key"):
        key = f"attr:{definition.key}"
        targets[key] = Target(key, definition.label, (fold(definition.key), fold(definition.label)))
    return targets


def auto_map(headers: Sequence[str], import_type: str = "customers") -> dict[str, str]:
    """Header → field for every header kehu recognises; the others map to IGNORE."""
    targets = targets_for(import_type)
    names: dict[str, str] = {}
    for target in targets.values():
        for name in target.names:
            names.setdefault(fold(name), target.key)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    folded = [fold(header) for header in headers]
    for header, key in zip(headers, folded, strict=True):  # exact names first, in column order
        exact = names.get(key)
        if exact and exact not in taken:
            mapping[header] = exact
            taken.add(exact)
    # Then by a name inside the header, preferring one that ends it: a Chinese header puts the noun last
    # ("联系人手机" is a mobile), an English one too ("customer email").
    contained = [name for name in names if len(name) >= 2]
    for header, key in zip(headers, folded, strict=True):
        if header in mapping:
            continue
        found = [name for name in contained if name in key and names[name] not in taken]
        found.sort(key=lambda name: (key.endswith(name), len(name)), reverse=True)
        best = names[found[0]] if found else None
        if best:
            mapping[header] = best
            taken.add(best)
        else:
            mapping[header] = IGNORE
    return mapping


def mapping_check(mapping: Mapping[str, str], headers: Sequence[str], import_type: str = "customers") -> list[str]:
    """What is wrong with a mapping, in words: unknown columns or fields, a field given twice, no name."""
    targets = targets_for(import_type)
    problems: list[str] = []
    seen: dict[str, str] = {}
    for header, target in mapping.items():
        if header not in headers:
            problems.append(_("the file has no column %(column)s") % {"column": header})
        if not target:
            continue
        if target not in targets:
            problems.append(_("%(field)s is not a field kehu can import") % {"field": target})
        elif target in seen:
            problems.append(
                _("columns %(first)s and %(second)s both fill %(field)s")
                % {"first": seen[target], "second": header, "field": targets[target].label}
            )
        seen.setdefault(target, header)
    from kehu.ingest.records import REQUIRED

    if import_type in REQUIRED:
        for group in REQUIRED[import_type]:
            if not set(group) & set(seen):
                names = _(" or ").join(str(targets[key].label) for key in group)
                problems.append(_("map a column to %(fields)s") % {"fields": names})
    elif not {"display_name", "family_name", "given_name", "company_name"} & set(seen):
        problems.append(_("map a column to the name (or family and given name, or company)"))
    return problems
