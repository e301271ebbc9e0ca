"""How well the purchase models predict: fit on a calibration period, predict the holdout that follows, compare.

`read_purchases` takes any purchase log (customer id, date, amount; CSV with or without a header, comma, tab or
whitespace separated) and says which row and column is wrong when one is; `holdout_report` fits BG/NBD, its
two-class form and Gamma-Gamma on the calibration summary, chooses between the two purchase models on that summary
alone (`clv.PurchaseModels.chosen`), and compares each customer's expected holdout purchases with what they
bought: in total, by number of repeat purchases in calibration, per customer (mean absolute error), and as a
ranking of who buys again (AUC).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.utils.translation import gettext_lazy as _
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped,unused-ignore]

from kehu.analytics.clv import (
    Array,
    BgNbd,
    FitError,
    GammaGamma,
    PurchaseModel,
    PurchaseModels,
    Summary,
    fit_purchase_models,
    summarise,
)
from kehu.analytics.propensity import Comparison, Log, Snapshots, compare
from kehu.core.errors import FieldError, ServiceValidationError
from kehu.core.normalize import NormalisationError, normalize_amount, normalize_date

_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_HEADER_WORDS = {"customer", "customer_id", "id", "date", "amount", "value", "客户", "日期", "金额"}
MAX_ERRORS = 20


@dataclass(frozen=True)
class Purchases:
    customers: np.ndarray  # int64 codes, one per distinct customer id
    dates: np.ndarray  # datetime64[D]
    amounts: Array
    names: list[str]  # the customer id as written, by code


def _date(text: str) -> dt.date:
    if match := _COMPACT_DATE.match(text):  # 19970101, as CDNOW and many exports write it
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    parsed = normalize_date(text)
    if parsed is None:
        raise NormalisationError("is empty")
    return parsed


def read_purchases(path: Path) -> Purchases:
    """One purchase per row: customer id, date, amount (further columns are ignored)."""
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    head = lines[0] if lines else ""
    delimiter = next((mark for mark in ("\t", ",", ";") if mark in head), None)
    rows = list(csv.reader(lines, delimiter=delimiter)) if delimiter else [line.split() for line in lines]
    first = [cell.strip().lower() for cell in rows[0]] if rows else []
    start = 1 if first and any(cell in _HEADER_WORDS for cell in first) else 0
    codes: dict[str, int] = {}
    customers, dates, amounts = [], [], []
    errors: list[FieldError] = []
    for number, row in enumerate(rows[start:], start=start + 1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) < 3:
            errors.append(FieldError(f"row {number}", "has fewer than 3 columns (customer id, date, amount)"))
            continue
        customer, date_text, amount_text = cells[:3]
        problem = None
        try:
            date = _date(date_text)
        except (NormalisationError, ValueError) as error:
            problem = ("date", str(error) if date_text else "is empty")
        try:
            amount = normalize_amount(amount_text)
        except NormalisationError as error:
            problem = problem or ("amount", str(error))
        if not customer:
            problem = problem or ("customer id", "is empty")
        if problem:
            errors.append(FieldError(f"row {number}, column {problem[0]}", problem[1]))
            if len(errors) >= MAX_ERRORS:
                break
            continue
        customers.append(codes.setdefault(customer, len(codes)))
        dates.append(date)
        amounts.append(float(amount or 0))
    if errors:
        raise ServiceValidationError(errors)
    if not customers:
        raise ServiceValidationError([FieldError("file", "holds no purchases")])
    return Purchases(
        customers=np.asarray(customers, dtype=np.int64),
        dates=np.asarray(dates, dtype="datetime64[D]"),
        amounts=np.asarray(amounts, dtype=np.float64),
        names=list(codes),
    )


@dataclass(frozen=True)
class Bucket:
    repeat_purchases: str  # "0", "1", … "7+"
    customers: int
    predicted: float  # mean holdout purchases per customer
    actual: float


@dataclass(frozen=True)
class ModelFigures:
    """One purchase model's predictions set against the holdout."""

    model: str  # MODEL_NAMES key
    predicted: float
    mae: float
    auc: float | None  # of the expected purchases as a ranking of who buys again in the holdout
    chosen: bool


ONE_CLASS, TWO_CLASSES = "bgnbd", "bgnbd_two_classes"
MODEL_NAMES = {ONE_CLASS: _("BG/NBD"), TWO_CLASSES: _("two-class BG/NBD")}


