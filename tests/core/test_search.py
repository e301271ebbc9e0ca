"""Search tokens and query parsing for Chinese-aware search."""

from __future__ import annotations

import re

from django.test import override_settings

from kehu.core.chinese import pinyin_initials, pinyin_readings, to_simplified
from kehu.core.search import (
    QueryTerm,
    blind_token,
    build_document,
    fts5_expression,
    parse_query,
    tsquery_expression,
)


def test_simplified_and_pinyin() -> None:
    assert to_simplified("張偉") == "张伟"
    assert pinyin_readings("张三") == ("zhangsan",)
    assert "shantianfang" in pinyin_readings("单田芳")
    assert "stf" in pinyin_initials("单田芳")
    assert pinyin_initials("欧阳娜娜")[0] == "oynn"


PLAIN_CONTACTS = override_settings(KEHU_ENCRYPTED_FIELDS=frozenset({"id_number", "bank_account"}))


@PLAIN_CONTACTS
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


@PLAIN_CONTACTS
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


def test_encrypted_contacts_leave_only_blind_tokens_in_the_document() -> None:
    # Given contact values encrypted (the default), when a document is built
    document = build_document(
        names=["张三丰"], phones=["+8613812345678"], emails=["zhang.san@qq.com"], handles=["wxhandle01"]
    ).split()
    # then no digit run of the phone and no part of the email or handle is readable in it
    assert not [token for token in document if any(char.isdigit() for char in token) and not token.startswith("h")]
    assert not {"zhang", "san", "zhangsan", "qq", "com", "wxhandle01"} & set(document)
    # while the name still has its pinyin and the blind tokens are there for the exact forms people type
    assert {"张三丰", "zhangsanfeng", "zsf"} <= set(document)
    for typed in ("5678", "138", "13812345678", "12345678"):
        assert blind_token("d", typed) in document, typed
    for typed in ("zhang.san@qq.com", "zhang.san", "qq.com", "wxhandle01"):
        assert blind_token("e", typed) in document, typed


def test_encrypted_contacts_query_with_blind_alternatives() -> None:
    assert parse_query("尾号 5678") == [
        QueryTerm(("5678", "r8765", blind_token("d", "5678"), blind_token("e", "5678")))
    ]
    assert parse_query("Zhang.San@QQ.com") == [QueryTerm((blind_token("e", "zhang.san@qq.com"),))]
    assert parse_query("zsf_wx01") == [QueryTerm((blind_token("e", "zsf_wx01"),))]
    assert parse_query("zs") == [QueryTerm(("zs", blind_token("e", "zs")))]
    # blind tokens hold only what every index accepts
    assert re.fullmatch(r"h[0-9a-f]{20}", blind_token("d", "5678"))


def test_blind_indexes_of_many_values_are_each_values_blind_index() -> None:
    """The batched form (the domain hashed in once, a phone's 21 tokens) gives what one value at a time gives,
    which is HMAC-SHA256(key, domain ‖ 0 ‖ value) cut to 128 bits."""
    import hashlib
    import hmac

    from kehu.core.crypto import Keyring, blind_index, blind_indexes

    ring = Keyring(keys=(("k1", bytes(32)),), index_key=b"\x07" * 32)
    values = ["13812345678", "138", "5678", "王小明", ""]
    batched = blind_indexes(ring, "search:d", values)
    assert batched == [blind_index(ring, "search:d", value) for value in values]
    expected = hmac.new(b"\x07" * 32, "search:d\x00王小明".encode(), hashlib.sha256).hexdigest()[:32]
    assert batched[3] == expected
    assert blind_indexes(ring, "search:e", values[:1]) != batched[:1]  # the domain is part of the hash
