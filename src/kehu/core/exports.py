"""Helpers for files users open in spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TextIO

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """A cell value Excel and WPS will not run as a formula (OWASP CSV injection): prefix a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}


def attachment(body: bytes, *, file_format: str, name: str) -> HttpResponse:
    """A download of personal data: saved as a file, never kept by a browser or proxy cache."""
    response = HttpResponse(body, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{name}.{file_format}"'
    response["Cache-Control"] = "no-store"
    return response


def csv_write(handle: TextIO, rows: Iterable[Sequence[object]]) -> int:
    """Rows written as CSV for Excel, every cell through `spreadsheet_safe`; returns how many."""
    writer = csv.writer(handle)
    count = 0
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
        count += 1
    return count


def csv_bytes(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows as CSV for Excel: UTF-8 with a BOM (so Chinese shows), every cell through `spreadsheet_safe`."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv_write(buffer, rows)
    return buffer.getvalue().encode("utf-8")
