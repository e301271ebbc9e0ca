"""Imports of real files: a GBK CSV from Excel, an XLSX with a merged two-row header, a CSV with 5% broken rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from kehu.accounts.models import User
from kehu.core.jobs import job_run
from kehu.core.models import Job, JobState
from kehu.customers.models import Address, ContactPoint, Customer, LifecycleStage, SourceChannel
from kehu.customers.services import ContactPointInput, contact_value_index, customer_create
from kehu.ingest.files import upload_store
from kehu.ingest.mapping import auto_map
from kehu.ingest.models import ImportIssue
from kehu.ingest.services import import_start, report_csv, report_xlsx
from tests.fixtures.make_import_fixtures import BROKEN

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(autouse=True, params=["here", "second process"])
def _prepared_where(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with the rows prepared in the job's process and in a second one (large imports)."""
    if request.param == "second process":
        monkeypatch.setattr("kehu.ingest.runner.PARALLEL_FROM", 0)


def run_import(user: User, path: Path, mapping: dict[str, str] | None = None, **options: Any) -> Job:
    """Upload and import a file as the page does, running the job here instead of in the worker."""
    with path.open("rb") as source:
        upload = upload_store(actor=user, name=path.name, source=source)
    from kehu.ingest.files import table_open, upload_plain

    with upload_plain(upload) as plain, table_open(plain, upload.file_format) as table:
        guessed = auto_map(table.headers)
    job = import_start(actor=user, upload=upload, mapping={**guessed, **(mapping or {})}, **options)
    job_run(job.pk)
    job.refresh_from_db()
    return job


def phone_owner(number: str) -> Customer | None:
    point = ContactPoint.objects.filter(value_index=contact_value_index("mobile", number)).first()
    return point.customer if point else None


def test_a_gbk_csv_from_excel_with_chinese_headers(alice: User) -> None:
    job = run_import(alice, FIXTURES / "customers_excel_gbk.csv")
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.counts["created"] == 20
    assert job.counts["failed"] == 0
    assert job.progress_done == job.progress_total == 20
    first = phone_owner("+8613120240001")
    assert first is not None
    assert first.display_name == "陈霞"
    mobile = first.contact_points.get(kind="mobile")
    assert mobile.value == "+8613120240001"
    assert mobile.raw_value == "131-2024-0001"  # the raw value is kept beside the normalised one
    assert first.birthday == dt.date(1971, 2, 2)
    assert first.gender == "male"
    assert first.source_channel == SourceChannel.EVENT  # 展会
    assert first.owner == alice
    assert first.import_batch == f"job:{job.public_id}"
    address = first.addresses.get()
    assert (address.province, address.city, address.district) == ("北京市", "北京市", "朝阳区")
    # 1972年3月3日, +86 with spaces, 0086, full-width digits, a landline, two tags in one cell:
    second = Customer.objects.get(contact_points__value_index=contact_value_index("mobile", "+8613720240002"))
    assert second.birthday == dt.date(1972, 3, 3)
    assert phone_owner("+8613620240003") is not None
    assert Customer.objects.filter(tags__name="重点客户").count() == 4  # rows 5, 10, 15, 20
    fifth = Customer.objects.filter(tags__name="重点客户").first()
    assert fifth is not None
    assert sorted(fifth.tags.values_list("name", flat=True)) == ["华南", "重点客户"]
    landlines = [point.value for point in ContactPoint.objects.filter(kind="phone")]  # the 电话 column
    assert len(landlines) == 5
    assert all(value.startswith("+86755") for value in landlines)
    full_width = [point for point in ContactPoint.objects.all() if point.raw_value.startswith("１")]
    assert full_width
    assert full_width[0].value.startswith("+861")


def test_an_xlsx_with_merged_header_cells_and_excel_dates(alice: User) -> None:
    job = run_import(alice, FIXTURES / "customers_merged_header.xlsx")
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.params["headers"] == ["姓名", "公司", "手机", "邮箱", "地址", "生日"]
    assert job.params["mapping"] == {
        "姓名": "display_name",
        "公司": "company_name",
        "手机": "mobile",
        "邮箱": "email",
        "地址": "address",
        "生日": "birthday",
    }
    assert job.counts["created"] == 12
    births = {customer.birthday for customer in Customer.objects.all()}
    assert dt.date(1981, 1, 4) in births  # a date cell
    assert dt.date(1992, 12, 15) in births  # the bare serial number in the last row
    # Phones typed as numbers in Excel come back without ".0" and are normalised.
    assert ContactPoint.objects.filter(kind="mobile").count() == 12


