"""Who buys again: a supervised model (gradient boosting) set against BG/NBD on the same later window.

The question is the one a rep asks: will this customer buy again within the next `horizon` days? A supervised
model learns it from the past: at a few cut-off days in the history (the latest `horizon` days before the day
being predicted from, then every `step` days further back), each customer's features as they stood that day,
labelled with whether they bought in the `horizon` days after it. It is gradient boosting (scikit-learn's
histogram trees, shallow, monotone where the direction is known: more recent and more frequent buyers are not
less likely to buy), calibrated by isotonic regression so that "0.7" means seven in ten.

Which model kehu uses is measured, not assumed: both are trained on what was known `horizon` days ago and rank
who bought since; the one with the higher AUC scores the customers (`compare`). On short histories and small
bases BG/NBD usually wins (it needs no labels); with many customers and more than purchases to go on the trees
can do better. The comparison also gives a calibration table (predicted against observed rate, in tenths) and
which features move the supervised model (permutation importance: how much the AUC drops when a feature is
shuffled).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from django.utils.translation import gettext_noop
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped,unused-ignore]
from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped,unused-ignore]
from sklearn.inspection import permutation_importance  # type: ignore[import-untyped,unused-ignore]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped,unused-ignore]

from kehu.analytics.clv import Array, BgNbd, FitError, summarise

SUPERVISED = "gradient boosting"
BGNBD = "BG/NBD"
WINDOWS = 4
STEP_DAYS = 30
MAX_TRAINING_ROWS = 200_000
IMPORTANCE_ROWS = 20_000
MIN_CLASS = 20  # buyers and non-buyers each, in training and in the evaluation window

# name, and the direction the probability may move as the feature grows (1 up, -1 down, 0 either)
PURCHASE_FEATURES: tuple[tuple[str, int], ...] = (
    (gettext_noop("repeat purchases"), 1),
    (gettext_noop("days since the last purchase"), -1),
    (gettext_noop("days since the first purchase"), 0),
    (gettext_noop("mean repeat purchase value"), 0),
    (gettext_noop("total spent"), 0),
    (gettext_noop("purchases in the last 30 days"), 1),
    (gettext_noop("purchases in the last 90 days"), 1),
    (gettext_noop("BG/NBD probability alive"), 1),
    (gettext_noop("BG/NBD probability of buying"), 1),
)

# extra features as they stood on a day: (customer ids, columns, names); customers missing get NaN
Extra = Callable[[dt.date, NDArray[np.int64]], tuple[Array, tuple[str, ...]]]


@dataclass(frozen=True)
class Log:
    """A purchase log: one row per purchase."""

    customers: NDArray[np.int64]
    days: NDArray[np.datetime64]  # datetime64[D]
    amounts: Array


@dataclass(frozen=True)
class Snapshot:
    """Every customer who had bought by `cutoff`, as they stood that day, and what they did in the horizon."""

    cutoff: dt.date
    customers: NDArray[np.int64]
    X: Array
    names: tuple[str, ...]
    bought: NDArray[np.bool_]  # bought within the horizon after the cutoff (all False when not yet known)
    bgnbd: Array  # BG/NBD's probability of buying within the horizon, fitted on the purchases up to the cutoff


def snapshot(log: Log, cutoff: dt.date, horizon_days: int, extra: Extra | None = None) -> Snapshot:
    summary = summarise(
        log.customers,
        log.days,
        log.amounts,
        calibration_end=cutoff,
        holdout_end=cutoff + dt.timedelta(days=horizon_days),
    )  # in weeks
    customers = summary.customers
    day = np.datetime64(cutoff, "D")
    index = np.searchsorted(customers, log.customers)
    known = (index < len(customers)) & (log.days <= day)
    known[known] = customers[index[known]] == log.customers[known]
    rows = len(customers)
    spent = np.bincount(index[known], weights=log.amounts[known], minlength=rows)
    recent = [
        np.bincount(index[known & (log.days > day - np.timedelta64(days, "D"))], minlength=rows).astype(float)
        for days in (30, 90)
    ]
    try:
        model = BgNbd.fit(summary.frequency, summary.recency, summary.T)
        alive = model.probability_alive(summary.frequency, summary.recency, summary.T)
        buying = model.probability_buying(horizon_days / 7, summary.frequency, summary.recency, summary.T)
    except FitError:
        alive = buying = np.full(rows, np.nan)
    columns = [
        summary.frequency,
        (summary.T - summary.recency) * 7,
        summary.T * 7,
        summary.monetary,
        spent,
        *recent,
        alive,
        buying,
    ]
    names = tuple(name for name, _ in PURCHASE_FEATURES)
    if extra is not None:
        more, more_names = extra(cutoff, customers)
        columns.extend(more.T)
        names += more_names
    return Snapshot(
        cutoff=cutoff,
        customers=customers,
        X=np.column_stack(columns).astype(np.float64),
        names=names,
        bought=summary.holdout > 0,
        bgnbd=buying,
    )


class Snapshots:
    """The snapshots of one purchase log for one horizon, each cut-off day built once (a run evaluates on the
    day its latest training window starts from)."""

    def __init__(self, log: Log, horizon_days: int, extra: Extra | None = None) -> None:
        self.log = log
        self.horizon_days = horizon_days
        self.extra = extra
        self._built: dict[dt.date, Snapshot] = {}

    def __call__(self, cutoff: dt.date) -> Snapshot:
        if cutoff not in self._built:
            self._built[cutoff] = snapshot(self.log, cutoff, self.horizon_days, self.extra)
        return self._built[cutoff]


def _directions(names: tuple[str, ...]) -> list[int]:
    known = dict(PURCHASE_FEATURES)
    return [known.get(name, 0) for name in names]


def train(
    shots: Snapshots,
    last_cutoff: dt.date,
    *,
    windows: int = WINDOWS,
    step_days: int = STEP_DAYS,
    seed: int = 0,
) -> tuple[CalibratedClassifierCV, int]:
    """The supervised model trained on `windows` cut-offs, the latest `last_cutoff` (its labels end by
    `last_cutoff` + horizon). Returns the model and how many rows it learnt from."""
    taken = [shots(last_cutoff - dt.timedelta(days=k * step_days)) for k in range(windows)]
    X = np.vstack([shot.X for shot in taken])
    y = np.concatenate([shot.bought for shot in taken])
    if len(y) > MAX_TRAINING_ROWS:
        chosen = np.random.default_rng(seed).choice(len(y), MAX_TRAINING_ROWS, replace=False)
        X, y = X[chosen], y[chosen]
    if y.sum() < MIN_CLASS or (~y).sum() < MIN_CLASS:
        raise FitError(f"too few buyers or non-buyers to learn from ({int(y.sum())} of {len(y)} bought)")
    trees = HistGradientBoostingClassifier(
        learning_rate=0.03,
        max_iter=200,
        max_depth=3,
        min_samples_leaf=100,
        monotonic_cst=_directions(taken[0].names),
        random_state=seed,
    )
    model = CalibratedClassifierCV(trees, method="isotonic", cv=3).fit(X, y)
    return model, len(y)


@dataclass(frozen=True)
class CalibrationBin:
    low: float  # predicted probability from `low` to `low` + 0.1
    customers: int
    predicted: float  # mean predicted probability
    observed: float  # share who bought


@dataclass(frozen=True)
class Comparison:
    horizon_days: int
    evaluated_from: dt.date  # both models knew the purchases up to this day and ranked who bought after it
    customers: int
    buyers: int
    training_rows: int
    auc: dict[str, float]  # model → AUC on the evaluation window
    chosen: str
    reason: str = ""  # why the supervised model was not trained, when it was not
    calibration: dict[str, list[CalibrationBin]] = field(default_factory=dict)
    importance: list[tuple[str, float]] = field(default_factory=list)  # feature, AUC lost when shuffled


def calibration_bins(predicted: Array, bought: NDArray[np.bool_]) -> list[CalibrationBin]:
    which = np.minimum((predicted * 10).astype(int), 9)
    return [
        CalibrationBin(
            low=tenth / 10,
            customers=int((which == tenth).sum()),
            predicted=float(predicted[which == tenth].mean()),
            observed=float(bought[which == tenth].mean()),
        )
        for tenth in range(10)
        if (which == tenth).any()
    ]


def compare(
    shots: Snapshots,
    evaluated_from: dt.date,
    *,
    windows: int = WINDOWS,
    step_days: int = STEP_DAYS,
    seed: int = 0,
) -> Comparison:
    """Both models as they would have been on `evaluated_from`, ranking who bought in the horizon after it."""
    horizon_days = shots.horizon_days
    later = shots(evaluated_from)
    buyers = int(later.bought.sum())
    result = Comparison(
        horizon_days=horizon_days,
        evaluated_from=evaluated_from,
        customers=len(later.customers),
        buyers=buyers,
        training_rows=0,
        auc={},
        chosen=BGNBD,
    )
    if buyers < MIN_CLASS or len(later.customers) - buyers < MIN_CLASS:
        reason = f"{buyers} of {len(later.customers)} customers bought in the evaluation window: too few to compare"
        return replace(result, reason=reason)
    auc = {BGNBD: float(roc_auc_score(later.bought, np.nan_to_num(later.bgnbd)))}
    calibration = {BGNBD: calibration_bins(np.nan_to_num(later.bgnbd), later.bought)}
    try:
        model, rows = train(
            shots, evaluated_from - dt.timedelta(days=horizon_days), windows=windows, step_days=step_days, seed=seed
        )
    except FitError as error:
        return replace(result, auc=auc, reason=str(error), calibration=calibration)
    predicted = model.predict_proba(later.X)[:, 1]
    auc[SUPERVISED] = float(roc_auc_score(later.bought, predicted))
    calibration[SUPERVISED] = calibration_bins(predicted, later.bought)
    sample = np.arange(len(later.customers))
    if len(sample) > IMPORTANCE_ROWS:
        sample = np.random.default_rng(seed).choice(sample, IMPORTANCE_ROWS, replace=False)
    shuffled = permutation_importance(
        model, later.X[sample], later.bought[sample], scoring="roc_auc", n_repeats=3, random_state=seed
    )
    importance = sorted(
        zip(later.names, (float(v) for v in shuffled.importances_mean), strict=True), key=lambda kv: -kv[1]
    )
    return replace(
        result,
        training_rows=rows,
        auc=auc,
        chosen=SUPERVISED if auc[SUPERVISED] > auc[BGNBD] else BGNBD,
        calibration=calibration,
        importance=importance,
    )


def buy_probability(shots: Snapshots, as_of: dt.date, chosen: str, *, seed: int = 0) -> tuple[NDArray[np.int64], Array]:
    """Each customer's probability of buying within the horizon after `as_of`, by the chosen model (the
    supervised one retrained on the latest labels)."""
    now = shots(as_of)
    if chosen == SUPERVISED:
        model, _rows = train(shots, as_of - dt.timedelta(days=shots.horizon_days), seed=seed)
        return now.customers, np.asarray(model.predict_proba(now.X)[:, 1], dtype=np.float64)
    return now.customers, np.nan_to_num(now.bgnbd)
