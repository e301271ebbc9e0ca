"""Probabilistic record linkage of customers with splink on DuckDB, made for Chinese data.

Each customer becomes one linkage record (`LinkageRecord`): the name as simplified characters, as pinyin
(so 张伟, 張偉, 张玮 and "Zhang Wei" read the same), as pinyin syllables in sorted order (so "Wei Zhang" and
张伟 agree) and as initials; every phone in E.164 digits; the email and its mailbox name; the company with
its legal-form words stripped (有限公司, 股份, Co., Ltd.); the address parts; the birthday; a keyed hash of the
ID number. `linkage_settings` compares those as a person would, level by level ("same mobile", "name sounds
the same", "same district"); `link` estimates the model's parameters from the data itself (u by random
sampling, m by expectation maximisation on blocks; no labels needed), scores the candidate pairs that the
blocking rules produce; `connected` joins the pairs above a threshold into groups.

Everything runs in an in-memory DuckDB, where decrypted values never reach a disk, or with the same settings on
Spark for bases beyond one machine (`kehu.dedup.engines`, `KEHU_DEDUP_ENGINE=spark`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from django.utils.translation import gettext_noop  # level labels: stored in English, shown translated

from kehu.core.chinese import _reading, has_han, is_han, to_simplified

# Legal-form and filler words that two spellings of one company often differ by.
_COMPANY_WORDS = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "集团",
    "分公司",
    "公司",
    "股份",
    "有限",
    "总部",
    "科技",
    "技术",
    "实业",
    "贸易",
    "商贸",
    "发展",
    "控股",
)
_COMPANY_LATIN = re.compile(
    r"\b(co|company|corp|corporation|inc|incorporated|ltd|limited|llc|plc|group|holdings?|gmbh|technology|"
    r"technologies|tech|trading|international|intl)\b\.?"
)
_ADMIN_PREFIX = re.compile(r"^(.{2,3}?(省|市|自治区|特别行政区))+")
_LETTERS = re.compile(r"[a-z]+")
_NOT_WORD = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")


@lru_cache(maxsize=1)
def _syllable_set() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows, less the interjections without a vowel (hm, ng)."""
    from pypinyin import Style
    from pypinyin.pinyin_dict import pinyin_dict
    from pypinyin.style import convert

    syllables = {
        convert(reading, Style.NORMAL, strict=True) for value in pinyin_dict.values() for reading in value.split(",")
    }
    return frozenset(s for s in syllables if s and re.search(r"[aeiouv]", s))


@lru_cache(maxsize=100_000)
def pinyin_syllables(word: str) -> tuple[str, ...]:
    """A run of Latin letters split into pinyin syllables ("xiaoming" → xiao, ming); unsplittable: itself."""
    known = _syllable_set()
    best: list[tuple[str, ...] | None] = [None] * (len(word) + 1)
    best[0] = ()
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            head = best[start]
            if head is not None and word[start:end] in known:
                candidate = (*head, word[start:end])
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(word)] or (word,)


@dataclass(frozen=True)
class NameForms:
    chars: str  # simplified characters (or Latin letters), no spaces
    pinyin: str  # toneless pinyin of the characters, or the Latin letters
    sorted: str  # the syllables in alphabetical order: order-free (given/family swapped)
    initials: str
    family: str  # pinyin of the family name ("" when unknown)
    given: str  # pinyin of the given name


# Two-character surnames, so that 欧阳娜娜 splits as 欧阳 / 娜娜.
_COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "闻人",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "百里",
        "呼延",
    ]
)


def _split_han(han: str) -> tuple[str, str]:
    if len(han) >= 3 and han[:2] in _COMPOUND_SURNAMES:
        return han[:2], han[2:]
    return (han[:1], han[1:]) if len(han) > 1 else ("", han)


def _pinyin_of(han: str) -> str:
    return "".join(reading for reading in map(_reading, han) if reading)


