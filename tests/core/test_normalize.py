"""Phones, emails, names and handles to one canonical form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from kehu.core.normalize import (
    NormalisationError,
    normalize_amount,
    normalize_date,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_qq,
    normalize_wechat,
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The reasons are translated into the user's language; these tests read them in English."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138-1234-5678",
        "138 1234 5678",
        "+86 138 1234 5678",
        "0086 13812345678",
        "+86-13812345678",
        "１３８１２３４５６７８",
        "(138) 1234-5678",
    ],
)
def test_mobile_forms_become_one_e164(raw: str, settings: object) -> None:
    assert normalize_phone(raw) == "+8613812345678"


def test_landline_with_area_code() -> None:
    assert normalize_phone("0755-8601 3388") == "+8675586013388"
    assert normalize_phone("+1 650 253 0000") == "+16502530000"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1381234567", "1381234567 has 10 digits; a mainland mobile has 11"),
        ("138123456789", "138123456789 has 12 digits; a mainland mobile has 11"),
        ("138abc45678", "138abc45678 contains characters that are not digits"),
        ("", "the phone number is empty"),
        ("12345", "12345 has 5 digits; a mainland mobile has 11"),
    ],
)
def test_bad_phones_say_why(raw: str, message: str) -> None:
    with pytest.raises(NormalisationError) as raised:
        normalize_phone(raw)
    assert str(raised.value) == message


def test_email_lowercased_with_idna_domain() -> None:
    assert normalize_email("  Zhang.San@Example.COM ") == "zhang.san@example.com"
    assert normalize_email("li@例子.中国") == "li@xn--fsqu00a.xn--fiqs8s"
    with pytest.raises(NormalisationError, match="is not a valid email address"):
        normalize_email("no-at-sign")


def test_names_trimmed_half_width_and_han_spaces_removed() -> None:
    assert normalize_name("  张 伟 ") == "张伟"
    assert normalize_name("Ｊｏｈｎ　　Smith") == "John Smith"
    assert normalize_name("欧阳 Nana") == "欧阳 Nana"


def test_handles() -> None:
    assert normalize_wechat(" WXID_Abc123 ") == "wxid_abc123"
    assert normalize_qq("１２３４５６７") == "1234567"
    with pytest.raises(NormalisationError):
        normalize_wechat("1abc")
    with pytest.raises(NormalisationError):
        normalize_qq("0123")


@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["", " ", "-"]),
    st.sampled_from(["", "+86", "0086"]),
)
def test_any_separator_and_prefix_gives_the_same_number(digits: str, separator: str, prefix: str) -> None:
    typed = prefix + separator.join([digits[:3], digits[3:7], digits[7:]])
    try:
        canonical = normalize_phone(digits)
    except NormalisationError:
        return  # unassigned number range: rejected however it is typed
    assert normalize_phone(typed) == canonical == "+86" + digits


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024-01-05", dt.date(2024, 1, 5)),
        ("2024/1/5", dt.date(2024, 1, 5)),
        ("2024.1.5", dt.date(2024, 1, 5)),
        ("2024年1月5日", dt.date(2024, 1, 5)),
        ("２０２４年１月５日", dt.date(2024, 1, 5)),
        ("20240105", dt.date(2024, 1, 5)),
        ("5 Jan 2024", dt.date(2024, 1, 5)),
        ("January 5, 2024", dt.date(2024, 1, 5)),
        ("05/01/2024", dt.date(2024, 1, 5)),
        ("2024-01-05 13:45:00", dt.date(2024, 1, 5)),
        (45296, dt.date(2024, 1, 5)),
        ("45296", dt.date(2024, 1, 5)),
        (dt.datetime(2024, 1, 5, 9, 0), dt.date(2024, 1, 5)),
        ("", None),
        (None, None),
    ],
)
def test_dates_as_people_type_them(typed: object, expected: dt.date | None) -> None:
    assert normalize_date(typed) == expected


@pytest.mark.parametrize(
    ("typed", "reason"), [("2023-02-30", "not a real date"), ("someday", "recognises"), (123, "out of range")]
)
def test_dates_that_are_not(typed: object, reason: str) -> None:
    with pytest.raises(NormalisationError, match=reason):
        normalize_date(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("¥1,234.50", Decimal("1234.50")),
        ("￥1,234.50", Decimal("1234.50")),
        ("1234元", Decimal("1234")),
        ("RMB 88", Decimal("88")),
        ("CNY 88.8", Decimal("88.8")),
        ("$12", Decimal("12")),
        ("(12.00)", Decimal("-12.00")),
        ("-5", Decimal("-5")),
        ("1.2万", Decimal("12000.0")),
        (599, Decimal("599")),
        ("", None),
    ],
)
def test_amounts_as_people_type_them(typed: object, expected: Decimal | None) -> None:
    assert normalize_amount(typed) == expected


@pytest.mark.parametrize("typed", ["1 234,5", "12,34", "abc", "1.2.3"])
def test_amounts_that_are_ambiguous_or_not_amounts(typed: str) -> None:
    with pytest.raises(NormalisationError, match="not an amount"):
        normalize_amount(typed)
