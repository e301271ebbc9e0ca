"""Deterministic demo data: customers with contact points and addresses, products with real co-purchase
structure, two years of orders with seasonality and customer-level differences in purchase rate, spend and
dropout (a BG/NBD-like process, so that segments and lifetime value mean something), and interactions.

Every batch draws from its own random stream seeded by (seed, batch number), so the same seed gives the same
data, and an interrupted load can resume at the first missing batch without duplicating anything.
Rows go in through COPY on PostgreSQL and executemany on SQLite, in one transaction per batch.
"""

from __future__ import annotations

import bisect
import collections
import concurrent.futures
import datetime as dt
import itertools
import math
import multiprocessing
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import phonenumbers
from django.db import connection, transaction

from kehu.accounts.models import Team, User
from kehu.accounts.roles import Role
from kehu.accounts.services import team_get_or_create, user_create
from kehu.audit.models import AuditEvent, AuditRecord
from kehu.audit.services import audit_record
from kehu.commerce.models import Product
from kehu.core.chinese import pinyin_initials, pinyin_readings
from kehu.core.fields import protect
from kehu.core.search import build_document
from kehu.customers.models import Tag
from kehu.customers.search_index import FTS_TABLE, scope_tokens
from kehu.customers.services import contact_value_index
from kehu.demo import data

DEMO_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
WEEKS = 104
DEMO_PASSWORD = "kehu-demo-2026"  # noqa: S105 - printed for the demo accounts; never used outside demo data
SEASON = {1: 1.1, 2: 0.7, 3: 0.9, 4: 0.9, 5: 1.0, 6: 1.4, 7: 0.9, 8: 0.9, 9: 1.0, 10: 1.0, 11: 1.8, 12: 1.2}
SEASON_MAX = max(SEASON.values())
AREA_CODES = {
    "深圳市": "755",
    "广州市": "20",
    "上海市": "21",
    "北京市": "10",
    "天津市": "22",
    "重庆市": "23",
    "杭州市": "571",
    "南京市": "25",
    "苏州市": "512",
    "成都市": "28",
    "武汉市": "27",
    "西安市": "29",
}
DEMO_TAGS = ["VIP", "重点客户", "老客户", "价格敏感", "企业采购", "潜在大客户", "Newsletter"]
RETURN_REASONS = ["尺码不合适", "质量问题", "不想要了", "发错货", "Damaged in transit"]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role
    team: str | None


DEMO_ACCOUNTS = [
    DemoAccount("admin", "系统管理员", Role.ADMIN, None),
    DemoAccount("manager", "周经理 (华东)", Role.MANAGER, "华东销售部"),
    DemoAccount("wangfang", "王芳 (华东)", Role.SALES_REP, "华东销售部"),
    DemoAccount("liqiang", "李强 (华东)", Role.SALES_REP, "华东销售部"),
    DemoAccount("chenjing", "陈静 (华南)", Role.SALES_REP, "华南销售部"),
    DemoAccount("marketer", "赵敏 (市场)", Role.MARKETER, None),
    DemoAccount("service", "孙丽 (客服)", Role.SERVICE_AGENT, None),
    DemoAccount("analyst", "吴磊 (分析)", Role.ANALYST, None),
    DemoAccount("auditor", "郑审计", Role.AUDITOR, None),
]


@dataclass
class DemoResult:
    customers: int = 0
    orders: int = 0
    order_lines: int = 0
    interactions: int = 0
    batches_skipped: int = 0


def demo_accounts_ensure() -> dict[str, User]:
    """Create the demo users and teams that do not exist yet; returns them by username."""
    users: dict[str, User] = {}
    teams: dict[str, Team] = {}
    for account in DEMO_ACCOUNTS:
        existing = User.objects.filter(username=account.username).first()
        if existing is not None:
            users[account.username] = existing
            continue
        team = None
        if account.team:
            team = teams.get(account.team) or team_get_or_create(name=account.team)
            teams[account.team] = team
        users[account.username] = user_create(
            username=account.username,
            password=DEMO_PASSWORD,
            role=account.role,
            team=team,
            display_name=account.display_name,
        )
    return users