def test_five_percent_broken_rows_are_named_and_every_good_row_is_in(alice: User) -> None:
    job = run_import(alice, FIXTURES / "customers_5pct_broken.csv")
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.counts["created"] == 190
    assert job.counts["failed"] == 10
    issues = {issue.row_number: issue for issue in ImportIssue.objects.filter(job=job)}
    assert set(issues) == set(BROKEN)
    for row, column in BROKEN.items():
        assert issues[row].column == column, (row, issues[row].column, issues[row].message)
    assert "1381234567 has 10 digits; a mainland mobile has 11" in issues[12].message
    assert "火星省 is not a province of China" in issues[66].message
    assert "not a real date" in issues[47].message
    # Every good row is in the database, found by its own phone.
    with (FIXTURES / "customers_5pct_broken.csv").open(encoding="utf-8-sig", newline="") as handle:
        good = [record for number, record in enumerate(csv.DictReader(handle), start=2) if number not in BROKEN]
    assert len(good) == 190
    for record in good:
        owner = phone_owner("+86" + record["手机"])
        assert owner is not None
        assert owner.display_name == record["姓名"]
    # The report: one line per refused row, the reason in front of the row as it was, ready to fix.
    lines = list(csv.reader(io.StringIO(report_csv(job).decode("utf-8-sig"))))
    assert lines[0] == ["Row", "Column", "Reason", "姓名", "手机", "邮箱", "省份", "详细地址", "生日"]
    assert [int(line[0]) for line in lines[1:]] == sorted(BROKEN)
    assert lines[1][1] == "手机"
    assert lines[1][4] == "1381234567"
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(report_xlsx(job)))
    rows = workbook.get_sheet_by_index(0).to_python()
    assert len(rows) == 11
    assert rows[1][4] == "1381234567"


def test_a_second_run_of_the_same_file_imports_nothing_twice(alice: User) -> None:
    first = run_import(alice, FIXTURES / "customers_5pct_broken.csv")
    again = run_import(alice, FIXTURES / "customers_5pct_broken.csv")
    assert again.state == JobState.SUCCEEDED
    assert again.counts["already_imported"] == 200
    assert again.counts.get("created", 0) == 0
    assert Customer.objects.count() == first.counts["created"] == 190


def test_a_changed_file_matches_on_phone_and_email_instead_of_duplicating(alice: User, tmp_path: Path) -> None:
    run_import(alice, FIXTURES / "customers_excel_gbk.csv")
    before = Customer.objects.count()
    changed = tmp_path / "changed.csv"
    changed.write_text(
        "姓名,手机,邮箱,职位\n陈霞,13120240001,,经理\n新客户,13999990000,,\n另一个名字,,user2@example.cn,总监\n",
        encoding="utf-8",
    )
    job = run_import(alice, changed)
    assert job.counts == {"created": 1, "updated": 2, "unchanged": 0, "failed": 0, "already_imported": 0}
    assert Customer.objects.count() == before + 1
    chen = phone_owner("+8613120240001")
    assert chen is not None
    assert chen.job_title == "经理"
    wu = Customer.objects.get(contact_points__value_index=contact_value_index("email", "user2@example.cn"))
    assert wu.display_name == "吴敏"  # fill blanks: the name was not blank, so it stays
    assert wu.job_title == "总监"


def test_policies_overwrite_and_skip(alice: User, tmp_path: Path) -> None:
    customer = customer_create(
        actor=alice,
        values={"display_name": "张三", "job_title": "经理"},
        contact_points=[ContactPointInput(kind="mobile", value="13812345678")],
    )
    path = tmp_path / "rows.csv"
    path.write_text("姓名,手机,职位\n张三丰,13812345678,总经理\n", encoding="utf-8")
    skipped = run_import(alice, path, policy="skip")
    assert skipped.counts["unchanged"] == 1
    customer.refresh_from_db()
    assert customer.job_title == "经理"
    path.write_text("姓名,手机,职位\n张三丰,138 1234 5678,总经理\n", encoding="utf-8")  # another file (hash)
    overwritten = run_import(alice, path, policy="overwrite")
    assert overwritten.counts["updated"] == 1
    customer.refresh_from_db()
    assert (customer.display_name, customer.job_title) == ("张三丰", "总经理")
    assert Customer.objects.count() == 1