@lru_cache(maxsize=200_000)
def name_forms(name: str, family: str = "", given: str = "") -> NameForms | None:
    """The forms of a person's name that linkage compares; None when the name holds no letters.

    `family` and `given`, when the record holds them, say which part is which; otherwise a Chinese name's
    first character (or compound surname) is the family name, and a name in Latin letters is read in Chinese
    order ("Zhang Wei"): written the other way round ("Wei Zhang"), the comparison's "order swapped" level
    still finds it."""
    text = to_simplified(unicodedata.normalize("NFKC", name or f"{family} {given}")).lower()
    han = "".join(char for char in text if is_han(char))
    if han:
        syllables = tuple(reading for reading in map(_reading, han) if reading)
        chars = han
        family_part, given_part = (to_simplified(family), to_simplified(given)) if family or given else _split_han(han)
        family_pinyin, given_pinyin = _pinyin_of(family_part), _pinyin_of(given_part)
    else:
        words = _LETTERS.findall(text)
        if not words:
            return None
        syllables = tuple(syllable for word in words for syllable in pinyin_syllables(word))
        chars = "".join(words)
        if family or given:
            family_pinyin = "".join(_LETTERS.findall(family.lower()))
            given_pinyin = "".join(_LETTERS.findall(given.lower()))
        else:
            family_pinyin, given_pinyin = words[0] if len(words) > 1 else "", "".join(words[1:] or words)
    if not syllables:
        return None
    return NameForms(
        chars=chars,
        pinyin="".join(syllables),
        sorted="".join(sorted(syllables)),
        initials="".join(syllable[0] for syllable in syllables),
        family=family_pinyin,
        given=given_pinyin,
    )


@lru_cache(maxsize=100_000)
def company_core(name: str) -> str:
    """A company name without legal form, region prefix and punctuation.

    "深圳市腾讯计算机系统有限公司" → "腾讯计算机系统"; "Acme Trading Co., Ltd." → "acme"."""
    text = to_simplified(unicodedata.normalize("NFKC", name)).lower().strip()
    if not text:
        return ""
    if has_han(text):
        text = _ADMIN_PREFIX.sub("", text) or text
        text = re.sub(r"[(（].*?[)）]", "", text)
        for word in _COMPANY_WORDS:
            stripped = text.replace(word, "")
            if len(stripped) >= 2:
                text = stripped
    text = _COMPANY_LATIN.sub(" ", text)
    return _NOT_WORD.sub("", text)


def street_key(street: str) -> str:
    """A street for comparison: simplified, half-width, lower case, without spaces and punctuation."""
    return _NOT_WORD.sub("", to_simplified(unicodedata.normalize("NFKC", street)).lower())


@dataclass
class LinkageRecord:
    """What linkage knows of one customer; None where the customer has no value."""

    unique_id: int
    name_chars: str | None = None
    name_pinyin: str | None = None
    name_sorted: str | None = None
    name_initials: str | None = None
    family_pinyin: str | None = None
    given_pinyin: str | None = None
    phones: list[str] = field(default_factory=list)
    phone: str | None = None
    email: str | None = None
    email_user: str | None = None
    company: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    birthday: str | None = None
    id_key: str | None = None
    external_id: str | None = None