def products_ensure(seed: int) -> list[Product]:
    """The catalogue: each product priced around its category's base with its own tier."""
    rng = random.Random(f"{seed}-products")
    products: list[Product] = []
    for category_index, (category, base, names) in enumerate(data.CATALOGUE):
        for product_index, name in enumerate(names):
            sku = f"P{category_index + 1:02d}{product_index + 1:03d}"
            tier = 0.6 + 1.2 * product_index / max(len(names) - 1, 1)
            price = Decimal(str(round(base * tier * rng.uniform(0.9, 1.1)))) - Decimal("0.10")
            product = Product.objects.filter(sku=sku).first()
            if product is None:
                product = Product.objects.create(sku=sku, name=name, category=category, price=price, currency="CNY")
            products.append(product)
    return products


class _Writer:
    """Inserts rows in bulk: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"

    def when(self, value: dt.datetime | None) -> Any:
        if value is None or self.postgres:
            return value
        # Every value here is already UTC: drop the "+00:00" instead of converting.
        return value.isoformat(" ")[:-6]

    def day(self, value: dt.date | None) -> Any:
        return value if value is None or self.postgres else value.isoformat()

    def uid(self, value: uuid.UUID) -> Any:
        return value if self.postgres else value.hex

    def money(self, value: Decimal) -> Any:
        return value if self.postgres else str(value)

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if self.postgres:
                raw = cursor.cursor
                with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def next_id(self, table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
            return int(cursor.fetchone()[0])

    def sync_sequence(self, table: str) -> None:
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}"
                )


class _Weighted:
    """A weighted choice with its cumulative weights computed once (what random.choices redoes per call)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total, 0, len(self.items) - 1)]


CUSTOMER_TYPES = _Weighted(["smb", "enterprise", "distributor", "partner"], [6, 2, 1.5, 0.5])
EMAIL_DOMAINS = _Weighted([d for d, _ in data.EMAIL_DOMAINS], [n for _, n in data.EMAIL_DOMAINS])
SOURCE_CHANNELS = _Weighted(
    ["website", "ecommerce", "social", "app", "event", "store", "phone", "referral"], [14, 30, 12, 10, 8, 12, 6, 8]
)
INTERACTION_KINDS = ["call", "chat", "email", "visit", "meeting", "sms", "note", "feedback"]
PERSON_CONTACTS = _Weighted(INTERACTION_KINDS, [35, 20, 10, 2, 1, 5, 10, 7])
ORGANISATION_CONTACTS = _Weighted(INTERACTION_KINDS, [35, 20, 10, 8, 5, 5, 10, 7])


