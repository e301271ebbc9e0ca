"""Free-text Chinese addresses split into province, city, district and street."""

from __future__ import annotations

import pytest

from kehu.core.address import ParsedAddress, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "广东省深圳市南山区科技园路1号",
            ParsedAddress("CN", "广东省", "深圳市", "南山区", "科技园路1号", ""),
        ),
        (
            "北京市朝阳区建国路88号 100022",
            ParsedAddress("CN", "北京市", "北京市", "朝阳区", "建国路88号", "100022"),
        ),
        (
            "上海浦东新区世纪大道100号",
            ParsedAddress("CN", "上海市", "上海市", "浦东新区", "世纪大道100号", ""),
        ),
        ("浙江杭州西湖区文三路１号", ParsedAddress("CN", "浙江省", "杭州市", "西湖区", "文三路1号", "")),
        (
            "廣東省廣州市天河區體育西路1號",
            ParsedAddress("CN", "广东省", "广州市", "天河区", "体育西路1号", ""),
        ),
    ],
)
def test_parse(text: str, expected: ParsedAddress) -> None:
    assert parse_address(text) == expected
