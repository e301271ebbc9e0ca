"""Chinese address parsing: one free-text address into province, city, district and street (cpca)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kehu.core.chinese import half_width, to_simplified

_POSTAL = re.compile(r"(?<!\d)(\d{6})(?!\d)")
# Municipalities are their own province and city; cpca reports the city as 市辖区.
_MUNICIPALITIES = {"北京市", "上海市", "天津市", "重庆市"}


@dataclass(frozen=True)
class ParsedAddress:
    country: str
    province: str
    city: str
    district: str
    street: str
    postal_code: str


@lru_cache(maxsize=1)
def _cpca() -> Any:
    import cpca

    return cpca


def parse_address(text: str) -> ParsedAddress:
    """Split "广东省深圳市南山区科技园路1号" into 广东省 / 深圳市 / 南山区 / 科技园路1号."""
    clean = to_simplified(half_width(text)).strip()
    postal_code = ""
    match = _POSTAL.search(clean)
    if match:
        postal_code = match.group(1)
        clean = (clean[: match.start()] + clean[match.end() :]).strip(" ,，")
    frame = _cpca().transform([clean])
    row = frame.iloc[0]
    province = str(row["省"] or "")
    city = str(row["市"] or "")
    district = str(row["区"] or "")
    street = str(row["地址"] or "")
    if province in _MUNICIPALITIES and city in {"", "市辖区", "县"}:
        city = province
    return ParsedAddress(
        country="CN" if province else "",
        province=province,
        city=city,
        district=district,
        street=street.strip(),
        postal_code=postal_code,
    )