class _BatchGenerator:
    """Builds the rows of one batch of customers from one random stream."""

    def __init__(
        self,
        *,
        seed: int,
        batch: int,
        users: dict[str, User],
        products: list[Product],
        tags: dict[str, int],
        end: dt.datetime,
        writer: _Writer,
    ) -> None:
        self.rng = random.Random(f"{seed}-{batch}")
        self.seed = seed
        self.batch = batch
        self.users = users
        self.end = end
        self.start = end - dt.timedelta(weeks=WEEKS)
        self.writer = writer
        self.tags = tags
        self.by_category: dict[str, list[Product]] = {}
        for product in products:
            self.by_category.setdefault(product.category, []).append(product)
        self.categories = list(self.by_category)
        self.surnames = _Weighted([s for s, _ in data.SURNAMES], [w for _, w in data.SURNAMES])
        self.places = _Weighted(data.PLACES, [p[4] for p in data.PLACES])
        self.east_reps = [users["wangfang"], users["liqiang"]]
        self.south_rep = users["chenjing"]

    # ---- people and organisations ----

    def person_name(self) -> tuple[str, str, str, str, bool]:
        """(display, family, given, gender, is_chinese)."""
        rng = self.rng
        gender = rng.choice(["female", "male"])
        if rng.random() < 0.86:
            family = self.surnames.pick(rng)
            pool = data.GIVEN_FEMALE if gender == "female" else data.GIVEN_MALE
            given = rng.choice(pool)
            if rng.random() < 0.7:
                given += rng.choice(pool + data.GIVEN_NEUTRAL)
            return family + given, family, given, gender, True
        first = rng.choice(data.ENGLISH_FIRST_FEMALE if gender == "female" else data.ENGLISH_FIRST_MALE)
        last = rng.choice(data.ENGLISH_LAST)
        return f"{first} {last}", last, first, gender, False

    def company(self, city: str) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < 0.05:
            return rng.choice(data.ENGLISH_COMPANIES), "wholesale"
        trade, industry = rng.choice(data.COMPANY_TRADES)
        prefix = city.removesuffix("市") if rng.random() < 0.6 else ""
        return f"{prefix}{rng.choice(data.COMPANY_WORDS)}{trade}{rng.choice(data.COMPANY_SUFFIXES)}", industry

    def mobile(self) -> str:
        return self.rng.choice(data.MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def landline(self, city: str) -> str | None:
        code = AREA_CODES.get(city)
        if code is None:
            return None
        digits = 8 if len(code) <= 3 else 7
        local = str(self.rng.randint(2, 8)) + "".join(str(self.rng.randrange(10)) for _ in range(digits - 1))
        number = phonenumbers.parse(f"0{code}{local}", "CN")
        if not phonenumbers.is_valid_number(number):
            return None
        return f"0{code}-{local}"

    def email_local(self, display: str, chinese: bool, birth_year: int | None) -> str:
        rng = self.rng
        if chinese:
            base = pinyin_readings(display)[-1] if rng.random() < 0.6 else pinyin_initials(display)[-1]
        else:
            base = display.lower().replace(" ", rng.choice([".", "_", ""]))
        suffix = str(birth_year) if birth_year and rng.random() < 0.4 else str(rng.randrange(1, 9999))
        return f"{base}{suffix}" if rng.random() < 0.8 else base

    # ---- purchases ----

    def purchase_times(self, born_week: float) -> list[float]:
        """Weeks (from the start) of each purchase: Poisson while alive, dropout after each purchase."""
        rng = self.rng
        rate = rng.gammavariate(0.9, 0.085)  # purchases a week while active
        dropout = rng.betavariate(1.2, 4.0)
        times = [born_week]
        now = born_week
        while rate > 0:
            if rng.random() < dropout:
                break
            while True:
                now += rng.expovariate(rate * SEASON_MAX)
                if now >= WEEKS:
                    break
                month = (self.start + dt.timedelta(weeks=now)).month
                if rng.random() < SEASON[month] / SEASON_MAX:
                    break
            if now >= WEEKS:
                break
            times.append(now)
        return times

    def acquisition_week(self) -> float:
        """When the customer first bought: more recent is likelier (a growing business), and seasonal."""
        while True:
            week = WEEKS * self.rng.random() ** 0.8
            month = (self.start + dt.timedelta(weeks=week)).month
            if self.rng.random() < SEASON[month] / SEASON_MAX:
                return week

    def basket(self, preferences: _Weighted, spend: float) -> list[tuple[Product, int]]:
        rng = self.rng
        category = preferences.pick(rng)
        chosen = [category]
        for complement, probability in data.COMPLEMENTS.get(category, []):
            if rng.random() < probability:
                chosen.append(complement)
        if rng.random() < 0.15:
            chosen.append(preferences.pick(rng))
        lines: dict[int, tuple[Product, int]] = {}
        for name in chosen:
            items = self.by_category[name]
            # Big spenders lean to the dearer end of each category.
            position = min(len(items) - 1, int(len(items) * min(rng.random() * spend, 0.999)))
            product = items[position]
            quantity = 1 + (rng.random() < 0.25) + (rng.random() < 0.08 * spend)
            previous = lines.get(product.pk)
            lines[product.pk] = (product, quantity + (previous[1] if previous else 0))
        return list(lines.values())

    # ---- one batch ----

    def build(self, first_customer_id: int, count: int) -> dict[str, list[tuple[Any, ...]]]:
        """Rows of one batch; order and line ids are 0-based here and shifted by `_shift_ids` when written."""
        rng, w = self.rng, self.writer
        rows: dict[str, list[tuple[Any, ...]]] = {
            key: []
            for key in (
                "customers",
                "points",
                "addresses",
                "tags",
                "orders",
                "lines",
                "returns",
                "interactions",
                "fts",
            )
        }
        order_id, line_id = 0, 0
        batch_label = f"demo-{self.seed}"
        for offset in range(count):
            customer_id = first_customer_id + offset
            province, city, district, region, _ = self.places.pick(rng)
            owner = self.south_rep if region == "华南" else rng.choice(self.east_reps)
            organisation = rng.random() < 0.1
            birthday: dt.date | None = None
            phones: list[str] = []
            emails: list[str] = []
            handles: list[str] = []
            points: list[tuple[str, str, str]] = []  # kind, raw, normalised
            if organisation:
                display, industry = self.company(city)
                family = given = gender = ""
                company = ""
                chinese = True
                customer_type = CUSTOMER_TYPES.pick(rng)
                landline = self.landline(city)
                raw_phone = landline or self.mobile()
                points.append(("phone" if landline else "mobile", raw_phone, _e164(raw_phone)))
                domain = f"{pinyin_initials(display)[0][:6] or 'corp'}{customer_id % 97}.com.cn"
                points.append(("email", f"info@{domain}", f"info@{domain}"))
            else:
                display, family, given, gender, chinese = self.person_name()
                industry = ""
                customer_type = "consumer"
                company = self.company(city)[0] if rng.random() < 0.2 else ""
                if rng.random() < 0.7:
                    age_days = int(rng.uniform(18, 70) * 365.25)
                    birthday = (self.end - dt.timedelta(days=age_days)).date()
                raw = self.mobile()
                shown = rng.choice(
                    [raw, f"{raw[:3]}-{raw[3:7]}-{raw[7:]}", f"+86 {raw}", f"{raw[:3]} {raw[3:7]} {raw[7:]}"]
                )
                points.append(("mobile", shown, "+86" + raw))
                if rng.random() < 0.6:
                    local = self.email_local(display, chinese, birthday.year if birthday else None)
                    domain = EMAIL_DOMAINS.pick(rng)
                    email = f"{local}@{domain}"
                    points.append(("email", email, email.lower()))
                if rng.random() < 0.4:
                    handle = "wxid_" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))
                    points.append(("wechat", handle, handle))
            for kind, _, value in points:
                (phones if kind in ("mobile", "phone") else emails if kind == "email" else handles).append(value)

            born_week = self.acquisition_week()
            buys = rng.random() < 0.78
            times = self.purchase_times(born_week) if buys else []
            created = self.start + dt.timedelta(weeks=born_week, days=-rng.uniform(0, 30))
            created = max(created, self.start - dt.timedelta(days=30))
            died_long_ago = bool(times) and (WEEKS - times[-1]) > 40
            if not times:
                stage = "lead" if rng.random() < 0.6 else "prospect"
            else:
                stage = "churned" if died_long_ago else "customer"
            channel = SOURCE_CHANNELS.pick(rng)
            campaign = rng.choice(data.CAMPAIGNS) if rng.random() < 0.3 else ""
            preferences = _Weighted(self.categories, [rng.random() ** 3 for _ in self.categories])
            spend = rng.gammavariate(3.0, 1 / 3.0)
            updated = created

            # orders, lines, returns
            for week in times:
                placed = self.start + dt.timedelta(weeks=week, seconds=rng.randrange(8 * 3600, 22 * 3600))
                if placed > self.end:
                    placed = self.end - dt.timedelta(hours=1)
                basket = self.basket(preferences, spend)
                subtotal = Decimal("0.00")
                order_lines: list[tuple[int, Product, int, Decimal]] = []
                for product, quantity in basket:
                    total = product.price * quantity
                    subtotal += total
                    order_lines.append((line_id, product, quantity, total))
                    line_id += 1
                discount = (
                    (subtotal * Decimal("0.1")).quantize(Decimal("0.01")) if rng.random() < 0.15 else Decimal("0.00")
                )
                age_days = (self.end - placed).days
                status = "cancelled" if rng.random() < 0.03 else ("shipped" if age_days < 5 else "completed")
                due: dt.date | None = None
                if organisation and rng.random() < 0.5:
                    due = (placed + dt.timedelta(days=30)).date()
                    if due >= self.end.date():
                        payment = "unpaid"
                    else:
                        payment = "overdue" if rng.random() < 0.12 * spend else "paid"
                else:
                    payment = "paid"
                returned_all = True
                for this_line_id, product, quantity, total in order_lines:
                    rows["lines"].append(
                        (this_line_id, order_id, product.pk, quantity, w.money(product.price), w.money(total))
                    )
                    if status == "completed" and rng.random() < 0.04:
                        back = self.rng.randint(1, quantity)
                        when = min(placed + dt.timedelta(days=rng.randint(2, 14)), self.end)
                        rows["returns"].append(
                            (
                                w.when(when),
                                w.when(when),
                                order_id,
                                this_line_id,
                                back,
                                w.money(product.price * back),
                                rng.choice(RETURN_REASONS),
                                w.when(when),
                            )
                        )
                        returned_all = returned_all and back == quantity
                    else:
                        returned_all = False
                if returned_all and payment == "paid":
                    payment = "refunded"
                order_channel = {
                    "website": "website",
                    "ecommerce": "ecommerce",
                    "app": "app",
                    "store": "store",
                    "phone": "phone",
                }.get(channel, "sales" if organisation else "ecommerce")
                rows["orders"].append(
                    (
                        order_id,
                        w.uid(_uuid(rng)),
                        w.when(placed),
                        w.when(placed),
                        customer_id,
                        f"D{self.seed % 1000:03d}{self.batch:05d}{order_id:07d}",
                        order_channel,
                        status,
                        w.when(placed),
                        "CNY",
                        w.money(subtotal),
                        w.money(discount),
                        w.money(subtotal - discount),
                        payment,
                        w.day(due),
                        owner.pk if organisation else None,
                        "demo",
                        "",
                    )
                )
                order_id += 1
                updated = max(updated, placed)

            # interactions
            contact_count = min(12, _poisson(rng, 0.8 + 0.5 * len(times)))
            for _ in range(contact_count):
                when = created + (self.end - created) * rng.random()
                kind = (ORGANISATION_CONTACTS if organisation else PERSON_CONTACTS).pick(rng)
                subject = rng.choice(
                    {
                        "call": data.CALL_SUBJECTS,
                        "visit": data.VISIT_SUBJECTS,
                        "meeting": data.VISIT_SUBJECTS,
                        "note": data.NOTE_SUBJECTS,
                        "feedback": data.FEEDBACK_SUBJECTS,
                    }.get(kind, data.CALL_SUBJECTS)
                )
                direction = (
                    "internal"
                    if kind == "note"
                    else ("inbound" if kind == "feedback" or rng.random() < 0.3 else "outbound")
                )
                satisfaction = min(5, max(1, round(rng.gauss(4.1, 0.9)))) if kind == "feedback" else None
                rows["interactions"].append(
                    (
                        w.uid(_uuid(rng)),
                        w.when(when),
                        w.when(when),
                        customer_id,
                        kind,
                        direction,
                        "wechat" if kind == "chat" else "",
                        subject,
                        "",
                        w.when(when),
                        owner.pk,
                        "",
                        satisfaction,
                    )
                )
                updated = max(updated, when)

            document = build_document(
                names=[display, family + given], texts=[company], phones=phones, emails=emails, handles=handles
            )
            rows["customers"].append(
                (
                    customer_id,
                    w.uid(_uuid(rng)),
                    w.when(created),
                    w.when(min(updated, self.end)),
                    "organization" if organisation else "person",
                    None,
                    display,
                    family,
                    given,
                    company,
                    "",
                    gender,
                    protect("birthday", birthday.isoformat(), context="customers_customer.birthday")
                    if birthday
                    else None,
                    industry,
                    region,
                    customer_type,
                    stage,
                    channel,
                    campaign,
                    owner.pk,
                    owner.team_id,
                    "{}",
                    "demo",
                    f"{self.seed}-{customer_id}",
                    batch_label,
                    None,
                    document,
                    "",
                    "",
                    "",
                )
            )
            rows["fts"].append(
                (customer_id, document, scope_tokens(owner_id=owner.pk, team_id=owner.team_id, archived=False))
            )
            for index, (kind, raw, value) in enumerate(points):
                first_of_kind = all(points[j][0] != kind for j in range(index))
                rows["points"].append(
                    (
                        w.when(created),
                        w.when(created),
                        customer_id,
                        kind,
                        protect("contact", raw, context="customers_contactpoint.raw_value"),
                        protect("contact", value, context="customers_contactpoint.value"),
                        contact_value_index(kind, value),
                        "",
                        first_of_kind,
                        rng.random() < 0.3,
                        "demo",
                    )
                )
            if rng.random() < 0.8:
                street = f"{rng.choice(data.STREETS)}{rng.randint(1, 999)}号"
                raw_address = f"{province}{city if city != province else ''}{district}{street}"
                rows["addresses"].append(
                    (
                        w.when(created),
                        w.when(created),
                        customer_id,
                        "",
                        "CN",
                        province,
                        city,
                        district,
                        protect("address", street, context="customers_address.street"),
                        "",
                        protect("address", raw_address, context="customers_address.raw"),
                        True,
                    )
                )
            if rng.random() < 0.3:
                for tag in rng.sample(DEMO_TAGS, k=rng.randint(1, 2)):
                    rows["tags"].append((customer_id, self.tags[tag]))
        return rows