def linkage_record(
    unique_id: int,
    *,
    name: str = "",
    family: str = "",
    given: str = "",
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    company: str = "",
    province: str = "",
    city: str = "",
    district: str = "",
    street: str = "",
    birthday: str = "",
    id_key: str = "",
    external_id: str = "",
) -> LinkageRecord:
    """One record from normalised values (phones in E.164, emails lower case)."""
    forms = name_forms(name, family, given) if name or family or given else None
    digits = sorted({phone.lstrip("+") for phone in phones if phone})
    mail = sorted({email.lower() for email in emails if email})
    return LinkageRecord(
        unique_id=unique_id,
        name_chars=forms.chars if forms else None,
        name_pinyin=forms.pinyin if forms else None,
        name_sorted=forms.sorted if forms else None,
        name_initials=forms.initials if forms else None,
        family_pinyin=(forms.family or None) if forms else None,
        given_pinyin=(forms.given or None) if forms else None,
        phones=digits,
        phone=digits[0] if digits else None,
        email=mail[0] if mail else None,
        email_user=mail[0].partition("@")[0] if mail else None,
        company=company_core(company) or None,
        province=to_simplified(province) or None,
        city=to_simplified(city) or None,
        district=to_simplified(district) or None,
        street=street_key(street) or None,
        birthday=birthday or None,
        id_key=id_key or None,
        external_id=external_id or None,
    )


def records_table(records: Sequence[LinkageRecord]) -> Any:
    """The records as an Arrow table, with a typed schema so that an all-empty column keeps its type."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    schema = pa.schema(
        [
            ("unique_id", pa.int64()),
            *[
                (name, pa.string())
                for name in (
                    "name_chars",
                    "name_pinyin",
                    "name_sorted",
                    "name_initials",
                    "family_pinyin",
                    "given_pinyin",
                )
            ],
            ("phones", pa.list_(pa.string())),
            *[
                (name, pa.string())
                for name in (
                    "phone",
                    "email",
                    "email_user",
                    "company",
                    "province",
                    "city",
                    "district",
                    "street",
                    "birthday",
                    "id_key",
                    "external_id",
                )
            ],
        ]
    )
    rows = [asdict(record) for record in records]
    return pa.Table.from_pylist(rows, schema=schema)


# ---- the model --------------------------------------------------------------------------------------------------


# Candidate pairs: two customers are compared when they agree on every column of one of these rules.
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("phones",),  # any phone of one is any phone of the other
    ("email",),
    ("id_key",),
    ("name_pinyin", "city"),
    ("name_sorted", "birthday"),
    ("name_sorted", "company"),
    ("email_user",),
    ("birthday", "province"),
    ("street", "city"),
    # A typo in the city, the ID number or one part of the name still leaves these (FEBRL: about 30 of the 85
    # true pairs the rules above missed); each is rare enough to stay cheap on a million customers. The street
    # alone is not: on the demo million (20 street names × 999 numbers) it made 25 million more pairs.
    ("family_pinyin", "birthday"),
    ("given_pinyin", "birthday"),
    ("birthday", "city"),
)
# Blocks for estimating how likely two random customers are one (the first phone stands for them all: training
# cannot explode a list) and for expectation maximisation of the m probabilities.
PRIOR_RULES: tuple[tuple[str, ...], ...] = (("phone",), ("email",), ("id_key",))
TRAINING_RULES: tuple[tuple[str, ...], ...] = (("phone",), ("name_pinyin", "city"), ("birthday", "city"), ("id_key",))
# A value held by more customers than this is no sign of one person — "info" before the @ of every company's
# mailbox, a shop's switchboard number on 5,000 customers, 张伟 in Beijing — and would make block² pairs (the
# demo million's "info" alone: 5 billion, more than DuckDB holds in 24 GiB). It blocks nothing; the customers
# holding it are still compared through their other rules, and the comparisons still weigh it.
BLOCK_MAX = 200


def _block_on(columns: Sequence[str], *, keyed: bool = False) -> Any:
    """splink's rule for `columns`; `keyed` blocks on the column `block_keys` made for them instead."""
    from splink import block_on

    from kehu.dedup.engines import block_key

    names = [block_key(columns)] if keyed else list(columns)
    return block_on(*names, arrays_to_explode=names if columns == ("phones",) else None)


