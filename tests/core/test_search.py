"""Search tokens and query parsing for Chinese-aware search."""

from __future__ import annotations

from kehu.core.chinese import pinyin_initials, pinyin_readings, to_simplified
from kehu.core.search import QueryTerm, build_document, fts5_expression, parse_query, tsquery_expression


def test_simplified_and_pinyin() -> None:
    assert to_simplified("張偉") == "张伟"
    assert pinyin_readings("张三") == ("zhangsan",)
    assert "shantianfang" in pinyin_readings("单田芳")
    assert "stf" in pinyin_initials("单田芳")
    assert pinyin_initials("欧阳娜娜")[0] == "oynn"


def test_document_holds_every_way_of_finding_a_person() -> None:
    document = build_document(
        names=["张三丰"], texts=["华信科技有限公司"], phones=["+8613812345678"], emails=["zhang.san@qq.com"]
    ).split()
    for token in [
        "张三丰",
        "三丰",
        "丰",
        "zhangsanfeng",
        "zsf",
        "13812345678",
        "8613812345678",
        "r87654321831",
        "zhang",
        "san",
        "zhangsan",
        "qq",
        "华信科技有限公司",
        "科技有限公司",
    ]:
        assert token in document, token


def test_query_terms() -> None:
    assert parse_query("張三") == [QueryTerm(("张三",))]
    assert parse_query("Zhang San") == [QueryTerm(("zhangsan",))]
    assert parse_query("尾号 5678") == [QueryTerm(("5678", "r8765"))]
    assert parse_query("+86 138-1234-5678") == [QueryTerm(("13812345678", "r87654321831"))]
    assert parse_query("zhang.san@qq") == [QueryTerm(("zhang",)), QueryTerm(("san",)), QueryTerm(("qq",))]
    assert parse_query("  ") == []
    assert parse_query("'; DROP TABLE x; --") == [
        QueryTerm(("drop",)),
        QueryTerm(("table",)),
        QueryTerm(("x",)),
    ]


def test_expressions_quote_every_term() -> None:
    terms = [QueryTerm(("张三",)), QueryTerm(("5678", "r8765"))]
    assert fts5_expression(terms) == '"张三"* AND ("5678"* OR "r8765"*)'
    assert tsquery_expression(terms) == "'张三':* & ('5678':* | 'r8765':*)"