def _e164(raw: str) -> str:
    return str(phonenumbers.format_number(phonenumbers.parse(raw, "CN"), phonenumbers.PhoneNumberFormat.E164))


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


COLUMNS = {
    "customers": (
        "customers_customer",
        (
            "id",
            "public_id",
            "created_at",
            "updated_at",
            "kind",
            "parent_id",
            "display_name",
            "family_name",
            "given_name",
            "company_name",
            "job_title",
            "gender",
            "birthday",
            "industry",
            "region",
            "customer_type",
            "lifecycle_stage",
            "source_channel",
            "source_campaign",
            "owner_id",
            "team_id",
            "attributes",
            "source_system",
            "external_id",
            "import_batch",
            "archived_at",
            "search_document",
            "id_number",
            "id_number_index",
            "bank_account",
        ),
    ),
    "points": (
        "customers_contactpoint",
        (
            "created_at",
            "updated_at",
            "customer_id",
            "kind",
            "raw_value",
            "value",
            "value_index",
            "label",
            "is_primary",
            "verified",
            "source",
        ),
    ),
    "addresses": (
        "customers_address",
        (
            "created_at",
            "updated_at",
            "customer_id",
            "label",
            "country",
            "province",
            "city",
            "district",
            "street",
            "postal_code",
            "raw",
            "is_primary",
        ),
    ),
    "tags": ("customers_customer_tags", ("customer_id", "tag_id")),
    "orders": (
        "commerce_order",
        (
            "id",
            "public_id",
            "created_at",
            "updated_at",
            "customer_id",
            "number",
            "channel",
            "status",
            "placed_at",
            "currency",
            "subtotal",
            "discount",
            "total",
            "payment_status",
            "payment_due",
            "created_by_id",
            "source_system",
            "external_id",
        ),
    ),
    "lines": ("commerce_orderline", ("id", "order_id", "product_id", "quantity", "unit_price", "line_total")),
    "returns": (
        "commerce_orderreturn",
        ("created_at", "updated_at", "order_id", "line_id", "quantity", "amount", "reason", "returned_at"),
    ),
    "interactions": (
        "interactions_interaction",
        (
            "public_id",
            "created_at",
            "updated_at",
            "customer_id",
            "kind",
            "direction",
            "channel",
            "subject",
            "body",
            "occurred_at",
            "user_id",
            "outcome",
            "satisfaction",
        ),
    ),
}