def linkage_settings() -> Any:
    """Comparisons and blocking rules for customers; each level's label is the reason shown to a person."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    def null(column: str) -> Any:
        return cll.NullLevel(column)

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="name",
        comparison_levels=[
            null("name_pinyin"),
            cll.ExactMatchLevel("name_chars", term_frequency_adjustments=True).configure(
                label_for_charts=gettext_noop("same name")
            ),
            cll.ExactMatchLevel("name_pinyin", term_frequency_adjustments=True).configure(
                label_for_charts=gettext_noop("name sounds the same")
            ),
            cll.ExactMatchLevel("name_sorted").configure(
                label_for_charts=gettext_noop("same syllables in another order")
            ),
            cll.JaroWinklerLevel("name_pinyin", 0.92).configure(
                label_for_charts=gettext_noop("name spelled almost the same")
            ),
            cll.ColumnsReversedLevel("family_pinyin", "given_pinyin").configure(
                label_for_charts=gettext_noop("same name, order swapped")
            ),
            cll.JaroWinklerLevel("name_sorted", 0.9).configure(
                label_for_charts=gettext_noop("name spelled almost the same, order swapped")
            ),
            cll.ExactMatchLevel("given_pinyin").configure(label_for_charts=gettext_noop("same given name")),
            cll.ExactMatchLevel("family_pinyin", term_frequency_adjustments=True).configure(
                label_for_charts=gettext_noop("same family name")
            ),
            cll.ExactMatchLevel("name_initials").configure(label_for_charts=gettext_noop("same initials")),
            cll.ElseLevel().configure(label_for_charts=gettext_noop("different name")),
        ],
    )
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_description="phone",
        comparison_levels=[
            null("phone"),  # the first phone: there is none exactly when the list is empty
            cll.ArrayIntersectLevel("phones", min_intersection=1).configure(
                label_for_charts=gettext_noop("same phone")
            ),
            cll.DamerauLevenshteinLevel("phone", 1).configure(label_for_charts=gettext_noop("phone one digit apart")),
            cll.ElseLevel().configure(label_for_charts=gettext_noop("different phone")),
        ],
    )
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_description="email",
        comparison_levels=[
            null("email"),
            cll.ExactMatchLevel("email").configure(label_for_charts=gettext_noop("same email")),
            cll.ExactMatchLevel("email_user").configure(label_for_charts=gettext_noop("same mailbox name")),
            cll.DamerauLevenshteinLevel("email", 2).configure(label_for_charts=gettext_noop("email almost the same")),
            cll.ElseLevel().configure(label_for_charts=gettext_noop("different email")),
        ],
    )
    company = cl.CustomComparison(
        output_column_name="company",
        comparison_description="company",
        comparison_levels=[
            null("company"),
            cll.ExactMatchLevel("company", term_frequency_adjustments=True).configure(
                label_for_charts=gettext_noop("same company")
            ),
            cll.JaroWinklerLevel("company", 0.88).configure(
                label_for_charts=gettext_noop("company name almost the same")
            ),
            cll.ElseLevel().configure(label_for_charts=gettext_noop("different company")),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="address",
        comparison_levels=[
            cll.CustomLevel("city_l IS NULL OR city_r IS NULL").configure(is_null_level=True),
            cll.CustomLevel(
                "street_l = street_r AND city_l = city_r", label_for_charts=gettext_noop("same street address")
            ),
            cll.And(
                cll.JaroWinklerLevel("street", 0.9),
                cll.Or(cll.ExactMatchLevel("city"), cll.ExactMatchLevel("district")),
            ).configure(label_for_charts=gettext_noop("street address almost the same")),
            cll.CustomLevel(
                "district_l = district_r AND city_l = city_r", label_for_charts=gettext_noop("same district")
            ),
            cll.ExactMatchLevel("city", term_frequency_adjustments=True).configure(
                label_for_charts=gettext_noop("same city")
            ),
            cll.ExactMatchLevel("province").configure(label_for_charts=gettext_noop("same province")),
            cll.ElseLevel().configure(label_for_charts=gettext_noop("different place")),
        ],
    )
    birthday = cl.CustomComparison(
        output_column_name="birthday",
        comparison_description="birthday",
        comparison_levels=[
            null("birthday"),
            cll.ExactMatchLevel("birthday").configure(label_for_charts=gettext_noop("same birthday")),
            cll.DamerauLevenshteinLevel("birthday", 1).configure(
                label_for_charts=gettext_noop("birthday one digit apart")
            ),
            cll.DamerauLevenshteinLevel("birthday", 2).configure(
                label_for_charts=gettext_noop("birthday two digits apart")
            ),
            cll.ElseLevel().configure(label_for_charts=gettext_noop("different birthday")),
        ],
    )
    id_number = cl.CustomComparison(
        output_column_name="id_number",
        comparison_description="ID number",
        comparison_levels=[
            null("id_key"),
            cll.ExactMatchLevel("id_key").configure(label_for_charts=gettext_noop("same ID number")),
            # kehu holds ID numbers as keyed hashes, which never come one character apart; a data set linked
            # with its identifiers in clear (the FEBRL benchmark) does use this level.
            cll.DamerauLevenshteinLevel("id_key", 1).configure(
                label_for_charts=gettext_noop("ID number one character apart")
            ),
            cll.ElseLevel().configure(label_for_charts=gettext_noop("different ID number")),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[name, phone, email, company, address, birthday, id_number],
        blocking_rules_to_generate_predictions=[_block_on(columns) for columns in BLOCKING_RULES],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
        additional_columns_to_retain=[],
    )


@dataclass
class Decisions:
    """What people decided about pairs an earlier search suggested, as training for the next.

    `confirmed` holds the reasons of each pair in a group that was merged ({comparison: level label}, as
    `MatchPair.explanation` stores them); `reviewed` the match weight of each pair people decided on and whether
    it was the same person. Merged pairs move each level's m probability from what expectation maximisation
    estimated towards how often people's duplicates showed it (`PSEUDO_PAIRS` decisions weigh as much as the
    estimate). Reviewed pairs recalibrate the prior: when people reject groups the model was sure of, every
    pair's odds fall by as much as makes the expected share of duplicates among them what people found
    (at most `MAX_SHIFT` bits either way). Pairs people reviewed were scored high, so they say little about
    levels they never saw; below `MIN_DECISIONS` nothing changes.
    """

    confirmed: list[dict[str, str]] = field(default_factory=list)
    reviewed: list[tuple[float, bool]] = field(default_factory=list)
    PSEUDO_PAIRS: ClassVar[float] = 20.0
    MIN_DECISIONS: ClassVar[int] = 10
    MAX_SHIFT: ClassVar[float] = 4.0

    def m_probabilities(self, comparison: str, levels: dict[str, float]) -> dict[str, float]:
        """Each level's m probability (label → m), blended with the decisions on `comparison`."""
        seen = [pair[comparison] for pair in self.confirmed if pair.get(comparison) in levels]
        if len(seen) < self.MIN_DECISIONS:
            return dict(levels)
        total = sum(levels.values()) or 1.0
        k = self.PSEUDO_PAIRS
        return {label: (seen.count(label) + k * m / total) / (len(seen) + k) for label, m in levels.items()}

    def prior_shift(self) -> float:
        """Bits to add to every pair's match weight so that the reviewed pairs' expected duplicates match the
        number people confirmed (0 when too few decisions, or all of one kind)."""
        same = sum(1 for _, is_same in self.reviewed if is_same)
        if len(self.reviewed) < self.MIN_DECISIONS or same in (0, len(self.reviewed)):
            return 0.0

        def expected(shift: float) -> float:
            return sum(1 / (1 + 2 ** -(weight + shift)) for weight, _ in self.reviewed)

        low, high = -self.MAX_SHIFT, self.MAX_SHIFT
        for _ in range(50):  # expected() rises with the shift: bisect for the shift that gives `same`
            middle = (low + high) / 2
            low, high = (middle, high) if expected(middle) < same else (low, middle)
        return (low + high) / 2

    def apply(self, settings: Any) -> float:
        """Move the m probabilities of splink's settings object towards the decisions and shift its prior;
        returns the shift in bits."""
        for comparison in settings.comparisons:
            levels = [level for level in comparison.comparison_levels if not level.is_null_level]
            by_label = {level.label_for_charts: level.m_probability or 0.0 for level in levels}
            if len(by_label) != len(levels):
                continue  # two levels with one label cannot be told apart in stored reasons
            learnt = self.m_probabilities(comparison.output_column_name, by_label)
            for level in levels:
                level.m_probability = learnt[level.label_for_charts]
        shift = self.prior_shift()
        if shift:
            prior = settings._probability_two_random_records_match
            odds = prior / (1 - prior) * 2**shift
            settings._probability_two_random_records_match = odds / (1 + odds)
        return shift


