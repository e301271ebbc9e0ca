"""The forms linkage compares: a Chinese name reads the same however written; a company without its legal form."""

from __future__ import annotations

import pytest

from kehu.dedup.linkage import company_core, linkage_record, name_forms, pinyin_syllables


@pytest.mark.parametrize("written", ["张伟", "張偉", "张玮", "张 伟", "Zhang Wei", "ZHANG WEI", "zhangwei"])
def test_one_name_written_seven_ways_reads_the_same(written: str) -> None:
    forms = name_forms(written)
    assert forms is not None
    assert forms.pinyin == "zhangwei"
    assert forms.sorted == "weizhang"
    assert forms.initials == "zw"


def test_traditional_characters_compare_as_simplified_and_a_homophone_does_not() -> None:
    assert name_forms("張偉").chars == name_forms("张伟").chars == "张伟"  # type: ignore[union-attr]
    assert name_forms("张玮").chars != "张伟"  # type: ignore[union-attr]


def test_family_and_given_names_are_split_and_swaps_show() -> None:
    chinese, swapped = name_forms("欧阳娜娜"), name_forms("Nana Ouyang")
    assert (chinese.family, chinese.given) == ("ouyang", "nana")  # type: ignore[union-attr]
    assert (swapped.family, swapped.given) == ("nana", "ouyang")  # type: ignore[union-attr]
    assert chinese.sorted == swapped.sorted  # type: ignore[union-attr]
    assert name_forms("", family="Green", given="Mitchell").family == "green"  # type: ignore[union-attr]


def test_latin_letters_split_into_pinyin_syllables() -> None:
    assert pinyin_syllables("xiaoming") == ("xiao", "ming")
    assert pinyin_syllables("zhangxiaoming") == ("zhang", "xiao", "ming")
    assert pinyin_syllables("mitchell") == ("mitchell",)  # not pinyin: kept whole


@pytest.mark.parametrize(
    "name",
    ["深圳市腾讯计算机系统有限公司", "腾讯计算机系统有限公司", "腾讯计算机系统股份有限公司", "騰訊計算機系統有限公司"],
)
def test_company_legal_forms_and_regions_are_stripped(name: str) -> None:
    assert company_core(name) == "腾讯计算机系统"


def test_latin_company_suffixes_are_stripped() -> None:
    assert company_core("Acme Trading Co., Ltd.") == company_core("ACME Co Ltd") == "acme"


def test_a_record_holds_normalised_values_and_nothing_for_what_is_missing() -> None:
    record = linkage_record(
        7,
        name="张三",
        phones=["+8613812345678", "+8613812345678"],
        emails=["Zhang.San@Example.com"],
        street="科技园路 1 号",
    )
    assert record.phones == ["8613812345678"]
    assert (record.email, record.email_user) == ("zhang.san@example.com", "zhang.san")
    assert record.street == "科技园路1号"
    assert record.company is None
    assert record.birthday is None
    assert linkage_record(8).name_pinyin is None


def test_a_base_where_no_two_share_a_phone_still_learns_and_keeps_every_comparison(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kehu.dedup import linkage

    monkeypatch.setattr(linkage, "EM_MIN_RECORDS", 10)  # learn from this small base, as a large one would
    names = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴娟"]
    records = [
        linkage_record(n, name=names[n % 10], city=["深圳市", "杭州市"][n % 2], phones=[f"+86139{n:08d}"])
        for n in range(40)
    ]
    result = linkage.link(linkage.records_table(records))
    assert [c["output_column_name"] for c in result.model["comparisons"]] == [
        "name", "phone", "email", "company", "address", "birthday", "id_number",
    ]  # fmt: skip


def test_the_shipped_model_has_the_comparisons_and_levels_of_the_settings() -> None:
    """Small bases score with default_model.json: it must describe the comparisons linkage_settings makes, level
    by level, or its m probabilities would be read against the wrong levels (regenerate it with
    `bench/bench_dedup.py --save-model` after changing the settings)."""
    from kehu.dedup.linkage import default_model, linkage_settings

    def levels(comparisons: list[dict[str, object]]) -> list[tuple[object, list[object]]]:
        return [
            (c["output_column_name"], [level.get("label_for_charts") for level in c["comparison_levels"]])  # type: ignore[union-attr]
            for c in comparisons
        ]

    settings = linkage_settings().get_settings("duckdb").as_dict()
    shipped = default_model()
    assert levels(shipped["comparisons"]) == levels(settings["comparisons"])
    trained = {
        level["label_for_charts"]: (level.get("m_probability"), level.get("u_probability"))
        for c in shipped["comparisons"]
        for level in c["comparison_levels"]
        if not level.get("is_null_level")
    }
    for label in ("same name", "name sounds the same", "same phone", "same email", "same ID number", "same birthday"):
        m, u = trained[label]
        assert 0 < m <= 1, label
        assert 0 < u < 0.01, label  # a key shared by chance is rare
        assert m / u > 100, label  # and strong evidence of one person
