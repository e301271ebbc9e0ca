"""Chinese and mixed customer records with known duplicates, made the ways duplicates really arise.

    python bench/dedup_data.py --entities 10000 --seed 7 --out var/bench/dedup-10000.csv

Each person (an *entity*) gets a name drawn from common surnames and given-name characters, a gender,
birthday, mobile, email, company and address. Some of them get one to three more records, each changed
the way a second entry of the same person is changed in real life, one to three of these at once:

- a homophone for a given-name character (张伟 → 张玮: a pinyin input method picks the wrong one);
- traditional characters (张伟 → 張偉), pinyin for the characters ("Zhang Wei", "ZHANG WEI", "zhangwei"),
  given and family name swapped ("Wei Zhang"), a space inside the name ("张 伟");
- a missing phone, email, address, birthday or company; a reformatted phone (138-1234-5678,
  +86 138 1234 5678, 0086…) or one digit mistyped; a new email or one with a typo;
- a moved address (another street or district of the same city, or another city);
- the company written another way (腾讯 / 深圳市腾讯计算机系统有限公司 / 腾讯科技（深圳）有限公司);
- what makes it hard: a new mobile or email altogether, a birthday with one digit wrong or day and month
  swapped, a given-name character mistyped as another that does not sound the same (张伟 → 张传), an ID
  number (a quarter of the people have one) missing or with one digit wrong.

Hard negatives are built in: common names repeat (several different 张伟 in one city), colleagues share a
company and its address, family members share a surname, street and landline-free households.

Rows carry `external_id` (`p<entity>-<copy>`); the truth — which external ids are one person — is the
entity number, kept aside in `truth_entity` (evaluation reads it; linkage never sees it).
"""

from __future__ import annotations

import argparse
import csv
import random
from functools import lru_cache
from pathlib import Path
from typing import Any

FAMILY = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
FAMILY_WEIGHTS = [max(1, 60 - 1.2 * i) for i in range(len(FAMILY))]
# Given-name characters in homophone sets: a set's characters read the same in pinyin.
HOMOPHONES = [
    "伟玮炜维", "敏民珉", "静晶婧菁", "丽莉俐", "强蔷", "磊蕾", "军君钧", "洋阳扬", "勇永咏", "艳燕彦",
    "杰洁婕", "娟鹃", "涛韬", "明铭鸣", "超潮", "英瑛莹", "霞夏", "平萍", "刚钢", "兰岚", "华桦骅",
    "玉钰煜", "梅玫", "红虹鸿", "鹏朋", "飞菲斐", "婷亭霆", "浩昊皓", "宇雨羽禹", "欣馨鑫新", "怡仪艺宜",
    "涵晗含", "轩萱宣", "思斯丝", "远媛源元", "佳嘉家", "子梓紫", "文雯", "建健剑", "国帼", "志智", "海",
    "秀", "春纯", "晓小", "冬东", "俊骏峻", "凯楷", "琳林霖", "晨辰", "诗", "博", "睿瑞", "天", "一依",
]  # fmt: skip
GIVEN = [char for group in HOMOPHONES for char in group]
HOMOPHONE_OF = {char: group for group in HOMOPHONES for char in group}
PLACES = [
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区", "龙岗区"], ["科技园路", "深南大道", "华侨城路", "后海大道"]),
    ("北京市", "北京市", ["朝阳区", "海淀区", "东城区", "丰台区"], ["建国路", "中关村大街", "长安街", "学院路"]),
    ("上海市", "上海市", ["浦东新区", "徐汇区", "静安区", "闵行区"], ["世纪大道", "淮海中路", "南京西路", "漕宝路"]),
    ("浙江省", "杭州市", ["西湖区", "滨江区", "上城区", "余杭区"], ["文三路", "江南大道", "延安路", "文一西路"]),
    ("四川省", "成都市", ["武侯区", "锦江区", "高新区", "青羊区"], ["人民南路", "天府大道", "春熙路", "蜀都大道"]),
    ("江苏省", "南京市", ["鼓楼区", "玄武区", "秦淮区", "建邺区"], ["中山北路", "珠江路", "中华路", "江东中路"]),
    ("湖北省", "武汉市", ["洪山区", "武昌区", "江汉区", "汉阳区"], ["珞喻路", "中南路", "解放大道", "汉阳大道"]),
    ("山东省", "青岛市", ["市南区", "崂山区", "市北区", "黄岛区"], ["香港中路", "海尔路", "延安三路", "长江中路"]),
]  # fmt: skip
COMPANIES = [
    ("腾讯", "计算机系统"), ("华为", "技术"), ("阿里巴巴", "网络技术"), ("美的", "电器"), ("比亚迪", "汽车"),
    ("小米", "通讯技术"), ("京东", "贸易"), ("海尔", "智家"), ("格力", "电器"), ("顺丰", "速运"),
    ("联想", "信息技术"), ("中兴", "通讯"), ("大疆", "创新科技"), ("网易", "信息技术"), ("百度", "在线网络技术"),
    ("蔚来", "汽车科技"), ("海康", "威视数字技术"), ("宁德时代", "新能源科技"), ("携程", "旅行网络技术"),
    ("安踏", "体育用品"),
]  # fmt: skip
MOBILE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159",
                   "166", "176", "177", "180", "181", "186", "187", "188", "189", "198", "199"]  # fmt: skip