@dataclass
class LinkResult:
    """What a linkage run found: scored pairs (above the floor), groups, and what the model learned."""

    pairs: Any  # pyarrow.Table: unique_id_l, unique_id_r, match_weight, match_probability, gamma_*/bf_* columns
    comparisons_scored: int
    weight_histogram: list[tuple[int, int]]  # (match weight rounded down, pairs), every scored pair
    model: dict[str, Any]
    reasons: dict[str, list[tuple[str, float]]]  # comparison → (label, match weight) of each level, best first
    common_values: dict[str, int] = field(default_factory=dict)  # rule → values too common to block on (BLOCK_MAX)
    untrained: list[str] = field(default_factory=list)  # training sessions that failed, and why
    prior_shift: float = 0.0  # bits every pair's weight moved for people's decisions (`Decisions`)


# Below this many customers, m probabilities come from the shipped model instead of expectation maximisation.
EM_MIN_RECORDS = 5_000
DEFAULT_MODEL = Path(__file__).with_name("default_model.json")


def default_model() -> dict[str, Any]:
    """The shipped model: `linkage_settings` with m and u probabilities learnt on the generated Chinese set."""
    return dict(json.loads(DEFAULT_MODEL.read_text(encoding="utf-8")))


def link(
    table: Any,
    *,
    pair_floor: float = 0.5,
    decisions: Decisions | None = None,
    max_u_pairs: float = 1e6,
    seed: int = 1,
    block_max: int = BLOCK_MAX,
    engine_name: str | None = None,
) -> LinkResult:
    """Estimate the model on `table` (see `records_table`) and score the candidate pairs; `connected` groups them.

    `decisions` are what people said of earlier groups (`Decisions`): the m probabilities and the prior learn
    from them after the data has spoken.
    """
    import logging

    from splink import Linker

    from kehu.dedup.engines import block_key, engine

    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)
    runner = engine(engine_name)
    rows = table.num_rows
    learn = rows >= EM_MIN_RECORDS
    # A small base holds too few duplicates to learn from: its m and u probabilities come from the model shipped
    # with kehu (learnt on the generated Chinese set by `bench/bench_dedup.py --save-model`); the prior is its own.
    settings = linkage_settings()
    untrained: list[str] = []
    keyed, left_out = runner.keyed(table, (*BLOCKING_RULES, *PRIOR_RULES, *TRAINING_RULES), block_max=block_max)
    predicting = [_block_on(rule, keyed=True) for rule in BLOCKING_RULES]
    settings.blocking_rules_to_generate_predictions = predicting
    linker = Linker(runner.api.register(keyed), settings, log_level=logging.ERROR)
    if not learn:
        _use_model(linker._settings_obj, default_model())
    # Training rules cannot explode the phone list (splink scores exploded blocks only when predicting): they
    # use the first phone, which is every phone of almost every customer.
    linker.training.estimate_probability_two_random_records_match(
        [_block_on(rule, keyed=True) for rule in PRIOR_RULES], recall=0.7
    )
    prior = linker._settings_obj._probability_two_random_records_match
    if not prior:
        # No two records share a key: expect one duplicate in the whole base rather than none at all.
        prior = 1 / max(2, rows * (rows - 1) / 2)
    # In a handful of customers a single shared phone makes the estimate huge (3 customers, 2 sharing a phone:
    # 0.48), and then a shared street alone joins a couple; two customers taken at random are one person far
    # more rarely than one time in a thousand in any real base.
    linker._settings_obj._probability_two_random_records_match = min(prior, PRIOR_CAP)
    if learn:
        # A small base's u probabilities from its own few pairs say little (three customers, two sharing a phone,
        # would make a shared phone look common): it keeps the shipped model's.
        linker.training.estimate_u_using_random_sampling(max_pairs=max_u_pairs, seed=seed)
        runner.register(keyed, "kehu_records")
        for rule in TRAINING_RULES:
            # A rule without pairs (no two customers share a phone, say) is left out before splink sees it: a
            # failed training session drops the comparison it blocked on from the model.
            if not runner.shares_values("kehu_records", [block_key(rule)]):
                continue
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    _block_on(rule, keyed=True), fix_probability_two_random_records_match=True
                )
            except ValueError as error:
                # splink refuses an m probability that underflows (a level no duplicate in these blocks shows):
                # the session trains a copy of the model, so the others' estimates stand.
                untrained.append(f"{'+'.join(rule)}: {error}".split(". ")[0])
    prior_shift = decisions.apply(linker._settings_obj) if decisions is not None else 0.0
    _floor_m(linker)
    predictions = linker.inference.predict()
    scored, histogram, pairs = runner.scored(predictions, pair_floor)
    model = linker.misc.save_model_to_json()
    reasons = {
        comparison["output_column_name"]: [
            (level.get("label_for_charts", ""), _level_weight(level))
            for level in comparison["comparison_levels"]
            if not level.get("is_null_level")
        ]
        for comparison in model["comparisons"]
    }
    return LinkResult(
        pairs=pairs,
        comparisons_scored=scored,
        weight_histogram=histogram,
        model=model,
        reasons=reasons,
        common_values={key.removeprefix("block_"): count for key, count in left_out.items() if count},
        untrained=untrained,
        prior_shift=prior_shift,
    )


