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


def test_a_value_many_customers_share_blocks_nothing_and_its_holders_are_still_compared_otherwise() -> None:
    """ "info" before the @ of every company mailbox would make block² pairs: above block_max it blocks nothing,
    while two of its holders with one phone are still scored as one."""
    from kehu.dedup import linkage
    from kehu.dedup.engines import DuckDBEngine

    names = ["华为", "腾讯", "阿里", "百度", "京东", "美团", "小米", "网易"]
    records = [
        linkage.linkage_record(
            n, name=f"{names[n % 8]}{n}", emails=[f"info@c{n}.com"], phones=[f"+86139{n:08d}", "+862088888888"]
        )
        for n in range(12)
    ]
    records.append(linkage.linkage_record(12, name="华为0", emails=["info@c12.com"], phones=["+8613900000000"]))
    table = linkage.records_table(records)
    keyed, left_out = DuckDBEngine().keyed(table, linkage.BLOCKING_RULES, block_max=5)
    assert left_out["block_email_user"] == 1  # "info", held by 13
    assert left_out["block_phones"] == 1  # the switchboard, on 12
    rows = {row["unique_id"]: row for row in keyed.to_pylist()}
    assert {row["block_email_user"] for row in rows.values()} == {None}
    assert rows[0]["block_phones"] == ["8613900000000"]  # the switchboard gone, the own mobile kept
    result = linkage.link(table, block_max=5)
    assert result.common_values == {"phones": 1, "email_user": 1}
    pairs = {(p["unique_id_l"], p["unique_id_r"]) for p in result.pairs.to_pylist() if p["match_probability"] > 0.9}
    assert pairs == {(0, 12)}  # same mobile, same name: found without the shared values
    assert result.comparisons_scored == 1  # nothing else shares a value held by few


def test_decisions_move_m_towards_what_people_confirmed_and_the_prior_towards_what_they_found() -> None:
    from kehu.dedup.linkage import Decisions

    levels = {"same phone": 0.8, "different phone": 0.2}
    few = Decisions(confirmed=[{"phone": "different phone"}] * 5)
    assert few.m_probabilities("phone", levels) == levels  # too few decisions: the data's estimate stands
    many = Decisions(confirmed=[{"phone": "different phone"}] * 20 + [{"name": "same name"}] * 30)
    learnt = many.m_probabilities("phone", levels)
    assert learnt["different phone"] == pytest.approx((20 + 20 * 0.2) / 40)
    assert sum(learnt.values()) == pytest.approx(1)
    # the model was sure of 20 pairs (8 bits: 99.6%) and people rejected half of them
    doubtful = Decisions(reviewed=[(8.0, True)] * 10 + [(8.0, False)] * 10)
    assert doubtful.prior_shift() == pytest.approx(-Decisions.MAX_SHIFT, abs=0.01)  # -8 would fit: at most -4
    assert Decisions(reviewed=[(2.0, True)] * 10 + [(2.0, False)] * 10).prior_shift() == pytest.approx(-2, abs=0.01)
    # a well-calibrated model (pairs at 0 bits, half confirmed) is left alone
    assert Decisions(reviewed=[(0.0, True)] * 10 + [(0.0, False)] * 10).prior_shift() == pytest.approx(0, abs=0.01)
    # an under-confident one (pairs at 1 bit: 67%; all but one confirmed) is raised
    assert Decisions(reviewed=[(1.0, True)] * 19 + [(1.0, False)]).prior_shift() > 1
    assert Decisions(reviewed=[(8.0, False)] * 30).prior_shift() == 0  # all of one kind: nothing to calibrate on


def test_decisions_change_the_model_a_search_scores_with() -> None:
    from kehu.dedup import linkage

    records = [linkage.linkage_record(n, name="张伟", city="深圳市", phones=[f"+86139{n:08d}"]) for n in range(4)]
    table = linkage.records_table(records)
    plain = linkage.link(table, pair_floor=0.0)
    rejected = linkage.Decisions(
        confirmed=[{"name": "same name"}] * 10, reviewed=[(9.0, True)] * 10 + [(9.0, False)] * 30
    )
    learnt = linkage.link(table, pair_floor=0.0, decisions=rejected)
    before = {(p["unique_id_l"], p["unique_id_r"]): p["match_weight"] for p in plain.pairs.to_pylist()}
    after = {(p["unique_id_l"], p["unique_id_r"]): p["match_weight"] for p in learnt.pairs.to_pylist()}
    assert before.keys() == after.keys()
    assert before
    assert all(after[pair] < before[pair] - 3 for pair in before)  # people reject what the model was sure of


def test_a_training_session_splink_cannot_finish_leaves_the_others_standing(monkeypatch: pytest.MonkeyPatch) -> None:
    """On the demo million, the customers sharing a first phone are all different people: EM drove one level's m
    to 1e-306 and splink refused it, which had failed the whole search."""
    from splink.internals.linker_components.training import LinkerTraining

    from kehu.dedup import linkage

    monkeypatch.setattr(linkage, "EM_MIN_RECORDS", 10)
    original = LinkerTraining.estimate_parameters_using_expectation_maximisation

    def refuse_phone(self: LinkerTraining, blocking_rule: object, **options: object) -> object:
        if "block_phone" in str(blocking_rule.get_blocking_rule("duckdb").blocking_rule_sql):  # type: ignore[attr-defined]
            raise ValueError("m_probability value 2e-306 is below the minimum allowed value of 1e-300. Values…")
        return original(self, blocking_rule, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(LinkerTraining, "estimate_parameters_using_expectation_maximisation", refuse_phone)
    names = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴娟"]
    records = [
        linkage.linkage_record(n, name=names[n % 10], city=["深圳市", "杭州市"][n % 2], phones=[f"+86139{n % 30:08d}"])
        for n in range(40)
    ]
    result = linkage.link(linkage.records_table(records))
    assert result.untrained == ["phone: m_probability value 2e-306 is below the minimum allowed value of 1e-300"]
    assert result.comparisons_scored > 0