def model_key(model: PurchaseModel) -> str:
    return ONE_CLASS if isinstance(model, BgNbd) else TWO_CLASSES


@dataclass(frozen=True)
class HoldoutReport:
    customers: int
    calibration_end: dt.date
    holdout_end: dt.date
    holdout_length: float  # in units of `unit_days`
    unit_days: float
    period_days: int  # purchases within one period count as one
    purchases: PurchaseModel  # the model kehu chooses (`clv.PurchaseModels.chosen`); the figures below are its
    models: PurchaseModels
    spend: GammaGamma | None
    predicted: float
    actual: float
    mae: float
    auc: float | None  # of the expected purchases as a ranking of who buys again in the holdout
    compared: list[ModelFigures] = field(default_factory=list)  # every model fitted, the chosen one among them
    buckets: list[Bucket] = field(default_factory=list)
    buy_again: Comparison | None = None  # BG/NBD against gradient boosting in the holdout's first weeks


def holdout_report(
    purchases: Purchases,
    *,
    calibration_end: dt.date,
    holdout_end: dt.date,
    unit_days: float = 7.0,
    period_days: int = 1,
    horizon_days: int = 91,
    buy_again: bool = True,
) -> HoldoutReport:
    """BG/NBD (and Gamma-Gamma) fitted on the purchases up to `calibration_end`, their predictions set against
    the holdout; with `buy_again`, the buy-again models compared on the holdout's first `horizon_days`."""
    if holdout_end <= calibration_end:
        raise ServiceValidationError([FieldError("holdout_end", "must come after the calibration's end")])
    summary = summarise(
        purchases.customers,
        purchases.dates,
        purchases.amounts,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        unit_days=unit_days,
        period_days=period_days,
    )
    if len(summary.customers) < 2:
        raise ServiceValidationError([FieldError("calibration_end", "leaves fewer than 2 customers to fit on")])
    try:
        models = fit_purchase_models(summary.frequency, summary.recency, summary.T)
    except FitError as error:
        raise ServiceValidationError([FieldError("transactions", str(error))]) from error
    try:
        spend: GammaGamma | None = GammaGamma.fit(summary.frequency, summary.monetary)
    except FitError:
        spend = None  # the purchase counts are still validated
    bought = summary.holdout > 0
    compared, chosen_prediction = [], np.zeros(0)
    for model in (models.one, models.two):
        if model is None:
            continue
        predicted = model.expected_purchases(summary.holdout_length, summary.frequency, summary.recency, summary.T)
        chosen = model is models.chosen
        compared.append(
            ModelFigures(
                model=model_key(model),
                predicted=float(predicted.sum()),
                mae=float(np.abs(predicted - summary.holdout).mean()),
                auc=float(roc_auc_score(bought, predicted)) if 0 < bought.sum() < len(bought) else None,
                chosen=chosen,
            )
        )
        if chosen:
            chosen_prediction = predicted
    figures = next(figure for figure in compared if figure.chosen)
    # who buys again within `horizon_days` after the calibration: both models know only the calibration
    log = Log(purchases.customers, purchases.dates, purchases.amounts)
    horizon = min(horizon_days, (holdout_end - calibration_end).days)
    return HoldoutReport(
        customers=len(summary.customers),
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        holdout_length=summary.holdout_length,
        unit_days=unit_days,
        period_days=period_days,
        purchases=models.chosen,
        models=models,
        spend=spend,
        predicted=figures.predicted,
        actual=float(summary.holdout.sum()),
        mae=figures.mae,
        auc=figures.auc,
        compared=compared,
        buckets=buckets(summary, chosen_prediction),
        buy_again=compare(Snapshots(log, horizon), calibration_end) if buy_again else None,
    )


def buckets(summary: Summary, predicted: Array, *, top: int = 7) -> list[Bucket]:
    """Mean predicted and actual holdout purchases by repeat purchases in calibration (0, 1, …, `top`+)."""
    capped = np.minimum(summary.frequency, top).astype(int)
    out = []
    for count in range(top + 1):
        chosen = capped == count
        if chosen.any():
            out.append(
                Bucket(
                    repeat_purchases=f"{count}+" if count == top else str(count),
                    customers=int(chosen.sum()),
                    predicted=float(predicted[chosen].mean()),
                    actual=float(summary.holdout[chosen].mean()),
                )
            )
    return out
