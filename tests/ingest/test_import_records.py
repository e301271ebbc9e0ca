"""Imports of products, orders with lines and interactions, through the same job, report and ranges as customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from kehu.accounts.models import User
from kehu.commerce.models import Order, Product
from kehu.commerce.services import product_create
from kehu.core.jobs import job_run
from kehu.core.models import Job, JobState
from kehu.customers.services import ContactPointInput, customer_create
from kehu.ingest.files import table_open, upload_plain, upload_store
from kehu.ingest.mapping import auto_map
from kehu.ingest.models import ImportIssue
from kehu.ingest.services import import_start
from kehu.interactions.models import Interaction
from tests.conftest import make_user


def run(user: User, path: Path, import_type: str, **options: Any) -> Job:
    batch_size = options.pop("batch_size", None)
    with path.open("rb") as source:
        upload = upload_store(actor=user, name=path.name, source=source)
    with upload_plain(upload) as plain, table_open(plain, upload.file_format) as table:
        mapping = auto_map(table.headers, import_type)
    job = import_start(actor=user, upload=upload, mapping=mapping, import_type=import_type, **options)
    if batch_size:
        job.params["batch_size"] = batch_size
        job.save(update_fields=["params"])
    job_run(job.pk)
    job.refresh_from_db()
    return job


def test_products_with_prices_as_typed(tmp_path: Path, db: None) -> None:
    admin = make_user("boss", "admin")
    path = tmp_path / "products.csv"
    path.write_text(
        '商品编码,商品名称,单价,分类\nJK-01,运动外套,"¥1,299.00",服装\nSH-02,跑鞋,599元,鞋类\nBAD-1,坏价格,abc,其他\n',
        encoding="utf-8",
    )
    job = run(admin, path, "products")
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.counts["created"] == 2
    assert job.counts["failed"] == 1
    assert Product.objects.get(sku="JK-01").price == Decimal("1299.00")
    issue = ImportIssue.objects.get(job=job)
    assert (issue.row_number, issue.column) == (4, "单价")
    changed = tmp_path / "products-2.csv"
    changed.write_text("商品编码,商品名称,单价\nJK-01,运动外套（新款）,1399\n", encoding="utf-8")
    again = run(admin, changed, "products", policy="overwrite")
    assert again.counts["updated"] == 1
    assert Product.objects.get(sku="JK-01").name == "运动外套（新款）"


def test_orders_with_lines_grouped_by_order_number(alice: User, tmp_path: Path) -> None:
    admin = make_user("boss", "admin")
    product_create(actor=admin, sku="JK-01", name="运动外套", price=Decimal("599.00"))
    product_create(actor=admin, sku="SH-02", name="跑鞋", price=Decimal("399.00"))
    customer_create(
        actor=alice, values={"display_name": "张三"}, contact_points=[ContactPointInput("mobile", "13812345678")]
    )
    path = tmp_path / "orders.csv"
    path.write_text(
        "订单号,客户手机,下单日期,商品编码,数量,单价\n"
        "SO-1,13812345678,2026/3/5,JK-01,2,599\n"
        "SO-1,13812345678,2026/3/5,SH-02,1,\n"
        "SO-2,13812345678,2026年4月1日,SH-02,3,350\n"
        "SO-3,13812345678,2026-05-01,NOPE,1,1\n"
        "SO-3,13812345678,2026-05-01,JK-01,1,1\n",
        encoding="utf-8",
    )
    job = run(alice, path, "orders", batch_size=2)  # SO-1's two lines stay in one batch
    assert job.state == JobState.SUCCEEDED, job.error
    one = Order.objects.get(number="SO-1")
    assert one.lines.count() == 2
    assert one.total == Decimal("1597.00")
    assert one.placed_at.date() == dt.date(2026, 3, 5)
    assert Order.objects.get(number="SO-2").total == Decimal("1050.00")
    assert not Order.objects.filter(number="SO-3").exists()  # one bad line refuses the whole order
    assert set(ImportIssue.objects.filter(job=job).values_list("row_number", flat=True)) == {5, 6}
    assert "import the products first" in ImportIssue.objects.filter(job=job, row_number=5).get().message
    again = run(alice, path, "orders")
    assert again.counts["already_imported"] == 5
    assert Order.objects.count() == 2


def test_interactions_on_the_users_own_customers(alice: User, charlie: User, tmp_path: Path) -> None:
    zhang = customer_create(
        actor=alice, values={"display_name": "张三"}, contact_points=[ContactPointInput("email", "zs@example.com")]
    )
    customer_create(
        actor=charlie, values={"display_name": "王五"}, contact_points=[ContactPointInput("mobile", "13900001111")]
    )
    path = tmp_path / "calls.csv"
    path.write_text(
        "客户邮箱,客户手机,方式,时间,内容\n"
        "zs@example.com,,电话,2026-11-01,询问报价\n"
        "ZS@Example.com,,拜访,2026/11/02,上门演示\n"
        ",13900001111,电话,2026-11-03,不是我的客户\n"
        "zs@example.com,,传真,2026-11-04,未知方式\n",
        encoding="utf-8",
    )
    job = run(alice, path, "interactions")
    assert job.counts["created"] == 2
    assert sorted(Interaction.objects.filter(customer=zhang).values_list("kind", flat=True)) == ["call", "visit"]
    issues = dict(ImportIssue.objects.filter(job=job).values_list("row_number", "message"))
    assert "no customer of yours" in issues[4]  # charlie's customer is out of alice's scope
    assert "not a kind of contact" in issues[5]