def _shift_ids(rows: dict[str, list[tuple[Any, ...]]], order_offset: int, line_offset: int) -> None:
    """Move a batch's 0-based order and line ids to the ids free in the database."""
    rows["orders"] = [(row[0] + order_offset, *row[1:]) for row in rows["orders"]]
    rows["lines"] = [(row[0] + line_offset, row[1] + order_offset, *row[2:]) for row in rows["lines"]]
    rows["returns"] = [(*row[:2], row[2] + order_offset, row[3] + line_offset, *row[4:]) for row in rows["returns"]]


@dataclass(frozen=True)
class _Plan:
    seed: int
    end: dt.datetime
    users: dict[str, User]
    products: list[Product]
    tags: dict[str, int]


_plan: _Plan | None = None  # set before worker processes fork; read by _build_batch in each of them


def _build_batch(batch: int, first_customer: int, count: int) -> dict[str, list[tuple[Any, ...]]]:
    assert _plan is not None
    generator = _BatchGenerator(
        seed=_plan.seed,
        batch=batch,
        users=_plan.users,
        products=_plan.products,
        tags=_plan.tags,
        end=_plan.end,
        writer=_Writer(),
    )
    return generator.build(first_customer, count)


def _generated(
    jobs: list[tuple[int, int, int]], workers: int
) -> Iterator[tuple[tuple[int, int, int], dict[str, list[tuple[Any, ...]]]]]:
    """Yield each batch's rows in order; with workers > 1 the next batches are generated while one is written."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, _build_batch(*job)
        return
    if not connection.in_atomic_block:
        # Forked workers never touch the database, but a connection they do not inherit cannot be misused.
        connection.close()
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: collections.deque[tuple[tuple[int, int, int], concurrent.futures.Future[Any]]] = collections.deque()
        queue = iter(jobs)
        for job in itertools.islice(queue, workers * 2):
            pending.append((job, pool.submit(_build_batch, *job)))
        while pending:
            job, future = pending.popleft()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(_build_batch, *following)))
            yield job, future.result()


def demo_load(
    *,
    customers: int,
    seed: int,
    end: dt.datetime = DEMO_END,
    batch_size: int = 5000,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Load `customers` demo customers for `seed`; batches already loaded for this seed are skipped.

    With `workers` > 1, batches are generated in that many forked processes while this one writes.
    """
    global _plan
    end = end.astimezone(dt.UTC)  # the SQLite writer relies on every generated time being UTC
    users = demo_accounts_ensure()
    products = products_ensure(seed)
    tags = {name: Tag.objects.get_or_create(name=name)[0].pk for name in DEMO_TAGS}
    writer = _Writer()
    result = DemoResult()
    done = set(
        AuditRecord.objects.filter(event=AuditEvent.DEMO_LOADED, target_id__startswith=f"{seed}-batch-").values_list(
            "target_id", flat=True
        )
    )
    next_customer = writer.next_id("customers_customer")
    jobs: list[tuple[int, int, int]] = []
    for batch in range(math.ceil(customers / batch_size)):
        count = min(batch_size, customers - batch * batch_size)
        if f"{seed}-batch-{batch}" in done:
            result.batches_skipped += 1
            if progress:
                progress(count)
            continue
        jobs.append((batch, next_customer, count))
        next_customer += count
    _plan = _Plan(seed=seed, end=end, users=users, products=products, tags=tags)
    for (batch, first_customer, count), rows in _generated(jobs, workers):
        with transaction.atomic():
            _shift_ids(rows, writer.next_id("commerce_order"), writer.next_id("commerce_orderline"))
            for key, (table, columns) in COLUMNS.items():
                writer.write(table, columns, rows[key])
            if not writer.postgres:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT OR REPLACE INTO {FTS_TABLE}(rowid, document, scope) VALUES (%s, %s, %s)", rows["fts"]
                    )
            for table in ("customers_customer", "commerce_order", "commerce_orderline"):
                writer.sync_sequence(table)
            # One audit record per batch: the customers carry import_batch=demo-<seed> as their provenance,
            # and the record marks the batch as done so that a re-run skips it.
            audit_record(
                event=AuditEvent.DEMO_LOADED,
                actor=None,
                target_type="demo_batch",
                target_id=f"{seed}-batch-{batch}",
                extra={"first_customer_id": first_customer, "customers": count, "orders": len(rows["orders"])},
            )
        result.customers += count
        result.orders += len(rows["orders"])
        result.order_lines += len(rows["lines"])
        result.interactions += len(rows["interactions"])
        if progress:
            progress(count)
    return result
