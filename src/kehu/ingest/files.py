"""Uploaded files: stored encrypted, opened as a header and a stream of rows whatever their format and encoding.

CSV arrives as UTF-8, UTF-8 with a BOM (Excel's "CSV UTF-8") or GB18030/GBK (Excel's plain "CSV" on a Chinese
Windows); the encoding is detected from the bytes and may be overridden. XLSX is read with calamine; a
two-row header whose top row has merged cells ("联系方式" over "手机" and "邮箱") gives one name per column.
Rows are numbered as the spreadsheet shows them (the header is row 1), so a report's "row 1,204" is the row
the user finds in Excel.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from django.conf import settings
from django.utils.translation import gettext as _

from kehu.core.crypto import file_decrypt, file_encrypt
from kehu.core.fields import keyring

SAMPLE_BYTES = 256 * 1024
CHINESE_ENCODINGS = {"gb2312", "gbk", "gb18030", "cp936", "hz"}
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "big5", "utf-16")


class FileProblem(ValueError):
    """The file cannot be read as a table; the message says why, for the user."""


@dataclass
class Table:
    """A file opened for import: its column names and its rows, read lazily, each with its spreadsheet row number."""

    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    encoding: str = ""
    header_rows: int = 1


def file_format(name: str, head: bytes) -> str:
    """csv or xlsx, from the bytes (an XLSX is a zip) rather than the name alone."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(
            _("%(name)s is an old Excel .xls file; save it as .xlsx or CSV and upload again") % {"name": name}
        )
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """The encoding of a CSV from its first bytes: a BOM, else valid UTF-8, else what charset-normalizer finds.

    GBK and GB2312 are read as GB18030, their superset, so a rare character never fails the whole file.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=["gb18030", "big5", "utf_16", "cp1252", "shift_jis"]).best()
    found = best.encoding.replace("_", "-").lower() if best else "gb18030"
    return "gb18030" if found in CHINESE_ENCODINGS else found


def upload_store(*, actor: Any, name: str, source: IO[bytes]) -> Any:
    """Keep an uploaded file, encrypted, and describe it: format, detected encoding, size and SHA-256."""
    from kehu.ingest.models import Upload

    folder = Path(settings.KEHU_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    size = 0
    head = b""
    stored_as = f"{uuid.uuid4().hex}.kehu"
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, dir=str(folder)) as plain:
        for block in iter(lambda: source.read(1024 * 1024), b""):
            size += len(block)
            if size > settings.KEHU_UPLOAD_MAX_BYTES:
                raise FileProblem(
                    _("the file is larger than %(limit)s MB; split it or ask the administrator to raise the limit")
                    % {"limit": settings.KEHU_UPLOAD_MAX_BYTES // (1024 * 1024)}
                )
            if len(head) < SAMPLE_BYTES:
                head += block[: SAMPLE_BYTES - len(head)]
            digest.update(block)
            plain.write(block)
        if size == 0:
            raise FileProblem(_("the file is empty"))
        fmt = file_format(name, head)
        plain.seek(0)
        target_path = folder / stored_as
        with target_path.open("wb") as target:
            target_path.chmod(0o600)
            file_encrypt(keyring(), cast(BinaryIO, plain), target)
    return Upload.objects.create(
        created_by=actor,
        name=Path(name).name[:255],
        size=size,
        sha256=digest.hexdigest(),
        stored_as=stored_as,
        file_format=fmt,
        encoding=detect_encoding(head) if fmt == "csv" else "",
    )


@contextlib.contextmanager
def upload_plain(upload: Any) -> Iterator[Path]:
    """The upload in the clear, in a private scratch file that is removed afterwards."""
    folder = Path(settings.KEHU_UPLOAD_DIR)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".kehu-read-") as scratch:
        plain = Path(scratch) / "file"
        with (folder / upload.stored_as).open("rb") as source, plain.open("wb") as target:
            os.chmod(plain, 0o600)
            file_decrypt(keyring(), source, target)
        yield plain


def upload_delete(upload: Any) -> None:
    (Path(settings.KEHU_UPLOAD_DIR) / upload.stored_as).unlink(missing_ok=True)
    upload.delete()


@contextlib.contextmanager
def table_open(path: Path, fmt: str, *, encoding: str = "") -> Iterator[Table]:
    """Open a CSV or XLSX file as a Table; close it when done."""
    if fmt == "xlsx":
        yield _xlsx_table(path)
        return
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    encoding = encoding or detect_encoding(sample)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise FileProblem(_("%(encoding)s is not an encoding kehu knows") % {"encoding": encoding}) from None
    with path.open(encoding=encoding, newline="", errors="strict") as text:
        try:
            yield _csv_table(text, sample, encoding)
        except UnicodeDecodeError as error:
            raise _undecodable(encoding, error) from None


def _undecodable(encoding: str, error: UnicodeDecodeError) -> FileProblem:
    return FileProblem(
        _(
            "the file is not valid %(encoding)s (byte %(position)s); "
            "choose its encoding (UTF-8, GB18030/GBK) and try again"
        )
        % {"encoding": encoding, "position": error.start}
    )


def _csv_table(text: IO[str], sample: bytes, encoding: str) -> Table:
    head = sample.decode(encoding, errors="ignore")
    try:
        dialect: Any = csv.Sniffer().sniff(head[: 64 * 1024], delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text, dialect)
    headers: list[str] = []
    number = 0
    for record in reader:
        number += 1
        if any(cell.strip() for cell in record):
            headers = [cell.strip() for cell in record]
            break
    if not headers:
        raise FileProblem(_("the file has no header row"))
    if headers and headers[0].startswith("\ufeff"):
        headers[0] = headers[0].lstrip("\ufeff")
    start = number

    def rows() -> Iterator[tuple[int, list[Any]]]:
        row_number = start
        try:
            for record in reader:
                row_number += 1
                if any(cell.strip() for cell in record):
                    yield row_number, record
        except UnicodeDecodeError as error:
            raise _undecodable(encoding, error) from None
        except csv.Error as error:
            raise FileProblem(
                _("row %(row)s cannot be read: %(reason)s") % {"row": row_number + 1, "reason": error}
            ) from None

    return Table(headers=headers, rows=rows(), encoding=encoding)


def _xlsx_table(path: Path) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError, XmlError, ZipError

    try:
        book = CalamineWorkbook.from_path(str(path))
        sheet = book.get_sheet_by_index(0)
    except (CalamineError, PasswordError, XmlError, ZipError, OSError, ValueError) as error:
        raise FileProblem(_("the workbook cannot be opened: %(reason)s") % {"reason": error}) from None
    first_row = sheet.start[0] if sheet.start else 0
    first_col = sheet.start[1] if sheet.start else 0
    merges = [
        ((top - first_row, left - first_col), (bottom - first_row, right - first_col))
        for (top, left), (bottom, right) in (sheet.merged_cell_ranges or [])
    ]
    iterator = iter(sheet.iter_rows())
    leading = 0
    top: list[Any] = []
    for record in iterator:
        if any(_cell_text(cell) for cell in record):
            top = list(record)
            break
        leading += 1
    if not top:
        raise FileProblem(_("the first sheet is empty"))
    header_index = leading
    spans = [m for m in merges if m[0][0] == header_index and m[1][1] > m[0][1]]
    headers = [_cell_text(cell) for cell in top]
    header_rows = 1
    if spans:
        # The top row groups columns ("联系方式" merged over two): the names are in the row below it.
        second = next(iterator, None)
        if second is not None:
            below = [_cell_text(cell) for cell in second]
            filled = list(headers)
            for (_r0, left), (_r1, right) in spans:
                for column in range(left, min(right, len(filled) - 1) + 1):
                    filled[column] = headers[left]
            names = [below[i] if i < len(below) and below[i] else filled[i] for i in range(len(filled))]
            repeated = {name for name in names if names.count(name) > 1}
            headers = [
                f"{filled[i]} / {below[i]}"
                if names[i] in repeated and filled[i] and i < len(below) and below[i]
                else names[i]
                for i in range(len(names))
            ]
            header_rows = 2
    offset = first_row + header_index + header_rows

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for index, record in enumerate(iterator):
            if any(_cell_text(cell) for cell in record):
                yield offset + index + 1, list(record)

    return Table(headers=headers, rows=rows(), header_rows=header_rows)


def _cell_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.datetime | dt.date):
        return cell.isoformat()
    return str(cell).strip()


def preview(path: Path, fmt: str, *, encoding: str = "", rows: int = 10) -> tuple[Table, list[tuple[int, list[str]]]]:
    """The header and the first rows as text, for the upload page."""
    with table_open(path, fmt, encoding=encoding) as table:
        shown: list[tuple[int, list[str]]] = []
        for number, record in table.rows:
            if len(shown) >= rows:
                break
            shown.append((number, [_cell_text(cell) for cell in record]))
        return table, shown


def text_of(cell: Any) -> str:
    """A cell as the text a user typed (numbers without a trailing .0)."""
    return _cell_text(cell)