def test_a_match_outside_the_users_records_is_refused_not_duplicated(
    alice: User, charlie: User, tmp_path: Path
) -> None:
    customer_create(
        actor=charlie, values={"display_name": "王五"}, contact_points=[ContactPointInput("mobile", "13900001111")]
    )
    path = tmp_path / "rows.csv"
    path.write_text("姓名,手机\n王五,13900001111\n", encoding="utf-8")
    job = run_import(alice, path)
    assert job.counts["failed"] == 1
    assert "may not change" in ImportIssue.objects.get(job=job).message
    assert Customer.objects.count() == 1


def test_rows_of_one_file_that_share_a_phone_make_one_customer(alice: User, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("姓名,手机,邮箱\n李四,13700001111,\n李四,137-0000-1111,lisi@example.com\n", encoding="utf-8")
    job = run_import(alice, path)
    assert job.counts["created"] == 1
    assert job.counts["updated"] == 1
    lisi = Customer.objects.get()
    assert sorted(lisi.contact_points.values_list("kind", flat=True)) == ["email", "mobile"]


def test_a_dry_run_counts_and_reports_but_writes_nothing(alice: User) -> None:
    job = run_import(alice, FIXTURES / "customers_5pct_broken.csv", dry_run=True)
    assert job.state == JobState.SUCCEEDED
    assert job.counts["created"] == 190
    assert job.counts["failed"] == 10
    assert Customer.objects.count() == 0
    assert Address.objects.count() == 0
    assert ImportIssue.objects.filter(job=job).count() >= 10
    real = run_import(alice, FIXTURES / "customers_5pct_broken.csv")  # the dry run did not mark rows as done
    assert real.counts["created"] == 190


def test_stop_at_the_first_bad_row_keeps_the_rows_before_it(alice: User) -> None:
    job = run_import(alice, FIXTURES / "customers_5pct_broken.csv", on_error="stop")
    assert job.state == JobState.FAILED
    assert "stopped at row 12" in job.error
    assert Customer.objects.count() == 10  # rows 2…11
    assert job.counts["created"] == 10
    assert job.counts["failed"] == 1
    resumed = run_import(alice, FIXTURES / "customers_5pct_broken.csv")  # the rest, bad rows skipped this time
    assert resumed.counts["already_imported"] == 10
    assert Customer.objects.count() == 190


def test_every_created_customer_has_its_audit_record(alice: User) -> None:
    from kehu.audit.models import AuditEvent, AuditRecord

    job = run_import(alice, FIXTURES / "customers_excel_gbk.csv")
    records = AuditRecord.objects.filter(event=AuditEvent.CUSTOMER_CREATED)
    assert records.count() == 20
    assert {record.extra["import_batch"] for record in records} == {f"job:{job.public_id}"}
    assert set(records.values_list("customer_id", flat=True)) == set(Customer.objects.values_list("id", flat=True))


def test_wrong_choices_are_refused_before_the_job_starts(alice: User) -> None:
    from kehu.core.errors import ServiceValidationError

    with (FIXTURES / "customers_excel_gbk.csv").open("rb") as source:
        upload = upload_store(actor=alice, name="x.csv", source=source)
    with pytest.raises(ServiceValidationError) as refused:
        import_start(actor=alice, upload=upload, mapping={"手机": "mobile", "电话": "mobile"}, policy="merge")
    reasons = {error.field: str(error.reason) for error in refused.value.errors}
    assert "policy" in reasons
    assert "both fill" in " ".join(str(e.reason) for e in refused.value.errors if e.field == "mapping")
    assert Job.objects.count() == 0


def test_stage_and_source_by_their_chinese_names(alice: User, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("姓名,客户阶段,来源\n赵六,潜在客户,转介绍\n钱七,火星,网站\n", encoding="utf-8")
    job = run_import(alice, path)
    zhao = Customer.objects.get(display_name="赵六")
    assert (zhao.lifecycle_stage, zhao.source_channel) == (LifecycleStage.PROSPECT, SourceChannel.REFERRAL)
    issue = ImportIssue.objects.get(job=job)
    assert (issue.row_number, issue.column) == (3, "客户阶段")