DOMAINS = ["qq.com", "163.com", "126.com", "gmail.com", "sina.com", "outlook.com", "foxmail.com"]
FIELDS = ["external_id", "name", "gender", "birthday", "id_number", "mobile", "email", "company", "province", "city",
          "district", "street", "truth_entity"]  # fmt: skip


def _pinyin(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return list(lazy_pinyin(text, style=Style.NORMAL))


@lru_cache(maxsize=1)
def _to_traditional() -> Any:
    import opencc

    return opencc.OpenCC("s2t")  # loading its dictionaries takes milliseconds: once, not per record


def _traditional(text: str) -> str:
    return str(_to_traditional().convert(text))


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.mobiles: set[str] = set()

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number

    def person(self, entity: int, household: dict[str, str] | None = None) -> dict[str, str]:
        rng = self.rng
        family = household["family"] if household else rng.choices(FAMILY, FAMILY_WEIGHTS)[0]
        given = "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.35 else 2))
        province, city, districts, streets = PLACES[rng.randrange(len(PLACES))]
        company, kind = rng.choice(COMPANIES)
        syllables = _pinyin(family + given)
        user = rng.choice(
            [
                "".join(syllables),
                syllables[0] + "".join(s[0] for s in syllables[1:]),
                "".join(syllables[1:]) + syllables[0],
            ]
        )
        record = {
            "family": family,
            "given": given,
            "gender": rng.choice(["男", "女"]),
            "birthday": f"{rng.randint(1955, 2003)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "id_number": "",
            "mobile": self.mobile(),
            "email": f"{user}{rng.randint(1, 9999)}@{rng.choice(DOMAINS)}",
            "company": f"{city}{company}{kind}有限公司" if rng.random() < 0.7 else "",
            "province": province,
            "city": city,
            "district": rng.choice(districts),
            "street": f"{rng.choice(streets)}{rng.randint(1, 999)}号",
            "entity": str(entity),
        }
        if household:
            for key in ("province", "city", "district", "street"):
                record[key] = household[key]
        if rng.random() < 0.25:
            region = f"{rng.randint(110000, 659999)}"
            body = region + record["birthday"].replace("-", "") + f"{rng.randint(0, 999):03d}"
            record["id_number"] = body + _id_check(body)
        return record

    # ---- the ways a second record of the same person differs ----------------------------------------

    def variant(self, person: dict[str, str]) -> dict[str, str]:
        rng = self.rng
        copy = dict(person)
        changes = rng.sample(
            [self.homophone, self.traditional, self.pinyin, self.swapped, self.spaced, self.missing, self.missing,
             self.phone_format, self.phone_typo, self.email_change, self.moved, self.company_variant,
             self.new_phone, self.new_email, self.birthday_typo, self.char_typo, self.id_change],
            k=rng.choice([1, 1, 2, 2, 3]),
        )  # fmt: skip
        copy["name"] = copy["family"] + copy["given"]
        for change in changes:
            change(copy)
        return copy

    def homophone(self, record: dict[str, str]) -> None:
        given = record["given"]
        index = self.rng.randrange(len(given))
        group = HOMOPHONE_OF.get(given[index], given[index])
        record["given"] = given[:index] + self.rng.choice(group) + given[index + 1 :]
        record["name"] = record["family"] + record["given"]

    def traditional(self, record: dict[str, str]) -> None:
        record["name"] = _traditional(record["name"])
        if self.rng.random() < 0.5:
            record["street"] = _traditional(record["street"])

    def pinyin(self, record: dict[str, str]) -> None:
        family, given = _pinyin(record["family"]), "".join(_pinyin(record["given"]))
        style = self.rng.randrange(3)
        name = f"{family[0].title()} {given.title()}"
        record["name"] = name.upper() if style == 1 else name.replace(" ", "").lower() if style == 2 else name

    def swapped(self, record: dict[str, str]) -> None:
        family, given = "".join(_pinyin(record["family"])), "".join(_pinyin(record["given"]))
        record["name"] = f"{given.title()} {family.title()}"

    def spaced(self, record: dict[str, str]) -> None:
        record["name"] = record["family"] + " " + record["given"]

    def missing(self, record: dict[str, str]) -> None:
        key = self.rng.choice(["mobile", "email", "street", "birthday", "company"])
        record[key] = ""

    def phone_format(self, record: dict[str, str]) -> None:
        m = record["mobile"]
        if m:
            record["mobile"] = self.rng.choice(
                [f"{m[:3]}-{m[3:7]}-{m[7:]}", f"+86 {m[:3]} {m[3:7]} {m[7:]}", f"0086{m}", f"({m[:3]}){m[3:]}"]
            )

    def phone_typo(self, record: dict[str, str]) -> None:
        m = record["mobile"]
        digits = [index for index, char in enumerate(m) if char.isdigit()]
        if len(digits) >= 11:
            index = self.rng.choice(digits[-8:])  # not the operator prefix: the number stays a mobile
            record["mobile"] = m[:index] + str((int(m[index]) + self.rng.randint(1, 9)) % 10) + m[index + 1 :]

    def email_change(self, record: dict[str, str]) -> None:
        email = record["email"]
        if not email:
            return
        user, _, domain = email.partition("@")
        if self.rng.random() < 0.5:
            index = self.rng.randrange(len(user))
            user = user[:index] + self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") + user[index + 1 :]
            record["email"] = f"{user}@{domain}"
        else:
            record["email"] = f"{user}@{self.rng.choice(DOMAINS)}"

    def moved(self, record: dict[str, str]) -> None:
        province, city, districts, streets = next(p for p in PLACES if p[1] == record["city"])
        if self.rng.random() < 0.3:
            province, city, districts, streets = PLACES[self.rng.randrange(len(PLACES))]
        record.update(
            province=province,
            city=city,
            district=self.rng.choice(districts),
            street=f"{self.rng.choice(streets)}{self.rng.randint(1, 999)}号",
        )

    def new_phone(self, record: dict[str, str]) -> None:
        record["mobile"] = self.mobile()

    def new_email(self, record: dict[str, str]) -> None:
        if record["email"]:
            record["email"] = (
                f"{record['email'].partition('@')[0][:3]}{self.rng.randint(10, 99)}@{self.rng.choice(DOMAINS)}"
            )

    def birthday_typo(self, record: dict[str, str]) -> None:
        year, month, day = record["birthday"].split("-") if record["birthday"] else ("", "", "")
        if not year:
            return
        if self.rng.random() < 0.5 and int(day) <= 12:
            record["birthday"] = f"{year}-{day}-{month}"  # day and month swapped
        else:
            record["birthday"] = f"{year}-{month}-{(int(day) % 28) + 1:02d}"

    def char_typo(self, record: dict[str, str]) -> None:
        given = record["given"]
        index = self.rng.randrange(len(given))
        record["given"] = given[:index] + self.rng.choice(GIVEN) + given[index + 1 :]
        record["name"] = record["family"] + record["given"]

    def id_change(self, record: dict[str, str]) -> None:
        number = record["id_number"]
        if number:
            if self.rng.random() < 0.5:
                record["id_number"] = ""
            else:
                index = self.rng.randrange(6, 17)
                record["id_number"] = number[:index] + str((int(number[index]) + 1) % 10) + number[index + 1 :]

    def company_variant(self, record: dict[str, str]) -> None:
        found = next(((name, kind) for name, kind in COMPANIES if name in record["company"]), None)
        if found:
            name, kind = found
            city = record["city"].removesuffix("市")
            record["company"] = self.rng.choice(
                [name, f"{name}{kind}", f"{name}科技（{city}）有限公司", f"{name}{kind}股份有限公司"]
            )


def _id_check(body: str) -> str:
    """The check character of a resident ID number (GB 11643)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def generate(entities: int, seed: int, duplicate_share: float = 0.3) -> list[dict[str, str]]:
    """Rows for `entities` people; about `duplicate_share` of them have one to three more records."""
    generator = Generator(seed)
    rng = generator.rng
    rows: list[dict[str, str]] = []
    people: list[dict[str, str]] = []
    for entity in range(entities):
        household = people[-1] if people and rng.random() < 0.05 else None  # same surname and home
        person = generator.person(entity, household)
        if people and rng.random() < 0.05:  # a colleague: same company and office
            colleague = rng.choice(people)
            for key in ("company", "province", "city", "district", "street"):
                person[key] = colleague[key]
        people.append(person)
    for person in people:
        copies = [dict(person, name=person["family"] + person["given"])]
        if rng.random() < duplicate_share:
            copies += [generator.variant(person) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
        for number, copy in enumerate(copies):
            rows.append(
                {
                    "external_id": f"p{person['entity']}-{number}",
                    "name": copy["name"],
                    "gender": copy["gender"],
                    "birthday": copy["birthday"],
                    "id_number": copy["id_number"],
                    "mobile": copy["mobile"],
                    "email": copy["email"],
                    "company": copy["company"],
                    "province": copy["province"],
                    "city": copy["city"],
                    "district": copy["district"],
                    "street": copy["street"],
                    "truth_entity": person["entity"],
                }
            )
    rng.shuffle(rows)
    return rows


def write(rows: list[dict[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = generate(args.entities, args.seed)
    write(rows, args.out)
    print(f"{len(rows)} rows for {args.entities} people → {args.out}")


if __name__ == "__main__":
    main()