# No level is impossible for a duplicate: a level that training never saw among duplicates (a birthday typed
# one digit wrong, say) keeps this m probability instead of ~0, which would veto every pair showing it.
M_FLOOR = 0.005
PRIOR_CAP = 0.001


def _use_model(settings: Any, model: dict[str, Any]) -> None:
    """Each level's m and u probabilities from a saved model (matched by comparison and label): the settings are
    built for the engine's own SQL dialect, which a saved model's SQL is not."""
    saved = {
        (comparison["output_column_name"], level.get("label_for_charts")): level
        for comparison in model["comparisons"]
        for level in comparison["comparison_levels"]
        if not level.get("is_null_level")
    }
    for comparison in settings.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            stored = saved[(comparison.output_column_name, level.label_for_charts)]
            level.m_probability = stored.get("m_probability")
            level.u_probability = stored.get("u_probability")


def _floor_m(linker: Any) -> None:
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if not level.is_null_level and (level.m_probability or 0) < M_FLOOR:
                level.m_probability = M_FLOOR


def _level_weight(level: dict[str, Any]) -> float:
    import math

    m, u = level.get("m_probability"), level.get("u_probability")
    return math.log2(m / u) if m and u else 0.0


def level_of(levels: list[tuple[str, float]], weight: float) -> str:
    """The level a comparison's match weight (without its term-frequency part) came from."""
    return min(levels, key=lambda level: abs(level[1] - weight))[0] if levels else ""


def connected(edges: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Each record on an edge → a representative of its group (union-find over the edges)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[root(a)] = root(b)
    return {x: root(x) for x in parent}
